import Foundation
import RelaySockets

/// Exim 4.96 (Debian's packages, extracted by Tests/run-all-tests into .build/peers/exim) as the
/// next hop, with `recipients_max = N`: it answers the 21st RCPT on with a bare
/// `452 too many recipients`, as deployed Exims do.
public final class EximPeer: @unchecked Sendable {
    public let daemon: Daemon
    public let port: Int
    public let dir: String

    public static var root: String { Built.root + "/.build/peers/exim" }

    /// `rejectExcess`: `recipients_max_reject = true`, so the excess RCPTs get a bare
    /// `552 too many recipients` (and the end of data a 554) instead of `452`.
    public init(in scratch: TempDir, recipientsMax: Int, rejectExcess: Bool = false) throws {
        dir = scratch.path + "/exim"
        port = LoopbackPort.unused()
        for sub in ["spool", "log"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        let config = """
            keep_environment = LD_LIBRARY_PATH
            spool_directory = \(dir)/spool
            log_file_path = \(dir)/log/%slog
            pid_file_path = \(dir)/exim.pid
            daemon_smtp_ports = \(port)
            local_interfaces = 127.0.0.1
            tls_advertise_hosts =
            exim_user = nobody
            exim_group = nogroup
            never_users =
            primary_hostname = exim.test
            recipients_max = \(recipientsMax)
            recipients_max_reject = \(rejectExcess ? "true" : "false")
            log_selector = +received_recipients +incoming_port
            acl_smtp_rcpt = acl_rcpt
            host_lookup =
            rfc1413_hosts =

            begin acl
            acl_rcpt:
              accept

            begin routers
            begin transports
            """
        try config.write(toFile: dir + "/exim.conf", atomically: true, encoding: .utf8)
        // Exim drops to nobody: it must be able to write its spool and logs.
        for path in [scratch.path, dir, dir + "/spool", dir + "/log"] { chmod(path, 0o777) }
        let exim = EximPeer.root + "/usr/sbin/exim4"
        guard FileManager.default.isExecutableFile(atPath: exim) else {
            throw DaemonError("\(exim) is missing: run Tests/run-all-tests, which fetches Exim for these tests")
        }
        // -odq: queue only. The test reads what Exim accepted from its main log.
        daemon = try Daemon([exim, "-C", dir + "/exim.conf", "-bdf", "-odq"], directory: dir, name: "exim",
                            environment: ["LD_LIBRARY_PATH": EximPeer.root + "/usr/lib/x86_64-linux-gnu"])
        guard waitUntil(timeout: 10, { mainlog.contains("daemon started") }) else { throw DaemonError("exim did not start: \(daemon.stderr)\(mainlog)") }
    }

    deinit { daemon.kill9() }

    public var mainlog: String { (try? String(contentsOfFile: dir + "/log/mainlog", encoding: .utf8)) ?? "" }

    /// Each accepted message: the client's port (one per connection) and its recipients.
    public var received: [(clientPort: String, rcpts: [String])] {
        mainlog.split(separator: "\n").filter { $0.contains(" <= ") }.map { line in
            let port = line.split(separator: " ").first { $0.hasPrefix("[127.0.0.1]:") }.map { String($0.dropFirst(12)) } ?? ""
            let rcpts = line.components(separatedBy: " for ").last.map { $0.split(separator: " ").map(String.init) } ?? []
            return (port, rcpts)
        }
    }

    public func waitForRecipients(_ n: Int, timeout: Double = 30) -> [(clientPort: String, rcpts: [String])] {
        waitUntil(timeout: timeout) { received.reduce(0, { $0 + $1.rcpts.count }) >= n }
        return received
    }
}

