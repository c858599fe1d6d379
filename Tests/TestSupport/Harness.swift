import Foundation
import RelayPeers

/// A real receiving SMTP server: Tests/Peers/smtp_peer.py on aiosmtpd.
public final class Peer: @unchecked Sendable {
    public let daemon: Daemon
    public let port: Int
    public let recordPath: String

    public struct Delivery: Decodable {
        public var conn: Int
        public var txn: Int
        public var sender: String
        public var rcpts: [String]
        public var size: Int
        /// Final-Recipient addresses when the message is a DSN.
        public var reported: [String]
    }

    public init(in scratch: TempDir, name: String = "peer", _ options: [String]) throws {
        recordPath = scratch.path + "/\(name).jsonl"
        FileManager.default.createFile(atPath: recordPath, contents: nil)
        daemon = try Daemon(["/usr/bin/python3", Built.root + "/Tests/Peers/smtp_peer.py", "--record", recordPath] + options,
                            directory: scratch.path, name: name)
        let ready = try daemon.waitFor("the peer to listen") { $0.hasPrefix("ready ") }
        port = Int(ready.dropFirst(6))!
    }

    deinit { daemon.stop() }

    public var deliveries: [Delivery] {
        let text = (try? String(contentsOfFile: recordPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Delivery.self, from: Data($0.utf8)) }
    }

    /// Waits until `count` recipients have arrived (or the time is up) and returns the deliveries.
    /// Counts distinct addresses: after a kill -9 a relay may rightly deliver a recipient twice
    /// (it cannot know the peer took it), and a second copy must not stand in for one not yet
    /// arrived. Callers that forbid duplicates check the deliveries they get back.
    public func waitForRecipients(_ count: Int, timeout: Double = 30) -> [Delivery] {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let d = deliveries
            if Set(d.flatMap(\.rcpts)).count >= count { return d }
            usleep(50_000)
        }
        return deliveries
    }
}

/// mailrelayd as a user runs it: the built binary, a TOML file, its own spool.
public final class RelayUnderTest: @unchecked Sendable {
    public let scratch: TempDir
    public let configPath: String
    public var daemon: Daemon!
    public var port = 0
    /// A command to run mailrelayd under (prlimit, say).
    public var wrapper: [String] = []

    public var spool: String { scratch.path + "/spool" }
    public var logPath: String { spool + "/delivery.log" }
    /// The default control socket (tests that set `control` know their own).
    public var controlPath: String { spool + "/control.sock" }

    /// `settings` is TOML added to a test configuration (short back-off, loopback only),
    /// `route` goes into its `[default_route]`, `tables` after it.
    public init(in scratch: TempDir, nextHop: Int, settings: String = "", route: String = "", tables: String = "", start: Bool = true) throws {
        self.scratch = scratch
        configPath = scratch.path + "/mailrelayd.toml"
        let text = """
            hostname = "relay.test"
            listen = "127.0.0.1:0"
            spool = "\(scratch.path)/spool"
            backoff = ["1s", "2s"]
            reply_timeout = "5s"
            idle_connection_time = "3s"
            \(settings)

            [default_route]
            next_hop = "127.0.0.1:\(nextHop)"
            \(route)

            \(tables)
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        if start { try self.start() }
    }

    public func start() throws {
        daemon = try Daemon(wrapper + [Built.binary("mailrelayd"), "--config", configPath], directory: scratch.path, name: "mailrelayd-\(UUID().uuidString.prefix(4))")
        let line = try daemon.waitFor("mailrelayd to listen", in: \.stderr) { $0.contains("listening on") }
        let address = line.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") }!
        port = Int(address.split(separator: ":")[1].trimmingCharacters(in: .punctuationCharacters))!
    }

    deinit { daemon?.kill9() }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The delivery log's events as dictionaries.
    public var events: [[String: Any]] {
        log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    public func events(_ name: String) -> [[String: Any]] { events.filter { $0["event"] as? String == name } }

    /// Waits until the log has `count` events named `name`.
    public func waitForEvents(_ name: String, _ count: Int, timeout: Double = 30) -> Bool {
        waitUntil(timeout: timeout) { events(name).count >= count }
    }

    /// Waits until the log says `done` for `count` messages.
    public func waitForDone(_ count: Int, timeout: Double = 30) -> Bool {
        waitForEvents("done", count, timeout: timeout)
    }
}

/// The tests submit with the package's own blocking client (also the benchmark's).
public typealias SMTPClient = SubmissionClient

/// Runs `relaywatch report --json` on a log and returns the anomaly rule ids it found.
public func reportRules(_ logPath: String) throws -> [String] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Built.binary("relaywatch"))
    p.arguments = ["report", "--json", logPath]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw DaemonError("relaywatch report --json printed no JSON object")
    }
    let anomalies = json["anomalies"] as? [[String: Any]] ?? []
    return anomalies.compactMap { $0["rule"] as? String }
}
