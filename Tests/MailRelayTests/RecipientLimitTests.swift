import Foundation
import Testing
import TestSupport

/// mailrelayd against real receiving servers that limit recipients per transaction: the excess
/// goes again on the same connection, nobody is bounced, nobody gets the message twice, and
/// `relaywatch report` on the relay's own log finds only what the peer did wrong.
@Suite(.serialized) struct RecipientLimitTests {
    static func recipients(_ n: Int, _ domain: String) -> [String] { (1...n).map { "u\($0)@\(domain)" } }

    /// Every recipient delivered once, no DSN, all on one connection, in transactions of at most
    /// the peer's limit after the first.
    func checkDeliveredOnce(_ peer: Peer, _ rcpts: [String], sender: String = "sender@example.org") {
        let deliveries = peer.waitForRecipients(rcpts.count)
        let got = deliveries.flatMap(\.rcpts)
        #expect(got.count == rcpts.count, "delivered \(got.count) of \(rcpts.count)")
        #expect(Set(got) == Set(rcpts))
        #expect(!deliveries.contains { $0.sender.isEmpty || $0.sender == "<>" }, "a DSN was sent")
    }

    @Test func a552LimitBelow100IsSentAgainOnTheSameConnection() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--limit", "20", "--too-many", "552 5.5.3 Too many recipients"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        let rcpts = Self.recipients(150, "d552.test")
        let (_, final) = try SMTPClient(port: relay.port).submit(from: "sender@example.org", to: rcpts)
        #expect(final?.hasPrefix("250 2.0.0 Ok: queued as ") == true, "\(final ?? "no reply")")
        checkDeliveredOnce(peer, rcpts)
        #expect(relay.waitForDone(1))
        let deliveries = peer.deliveries
        #expect(Set(deliveries.map(\.conn)).count == 1, "the excess went on another connection")
        #expect(deliveries.map(\.rcpts.count) == [20, 20, 20, 20, 20, 20, 20, 10])

