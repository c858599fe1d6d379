import Foundation
import RelaySockets

/// A real Postfix (Debian's 3.7, installed by Tests/run-all-tests) of a test's own: its own
/// configuration directory, queue and data directory, listening on a free loopback port and
/// relaying everything to `relayhost`. It logs to `maillog` through Postfix's own postlogd
/// (`maillog_file`), so no syslog daemon is needed. Starting it needs root, as Postfix does.
public final class PostfixHost: @unchecked Sendable {
    public let dir: String
    public let port: Int
    public var config: String { dir + "/conf" }
    public var maillog: String { dir + "/maillog" }

    /// `backoff`: seconds before Postfix tries a deferred message again by itself (long, so that
    /// only `postqueue -i` makes it go; short, so a test sees deferred mail delivered).
    public init(in scratch: TempDir, relayhost: Int, backoff: Int, settings: String = "") throws {
        guard getuid() == 0 else { throw DaemonError("these tests start a real Postfix, which needs root (run them as root, as CI does)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix") else {
            throw DaemonError("Postfix is not installed: run Tests/run-all-tests, which installs Debian's postfix")
        }
        dir = scratch.path + "/postfix"
        port = LoopbackPort.unused()
        let fm = FileManager.default
        for sub in ["conf", "queue", "data"] { try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        // Postfix's daemons run as the postfix user: they must reach the queue and data directories.
        for path in [scratch.path, dir, dir + "/conf", dir + "/queue"] { chmod(path, 0o755) }
        chown(dir + "/data", Self.uid("postfix"), 0)
        let main = """
            compatibility_level = 3.6
            queue_directory = \(dir)/queue
            data_directory = \(dir)/data
            mail_owner = postfix
            myhostname = pftest.localdomain
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            mydestination =
            relayhost = [127.0.0.1]:\(relayhost)
            maillog_file = \(dir)/maillog
            maillog_file_prefixes = \(dir)
            smtp_tls_security_level = none
            smtputf8_enable = no
            alias_maps =
            alias_database =
            minimal_backoff_time = \(backoff)s
            maximal_backoff_time = \(max(backoff, 1) * 2)s
            queue_run_delay = \(backoff)s
            \(settings)
            """
        try main.write(toFile: config + "/main.cf", atomically: true, encoding: .utf8)
        // Debian's master.cf, with smtpd on our port and no chroot (the queue is not where a
        // chroot would expect it).
        let master = try String(contentsOfFile: "/etc/postfix/master.cf", encoding: .utf8)
        var lines: [String] = []
        for line in master.split(separator: "\n", omittingEmptySubsequences: false) {
            var fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if line.hasPrefix("smtp ") || line.hasPrefix("smtp\t"), fields.count >= 8, fields[1] == "inet" {
                lines.append("127.0.0.1:\(port) inet n - n - - smtpd")
                continue
            }
            if fields.count >= 8, !line.hasPrefix("#"), !line.hasPrefix(" "), ["inet", "unix", "unix-dgram", "fifo", "pass"].contains(fields[1]) {
                fields[4] = "n"
                lines.append(fields.joined(separator: " "))
                continue
            }
            lines.append(String(line))
        }
        try lines.joined(separator: "\n").write(toFile: config + "/master.cf", atomically: true, encoding: .utf8)
        try run(["/usr/sbin/postfix", "-c", config, "start"])
        let end = Date().addingTimeInterval(15)
        guard waitUntil(timeout: 15, { log.contains("daemon started") }) else { throw DaemonError("postfix did not start:\n\(log)") }
        // smtpd is spawned on demand: wait until the port takes connections.
        waitUntil(timeout: end.timeIntervalSinceNow) { (try? SMTPClient(port: port)) != nil }
    }

    deinit { _ = try? run(["/usr/sbin/postfix", "-c", config, "abort"]) }

    public var log: String { (try? String(contentsOfFile: maillog, encoding: .utf8)) ?? "" }

    /// `postqueue -j`, one object per queued message.
    public func queue() throws -> [[String: Any]] {
        let out = try run(["/usr/sbin/postqueue", "-c", config, "-j"], output: true)
        return out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits until the log says `count` messages left the queue.
    public func waitForRemoved(_ count: Int, timeout: Double = 60) -> Bool {
        waitFor(timeout: timeout) { $0.components(separatedBy: ": removed\n").count - 1 >= count }
    }

    public func waitFor(timeout: Double = 30, _ condition: (String) -> Bool) -> Bool {
        waitUntil(timeout: timeout, every: 0.1) { condition(log) }
    }

    @discardableResult
    public func run(_ argv: [String], output: Bool = false) throws -> String {
        let out = dir + "/cmd.out"
        let pid = try spawnWithCleanSignals(argv) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard status == 0 else { throw DaemonError("\(argv.joined(separator: " ")) failed (\(status)): \(text)") }
        return text
    }

    static func uid(_ name: String) -> uid_t { getpwnam(name)?.pointee.pw_uid ?? 0 }
}
