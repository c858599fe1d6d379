import Foundation
import MailRelay
import RelayPeers
import RelaySockets
import Testing
import TestSupport

/// Exim 4.96 (Debian's packages, extracted by Tests/run-all-tests into .build/peers/exim) as the
/// next hop, with `recipients_max = 20`: it answers the 21st RCPT on with a bare
/// `452 too many recipients`, as deployed Exims do.
final class EximPeer: @unchecked Sendable {
    let daemon: Daemon
    let port: Int
    let dir: String

    static var root: String { Built.root + "/.build/peers/exim" }

    init(in scratch: TempDir, recipientsMax: Int) throws {
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
        let end = Date().addingTimeInterval(10)
        while Date() < end, !mainlog.contains("daemon started") { usleep(50_000) }
        guard mainlog.contains("daemon started") else { throw DaemonError("exim did not start: \(daemon.stderr)\(mainlog)") }
    }

    deinit { daemon.kill9() }

    var mainlog: String { (try? String(contentsOfFile: dir + "/log/mainlog", encoding: .utf8)) ?? "" }

    /// Each accepted message: the client's port (one per connection) and its recipients.
    var received: [(clientPort: String, rcpts: [String])] {
        mainlog.split(separator: "\n").filter { $0.contains(" <= ") }.map { line in
            let port = line.split(separator: " ").first { $0.hasPrefix("[127.0.0.1]:") }.map { String($0.dropFirst(12)) } ?? ""
            let rcpts = line.components(separatedBy: " for ").last.map { $0.split(separator: " ").map(String.init) } ?? []
            return (port, rcpts)
        }
    }

    func waitForRecipients(_ n: Int, timeout: Double = 30) -> [(clientPort: String, rcpts: [String])] {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end, received.reduce(0, { $0 + $1.rcpts.count }) < n { usleep(50_000) }
        return received
    }
}

@Suite(.serialized) struct EximPeerTests {
    @Test(arguments: [150, 400])
    func exim452LimitOf20(_ count: Int) throws {
        let scratch = try TempDir()
        let exim = try EximPeer(in: scratch, recipientsMax: 20)
        let relay = try RelayUnderTest(in: scratch, nextHop: exim.port)
        let rcpts = (1...count).map { "user\($0)@exim.test" }
        let (_, final) = try SMTPClient(port: relay.port).submit(from: "sender@example.org", to: rcpts)
        #expect(final?.hasPrefix("250") == true)
        let received = exim.waitForRecipients(count)
        let got = received.flatMap(\.rcpts)
        #expect(got.count == count, "Exim received \(got.count) recipients")
        #expect(Set(got) == Set(rcpts))
        #expect(received.allSatisfy { $0.rcpts.count <= 20 })
        #expect(Set(received.map(\.clientPort)).count == 1, "the excess went on another connection")
        #expect(relay.waitForDone(1))
        #expect(relay.events("ndr").isEmpty)
        #expect(try reportRules(relay.logPath) == ["peer-limit-below-100"])
    }
}
