import ArgumentParser
import Foundation
import MailRelay
import RelayPeers
import RelaySockets
#if canImport(Glibc)
import Glibc
#endif

/// Submitting and relaying N messages × R recipients to a peer with a recipient limit that
/// answers `552 5.5.3` past it: mailrelayd beside Postfix (Debian's 3.7) on the same machine, in
/// the same run, to the same peer. Prints recipients/s, p50/p99 queue latency (the client's 250 to
/// the message's last recipient reaching the peer) and how many recipients each bounced.
struct RelayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Time mailrelayd (and Postfix with --postfix) relaying to a peer with a 552 recipient limit.")

    @Option(help: "Messages to submit.") var messages = 1000
    @Option(help: "Recipients per message.") var recipients = 100
    @Option(help: "The peer's recipient limit per transaction.") var limit = 50
    @Option(help: "Submitting clients in parallel.") var clients = 8
    @Option(help: "Connections to the peer (mailrelayd's route; Postfix's default is 20).") var connections = 20
    @Flag(help: "Also time mailrelayd with a control-socket subscriber that reads every event, and with one that never reads.")
    var subscribers = false
    @Flag(help: "Also run the local Postfix. This REWRITES /etc/postfix/main.cf and master.cf (needs root).")
    var postfix = false

    func run() throws {
        let peer = try blocking { try await SinkPeer.start(limit: limit, tooMany: "552 5.5.3 Too many recipients") }
        print("peer: 127.0.0.1:\(peer.port), \(limit) recipients per transaction, then 552 5.5.3 Too many recipients")
        print("job: \(messages) messages x \(recipients) recipients, \(clients) submitting clients\n")
        var rows: [Row] = []
        rows.append(try runMailrelayd(peer, subscriber: .none))
        if subscribers {
            rows.append(try runMailrelayd(peer, subscriber: .reading))
            rows.append(try runMailrelayd(peer, subscriber: .stalled))
        }
        if postfix { rows.append(try runPostfix(peer)) }
        print(String(repeating: " ", count: 20) + "recipients/s   p50 latency   p99 latency   bounced   delivered")
        for r in rows {
            print(r.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + String(format: "%12.0f   %9.3f s   %9.3f s   %7d   %9d", r.rate, r.p50, r.p99, r.bounced, r.delivered))
        }
        if !postfix { print("\n(run with --postfix as root to time Debian's Postfix 3.7 on the same job)") }
        blocking { await peer.stop() }
    }

    struct Row {
        var name: String
        var rate: Double
        var p50: Double
        var p99: Double
        var bounced: Int
        var delivered: Int
    }

    // MARK: mailrelayd

    enum Subscriber { case none, reading, stalled }

    func runMailrelayd(_ peer: SinkPeer, subscriber: Subscriber) throws -> Row {
        let dir = try freshDirectory("relaybench-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = """
            listen = "127.0.0.1:0"
            spool = "\(dir)/spool"
            max_connections = 1000
            [default_route]
            next_hop = "127.0.0.1:\(peer.port)"
            connections = \(connections)
            """
        let (pid, port) = try launchMailrelayd(dir: dir, config: config)
        defer { kill(pid, SIGTERM); var s: Int32 = 0; waitpid(pid, &s, 0) }
        // A control client subscribed to every event: one that keeps up, or one that never reads
        // (the relay must not slow down for it).
        var control: Int32 = -1
        if subscriber != .none {
            control = try UnixSocket.connect(dir + "/spool/control.sock").get()
            let request = Array("{\"id\":1,\"op\":\"subscribe\"}\n".utf8)
            _ = request.withUnsafeBytes { send(control, $0.baseAddress, $0.count, 0) }
        }
        defer { if control >= 0 { close(control) } }
        let reader = subscriber == .reading ? Thread { [control] in
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = recv(control, &buffer, buffer.count, 0)
                if n <= 0 { break }
            }
        } : nil
        reader?.start()
        let before = peer.received.recipients
        let total = messages * recipients
        let (accepted, start) = submit(port: port, tag: "m")
        let end = waitUntil { peer.received.recipients - before >= total }
        let log = (try? String(contentsOfFile: dir + "/spool/delivery.log", encoding: .utf8)) ?? ""
        let bounced = log.split(separator: "\n").filter { $0.contains("\"status\":\"bounced\"") }.count
        let name = ["mailrelayd", "mailrelayd + reader", "mailrelayd + stalled"][subscriber == .none ? 0 : subscriber == .reading ? 1 : 2]
        return row(name, accepted, peer, start, end, bounced: bounced, delivered: peer.received.recipients - before)
    }

    // MARK: Postfix

    func runPostfix(_ peer: SinkPeer) throws -> Row {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix") else {
            throw ValidationError("Postfix is not installed (apt-get install postfix, choosing 'No configuration')")
        }
        let maillog = "/var/log/relaybench-postfix.log"
        let port = 2640
        let main = """
            compatibility_level = 3.6
            mail_owner = postfix
            setgid_group = postdrop
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            myhostname = postfix.bench
            mydestination =
            relayhost = [127.0.0.1]:\(peer.port)
            mynetworks = 127.0.0.0/8
            maillog_file = \(maillog)
            maillog_file_prefixes = /var
            default_destination_recipient_limit = \(recipients)
            default_destination_concurrency_limit = \(connections)
            smtpd_recipient_limit = 1000
            alias_maps =
            alias_database =
            """
        try main.write(toFile: "/etc/postfix/main.cf", atomically: true, encoding: .utf8)
        let master = try String(contentsOfFile: "/usr/share/postfix/master.cf.dist", encoding: .utf8)
            .replacingOccurrences(of: "smtp      inet  n       -       y       -       -       smtpd",
                                  with: "127.0.0.1:\(port) inet n - n - - smtpd")
        try master.write(toFile: "/etc/postfix/master.cf", atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: maillog)
        _ = try runTool(["/usr/sbin/postfix", "stop"])
        _ = try runTool(["/usr/sbin/postsuper", "-d", "ALL"])
        guard try runTool(["/usr/sbin/postfix", "start"]) == 0 else { throw ValidationError("postfix start failed") }
        defer { _ = try? runTool(["/usr/sbin/postfix", "stop"]) }
        usleep(1_000_000)
        let before = peer.received.recipients
        let total = messages * recipients
        let (accepted, start) = submit(port: port, tag: "p")
        func bounced() -> Int {
            ((try? String(contentsOfFile: maillog, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains("status=bounced") }.count
        }
        let end = waitUntil { peer.received.recipients - before + bounced() >= total }
        return row("postfix", accepted, peer, start, end, bounced: bounced(), delivered: peer.received.recipients - before)
    }

    // MARK: shared

    /// Submits the job over `clients` connections at once; returns each message's 250 time by
    /// Message-ID, and the start time.
    func submit(port: Int, tag: String) -> ([String: Double], Double) {
        submitJob(port: port, messages: messages, recipients: recipients, clients: clients, tag: tag)
    }

    func waitUntil(timeout: Double = 900, _ done: () -> Bool) -> Double {
        let end = Date().addingTimeInterval(timeout)
        while !done(), Date() < end { usleep(10_000) }
        return Date().timeIntervalSince1970
    }

    func row(_ name: String, _ accepted: [String: Double], _ peer: SinkPeer, _ start: Double, _ end: Double, bounced: Int, delivered: Int) -> Row {
        let arrivals = peer.lastArrivals
        let latencies = accepted.compactMap { id, t in arrivals[id].map { max(0, $0 - t) } }.sorted()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return Row(name: name, rate: Double(delivered + bounced) / (end - start), p50: pct(0.5), p99: pct(0.99), bounced: bounced, delivered: delivered)
    }
}

/// Submits `messages` of `recipients` each over `clients` connections at once; returns each
/// message's 250 time by Message-ID, and the start time.
func submitJob(port: Int, messages n: Int, recipients r: Int, clients: Int, tag: String) -> ([String: Double], Double) {
    let accepted = AcceptTimes()
    let start = Date().timeIntervalSince1970
    let group = DispatchGroup()
    let perClient = (n + clients - 1) / clients
    for c in 0..<clients {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            for i in stride(from: c * perClient, to: min(n, (c + 1) * perClient), by: 1) {
                let id = "<\(tag)\(i).\(start)@bench.test>"
                let rcpts = (0..<r).map { "r\($0)m\(i)@limit.test" }
                let body = "From: <bench@client.test>\r\nSubject: bench \(i)\r\nMessage-ID: \(id)\r\n\r\n" + String(repeating: "Lorem ipsum dolor sit amet.\r\n", count: 70)
                guard let client = try? SubmissionClient(port: port) else { continue }
                let (_, final) = client.submit(from: "bench@client.test", to: rcpts, body: body)
                if final?.hasPrefix("250") == true { accepted.set(id, Date().timeIntervalSince1970) }
            }
        }
    }
    group.wait()
    return (accepted.all, start)
}

/// An empty directory of that name under the temporary directory (emptied if it was there).
func freshDirectory(_ name: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Starts mailrelayd (beside this executable) on a config written to `dir`; its pid and SMTP port.
func launchMailrelayd(dir: String, config: String) throws -> (pid_t, Int) {
    try config.write(toFile: dir + "/mailrelayd.toml", atomically: true, encoding: .utf8)
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mailrelayd").path
    let pid = try spawnDaemon([binary, "--config", dir + "/mailrelayd.toml"], stderr: dir + "/stderr")
    var port = 0
    for _ in 0..<500 where port == 0 {
        usleep(20_000)
        let text = (try? String(contentsOfFile: dir + "/stderr", encoding: .utf8)) ?? ""
        if let r = text.range(of: "listening on 127.0.0.1:") {
            port = Int(text[r.upperBound...].prefix { $0.isNumber }) ?? 0
        }
    }
    guard port > 0 else {
        kill(pid, SIGTERM)
        throw ValidationError("mailrelayd did not start: \((try? String(contentsOfFile: dir + "/stderr", encoding: .utf8)) ?? "")")
    }
    return (pid, port)
}

final class AcceptTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [String: Double] = [:]
    func set(_ id: String, _ t: Double) { lock.lock(); times[id] = t; lock.unlock() }
    var all: [String: Double] { lock.lock(); defer { lock.unlock() }; return times }
}

/// Runs async work from the synchronous command.
func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

func blocking(_ work: @escaping @Sendable () async -> Void) {
    _ = try? blocking { await work(); return 0 }
}

final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// Starts a long-running child with stdout to /dev/null and stderr to a file.
func spawnDaemon(_ argv: [String], stderr: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var pid: pid_t = 0
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
    guard rc == 0 else { throw ValidationError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    return pid
}

/// Runs a command to completion, output discarded; returns its exit status.
func runTool(_ argv: [String]) throws -> Int32 {
    let pid = try spawnDaemon(argv, stderr: "/dev/null")
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return (status >> 8) & 0xFF
}
