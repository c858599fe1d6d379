import Foundation

/// A long-running child (mailrelayd, a Python SMTP peer) started with a clean signal state. Its stdout and
/// stderr go to files; its stdin is a pipe held open until ``stop()``, so a peer that reads stdin
/// to the end lives exactly as long as the test wants it.
public final class Daemon: @unchecked Sendable {
    public let pid: pid_t
    public let stdoutPath: String
    public let stderrPath: String
    private var stdinWriter: Int32
    private var reaped = false

    public init(_ argv: [String], directory: String, name: String, environment: [String: String] = [:]) throws {
        stdoutPath = directory + "/\(name).out"
        stderrPath = directory + "/\(name).err"
        var fds: [Int32] = [-1, -1]
        pipe(&fds)
        let pid: pid_t
        do {
            pid = try spawnWithCleanSignals(argv, environment: environment) { [stdoutPath, stderrPath] actions in
                posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
                posix_spawn_file_actions_addclose(&actions, fds[1])
                posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            }
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[0])
        self.pid = pid
        stdinWriter = fds[1]
    }

    deinit {
        kill9()
    }

    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until `stream` has a line matching `predicate`, or the child exits, or time runs out.
    public func waitFor(_ what: String, in stream: KeyPath<Daemon, String> = \.stdout, timeout: Double = 20,
                 _ predicate: (Substring) -> Bool) throws -> Substring {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let line = self[keyPath: stream].split(separator: "\n").first(where: predicate) { return line }
            if exited { throw DaemonError("\(stdoutPath) exited before \(what):\n\(stderr)") }
            usleep(20_000)
        }
        throw DaemonError("timed out waiting for \(what):\n\(stderr)")
    }

    public var exited: Bool {
        if reaped { return true }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { reaped = true; lastStatus = status }
        return reaped
    }

    public private(set) var lastStatus: Int32 = 0

    /// SIGTERM, then waits for exit; returns the exit status (as waitpid gives it).
    @discardableResult
    public func terminate(timeout: Double = 30) -> Int32? {
        closeStdin()
        guard !reaped else { return lastStatus }
        kill(pid, SIGTERM)
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if exited { return lastStatus }
            usleep(20_000)
        }
        kill9()
        return nil
    }

    /// Ends a peer by closing its stdin (it stops serving and exits).
    public func stop() {
        closeStdin()
        let end = Date().addingTimeInterval(10)
        while Date() < end, !exited { usleep(20_000) }
        kill9()
    }

    public func kill9() {
        closeStdin()
        guard !reaped else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        reaped = true
        lastStatus = status
    }

    private func closeStdin() {
        if stdinWriter >= 0 { close(stdinWriter); stdinWriter = -1 }
    }
}

public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
