import Foundation
import RelaySockets

/// Exim 4.96 (from the .debs Tests/run-all-tests extracts) as the relay under test, relaying
/// everything to one next hop. Exim re-executes itself at its built path, `/usr/sbin/exim4`
/// (setuid), and reads its configuration from `/etc/exim4/exim4.conf`: both are put there in a
/// private mount namespace, on overlays of /usr/sbin and /etc, so the host is left as it was.
/// Needs root.
public final class EximRelay: @unchecked Sendable {
    public let dir: String
    public let port: Int
    public let daemon: Daemon
    public var mainlog: String { dir + "/log/mainlog" }

    /// `retry`: the retry rule for every address (`F,10m,2s`: again within seconds; `F,10m,1h` and
    /// `queueRuns` of an hour: only `exim -M` sends it again).
    public init(in scratch: TempDir, nextHop: Int, retry: String = "F,10m,2s", queueRuns: String = "2s") throws {
        guard getuid() == 0 else { throw DaemonError("Exim as the relay needs root (a mount namespace, a setuid binary)") }
        let exim = EximPeer.root + "/usr/sbin/exim4"
        guard FileManager.default.isExecutableFile(atPath: exim) else {
            throw DaemonError("\(exim) is missing: run Tests/run-all-tests, which fetches Exim for these tests")
        }
        dir = scratch.path + "/exim-relay"
        port = LoopbackPort.unused()
        let fm = FileManager.default
        for sub in ["spool", "log", "sbin-up", "sbin-work", "etc-up", "etc-work"] {
            try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        // Exim's deliveries run as Debian-exim: they write the spool and the log.
        for path in [scratch.path, dir, dir + "/spool", dir + "/log"] { chmod(path, 0o777) }
        let config = """
            spool_directory = \(dir)/spool
            log_file_path = \(dir)/log/%slog
            pid_file_path = \(dir)/exim.pid
            daemon_smtp_ports = \(port)
            local_interfaces = 127.0.0.1
            tls_advertise_hosts =
            exim_user = Debian-exim
            exim_group = Debian-exim
            never_users =
            primary_hostname = relay.test
            host_lookup =
            rfc1413_hosts =
            keep_environment =
            acl_smtp_rcpt = acl_rcpt
            log_selector = +received_recipients
            recipients_max = 1000

            begin acl
            acl_rcpt:
              accept hosts = 127.0.0.1

            begin routers
            smarthost:
              driver = manualroute
              route_list = * 127.0.0.1::\(nextHop)
              transport = remote_smtp
              self = send

            begin transports
            remote_smtp:
              driver = smtp
              allow_localhost
              hosts_avoid_tls = *

            begin retry
            * * \(retry)
            """
        try config.write(toFile: dir + "/exim4.conf", atomically: true, encoding: .utf8)
        let script = """
            set -e
            mount -t overlay overlay -o lowerdir=/usr/sbin,upperdir=\(dir)/sbin-up,workdir=\(dir)/sbin-work /usr/sbin
            cp \(exim) /usr/sbin/exim4 && chmod 4755 /usr/sbin/exim4
            mount -t overlay overlay -o lowerdir=/etc,upperdir=\(dir)/etc-up,workdir=\(dir)/etc-work /etc
            mkdir -p /etc/exim4 && cp \(dir)/exim4.conf /etc/exim4/exim4.conf
            exec /usr/sbin/exim4 -bdf -q\(queueRuns)
            """
        try script.write(toFile: dir + "/ns.sh", atomically: true, encoding: .utf8)
        daemon = try Daemon(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", dir + "/ns.sh"], directory: dir, name: "exim-relay")
        let end = Date().addingTimeInterval(15)
        guard waitUntil(timeout: 15, { log.contains("daemon started") }) else { throw DaemonError("exim (relay) did not start: \(daemon.stderr)\(log)") }
        waitUntil(timeout: end.timeIntervalSinceNow) { (try? SMTPClient(port: port)) != nil }
    }

    deinit { daemon.kill9() }

    public var log: String { (try? String(contentsOfFile: mainlog, encoding: .utf8)) ?? "" }

    /// `exim -bp` inside the relay's namespace, as its admin would run it.
    public func listQueue() throws -> String {
        let out = dir + "/bp.out"
        let pid = try spawnWithCleanSignals(["/usr/bin/nsenter", "-t", String(daemon.pid), "-m", "/usr/sbin/exim4", "-bp"]) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    public func waitFor(timeout: Double = 30, _ condition: (String) -> Bool) -> Bool {
        waitUntil(timeout: timeout, every: 0.1) { condition(log) }
    }
}