        // The next message to this peer starts at the learned limit of 20.
        let second = Self.recipients(45, "d552.test").map { "b" + $0 }
        _ = try SMTPClient(port: relay.port).submit(from: "sender@example.org", to: second)
        #expect(relay.waitForDone(2))
        let txns = relay.events("txn").filter { ($0["rcpts"] as? [String])?.first?.hasPrefix("b") == true }
        #expect(txns.map { ($0["rcpts"] as! [String]).count } == [20, 20, 5])
        #expect(relay.events("ndr").isEmpty)
        #expect(try reportRules(relay.logPath) == ["peer-limit-below-100"])
    }

    /// The first transaction of each message to the peer, by the first recipient's prefix.
    static func firstBatch(_ relay: RelayUnderTest, _ prefix: String) -> Int? {
        (relay.events("txn").first { ($0["rcpts"] as? [String])?.first?.hasPrefix(prefix) == true }?["rcpts"] as? [String])?.count
    }

    /// A learned limit is in the spool with its time: a restarted relay starts at it. Once it is
    /// older than `peer_limit_lifetime` the relay sends a full batch again and learns the peer's
    /// new, higher limit.
    @Test func aLearnedLimitSurvivesARestartAndIsRelearnedWhenThePeerRaisesIt() throws {
        let scratch = try TempDir()
        var peer = try Peer(in: scratch, name: "peer20", ["--limit", "20", "--too-many", "552 5.5.3 Too many recipients"])
        let port = peer.port
        let relay = try RelayUnderTest(in: scratch, nextHop: port, settings: "peer_limit_lifetime = \"8s\"")
        let learnedAt = Date()
        _ = try SMTPClient(port: relay.port).submit(from: "s@example.org", to: Self.recipients(50, "a.test"))
        #expect(relay.waitForDone(1))
        #expect(Self.firstBatch(relay, "u") == 50)
        relay.daemon.kill9()
        try relay.start()
        _ = try SMTPClient(port: relay.port).submit(from: "s@example.org", to: Self.recipients(50, "a.test").map { "b" + $0 })
        #expect(relay.waitForDone(2))
        #expect(Self.firstBatch(relay, "b") == 20, "the restarted relay forgot the peer's limit")

        // The peer now takes 40; once the learned 20 is older than its lifetime it is relearned.
        peer.daemon.stop()
        peer = try Peer(in: scratch, name: "peer40", ["--port", String(port), "--limit", "40", "--too-many", "552 5.5.3 Too many recipients"])
        let stale = learnedAt.addingTimeInterval(8.5).timeIntervalSinceNow
        if stale > 0 { usleep(useconds_t(stale * 1_000_000)) }
        _ = try SMTPClient(port: relay.port).submit(from: "s@example.org", to: Self.recipients(50, "a.test").map { "c" + $0 })
        #expect(relay.waitForDone(3))
        #expect(Self.firstBatch(relay, "c") == 50)
        _ = try SMTPClient(port: relay.port).submit(from: "s@example.org", to: Self.recipients(50, "a.test").map { "d" + $0 })
        #expect(relay.waitForDone(4))
        #expect(Self.firstBatch(relay, "d") == 40)
        #expect(Set(peer.deliveries.flatMap(\.rcpts)).count == 100)
        #expect(relay.events("ndr").isEmpty)
    }

    @Test func a452LimitWith400Recipients() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--limit", "30", "--too-many", "452 4.5.3 Too many recipients"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        let rcpts = Self.recipients(400, "d452.test")
        let (rcptReplies, final) = try SMTPClient(port: relay.port).submit(from: "sender@example.org", to: rcpts)
        #expect(rcptReplies.allSatisfy { $0.hasPrefix("250") })
        #expect(final?.hasPrefix("250 ") == true)
        checkDeliveredOnce(peer, rcpts)
        #expect(relay.waitForDone(1))
        #expect(Set(peer.deliveries.map(\.conn)).count == 1)
        #expect(peer.deliveries.allSatisfy { $0.rcpts.count <= 30 })
        #expect(try reportRules(relay.logPath) == ["peer-limit-below-100"])
    }

    @Test func aLimitAbove100WithALargerBatchIsNotAFault() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--limit", "150", "--too-many", "552 5.5.3 Too many recipients"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, route: "max_rcpt_per_txn = 500")
        let rcpts = Self.recipients(400, "big.test")
        _ = try SMTPClient(port: relay.port).submit(from: "sender@example.org", to: rcpts)
        checkDeliveredOnce(peer, rcpts)
        #expect(relay.waitForDone(1))
        #expect(peer.deliveries.map(\.rcpts.count) == [150, 150, 100])
        #expect(try reportRules(relay.logPath) == [])
    }

    @Test func withoutPipeliningOneCommandAtATime() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--limit", "40", "--too-many", "452 4.5.3 Too many recipients", "--no-pipelining"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        let rcpts = Self.recipients(150, "slow.test")
        _ = try SMTPClient(port: relay.port).submit(from: "sender@example.org", to: rcpts)
        checkDeliveredOnce(peer, rcpts)
        #expect(relay.waitForDone(1))
        #expect(relay.events("txn").allSatisfy { $0["pipelined"] as? Bool == false })
        #expect(try reportRules(relay.logPath) == ["peer-limit-below-100"])
    }

    @Test func permanentPolicyBouncesExactlyTheRefusedOnesWithOneDSN() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--limit", "20", "--too-many", "552 5.5.3 Too many recipients"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, route: "rcpt_552 = \"permanent\"")
        let rcpts = Self.recipients(150, "legacy.test")
        _ = try SMTPClient(port: relay.port).submit(from: "sender@example.org", to: rcpts)
        #expect(relay.waitForDone(2), "the message and its DSN leave the queue")
        // The first transaction carries 100 RCPTs; the peer refuses #21-#100 with 552.
        let refused = Array(rcpts[20..<100])
        let delivered = peer.deliveries.filter { !$0.rcpts.contains("sender@example.org") }.flatMap(\.rcpts)
        #expect(Set(delivered) == Set(rcpts).subtracting(refused))
        #expect(delivered.count == 70)
        let dsns = peer.deliveries.filter { $0.rcpts == ["sender@example.org"] }
        #expect(dsns.count == 1)
        #expect(dsns.first?.reported == refused)
        let ndrs = relay.events("ndr")
        #expect(ndrs.count == 1)
        #expect(ndrs.first?["rcpts"] as? [String] == refused)
        let rules = try reportRules(relay.logPath)
        #expect(Set(rules) == ["limit-bounced", "peer-limit-below-100"], "\(rules)")
    }
}
