import Foundation

/// A stand-in for a relay, a few lines of Python serving a Unix socket, for tests that need the
/// relay to misbehave in one exact way (another protocol version, a line without end). The script
/// gets the socket path as its argument and prints "ready" once it listens; what else it prints
/// is ``output``.
public final class ScriptedServer: @unchecked Sendable {
    public let socket: String
    private let out: String
    private let pid: pid_t

    public init(in scratch: TempDir, name: String, python: String) throws {
        socket = scratch.path("\(name).sock")
        out = scratch.path("\(name).out")
        let script = try scratch.write("\(name).py", python)
        pid = try spawnWithCleanSignals(["/usr/bin/python3", script, socket]) { [out] actions in
            posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        let ready = Date().addingTimeInterval(10)
        while Date() < ready, !output.contains("ready") { usleep(20_000) }
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    public var output: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
}
