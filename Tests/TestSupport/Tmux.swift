import Foundation

/// A tmux server of its own for one test: the real binary in a real terminal, driven by keys and
/// read back with its colours (`capture-pane -e`).
public final class TmuxSession: @unchecked Sendable {
    public let socket = "rwtest-\(UUID().uuidString.prefix(8))"

    public init(width: Int, height: Int, command: String) throws {
        try tmux(["-f", "/dev/null", "start-server", ";", "set", "-g", "default-terminal", "xterm-256color", ";",
                  "new-session", "-d", "-s", "main", "-x", String(width), "-y", String(height),
                  "-e", "LANG=C.UTF-8", "-e", "NO_COLOR=", command])
    }

    deinit { _ = try? tmux(["kill-server"]) }

    /// Runs a tmux command with posix_spawn and waitpid (Foundation's Process waits on a run
    /// loop, and the tmux server it starts keeps inherited descriptors). Output is read only when
    /// asked for, from a pipe only the client holds.
    @discardableResult
    public func tmux(_ args: [String], output: Bool = false) throws -> String {
        let argv = ["/usr/bin/env", "tmux", "-L", socket] + args
        var fds: [Int32] = [-1, -1]
        if output { pipe(&fds) }
        let pid = try spawnWithCleanSignals(argv) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            if output {
                posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
                posix_spawn_file_actions_addclose(&actions, fds[0])
            } else {
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            }
        }
        var data = Data()
        if output {
            close(fds[1])
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fds[0], &buffer, buffer.count)
                if n <= 0 { break }
                data.append(contentsOf: buffer[0..<n])
            }
            close(fds[0])
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        guard status == 0 else { throw TmuxFailed(command: args.joined(separator: " "), status: status) }
        return String(decoding: data, as: UTF8.self)
    }

    public struct TmuxFailed: Error {
        public var command: String
        public var status: Int32
    }

    /// The process running `name` in the pane: the pane's own, or one of its children (tmux
    /// runs the command through a shell, which may or may not exec it).
    public func pid(of name: String) throws -> pid_t? {
        let pane = try tmux(["display-message", "-p", "-t", "main", "#{pane_pid}"], output: true)
        guard let root = pid_t(pane.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        var frontier = [root]
        while let p = frontier.popLast() {
            let comm = (try? String(contentsOfFile: "/proc/\(p)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if comm == String(name.prefix(15)) { return p }
            let children = (try? String(contentsOfFile: "/proc/\(p)/task/\(p)/children", encoding: .utf8)) ?? ""
            frontier += children.split(separator: " ").compactMap { pid_t($0) }
        }
        return nil
    }

    public func keys(_ keys: String...) throws { try tmux(["send-keys", "-t", "main"] + keys) }
    public func text() throws -> String { try tmux(["capture-pane", "-p", "-t", "main"], output: true) }
    public func colours() throws -> String { try tmux(["capture-pane", "-p", "-e", "-t", "main"], output: true) }

    /// Polls the screen until `condition` holds (up to `seconds`); returns the last screen.
    @discardableResult
    public func wait(_ what: String, seconds: Double = 10, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var screen = ""
        while Date() < deadline {
            screen = try text()
            if condition(screen) { return screen }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TmuxTimeout(description: "timed out waiting for \(what); the screen was:\n\(screen)")
    }
}

/// Something a test waited for did not come; the description says what, and what there was.
public struct TmuxTimeout: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
