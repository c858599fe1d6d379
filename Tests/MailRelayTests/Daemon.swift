import Foundation

/// A long-running child (mailrelayd, a Python SMTP peer) started with posix_spawn and a clean
/// signal state (the test runner blocks signals, and children would inherit that). Its stdout and
/// stderr go to files; its stdin is a pipe held open until ``stop()``, so a peer that reads stdin
/// to the end lives exactly as long as the test wants it.
final class Daemon: @unchecked Sendable {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private var stdinWriter: Int32
    private var reaped = false

    init(_ argv: [String], directory: String, name: String, environment: [String: String] = [:]) throws {
        stdoutPath = directory + "/\(name).out"
        stderrPath = directory + "/\(name).err"
        var fds: [Int32] = [-1, -1]
        pipe(&fds)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            throw DaemonError("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        stdinWriter = fds[1]
    }

    deinit {
        kill9()
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until `stream` has a line matching `predicate`, or the child exits, or time runs out.
    func waitFor(_ what: String, in stream: KeyPath<Daemon, String> = \.stdout, timeout: Double = 20,
                 _ predicate: (Substring) -> Bool) throws -> Substring {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let line = self[keyPath: stream].split(separator: "\n").first(where: predicate) { return line }
            if exited { throw DaemonError("\(stdoutPath) exited before \(what):\n\(stderr)") }
            usleep(20_000)
        }
        throw DaemonError("timed out waiting for \(what):\n\(stderr)")
    }

    var exited: Bool {
        if reaped { return true }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { reaped = true; lastStatus = status }
        return reaped
    }

    private(set) var lastStatus: Int32 = 0

    /// SIGTERM, then waits for exit; returns the exit status (as waitpid gives it).
    @discardableResult
    func terminate(timeout: Double = 30) -> Int32? {
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
    func stop() {
        closeStdin()
        let end = Date().addingTimeInterval(10)
        while Date() < end, !exited { usleep(20_000) }
        kill9()
    }

    func kill9() {
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

struct DaemonError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
