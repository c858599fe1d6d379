import Foundation
import Testing
import TestSupport

/// A next hop speaking raw bytes that no SMTP library would send (Tests/Peers/bad_peer.py).
final class BadPeer: @unchecked Sendable {
    let daemon: Daemon
    let port: Int

    init(in scratch: TempDir, mode: String) throws {
        daemon = try Daemon(["/usr/bin/python3", Built.root + "/Tests/Peers/bad_peer.py", "--mode", mode],
                            directory: scratch.path, name: "bad-\(mode)")
        let ready = try daemon.waitFor("the bad peer to listen") { $0.hasPrefix("ready ") }
        port = Int(ready.dropFirst(6))!
    }

    deinit { daemon.stop() }

    /// Connections the peer accepted.
    var connections: Int { daemon.stdout.split(separator: "\n").filter { $0.hasPrefix("conn ") }.count }
}

/// Peers that break the protocol: every recipient they leave undecided is deferred (never bounced,
/// never lost), the log says what happened, and `relaywatch report` finds no rule broken.
@Suite(.serialized) struct MisbehavingPeerTests {
    static let cases: [(mode: String, reason: String)] = [
        ("greet-554", "refused the session: 554 5.3.2 bad.example no service for you"),
        ("silent", "timed out"),
        ("reset", "connection closed by the peer"),
        ("fewer-replies", "timed out"),
        ("malformed", "not an SMTP reply: 2x0 what is this"),
        ("endless", "multi-line reply longer than"),
        ("code-change", "multi-line reply changed its code"),
    ]

    @Test(arguments: cases.map(\.mode))
    func theRecipientsAreDeferredAndTheLogSaysWhy(_ mode: String) throws {
        let reason = Self.cases.first { $0.mode == mode }!.reason
        let scratch = try TempDir()
        let peer = try BadPeer(in: scratch, mode: mode)
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "reply_timeout = \"2s\"\nbackoff = [\"1h\"]")
        let rcpts = (1...5).map { "r\($0)@bad.test" }
        let (_, final) = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: rcpts)
        #expect(final?.hasPrefix("250") == true, "\(final ?? "no reply")")
        #expect(relay.waitForEvents("outcome", 5, timeout: 30))
        let outcomes = relay.events("outcome")
        #expect(Set(outcomes.compactMap { $0["rcpt"] as? String }) == Set(rcpts))
        #expect(outcomes.allSatisfy { $0["status"] as? String == "deferred" }, "\(outcomes)")
        let reasons = outcomes.compactMap { $0["reason"] as? String }
        #expect(reasons.contains { $0.contains(reason) }, "\(reasons)")
        #expect(relay.events("ndr").isEmpty && relay.events("done").isEmpty)
        #expect(try reportRules(relay.logPath) == [])
        // Still in the queue, all five, for the next attempt.
        let queued = try ControlConnection(relay.controlPath).call(#"{"id":1,"op":"snapshot"}"#)
        let messages = queued?["messages"] as? [[String: Any]] ?? []
        #expect(messages.count == 1)
        #expect((messages.first?["recipients"] as? [[String: Any]])?.count == 5)
    }

    /// A hop that does not answer is tried by the jobs already connecting, at most one per
    /// connection of its route: the other jobs queued for it meanwhile are deferred at once with the
    /// reason, not each after its own timeout.
    @Test func aDeadHopIsRememberedAndNotTriedByEveryJob() throws {
        let scratch = try TempDir()
        let peer = try BadPeer(in: scratch, mode: "silent")
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port,
                                       settings: "reply_timeout = \"3s\"\nbackoff = [\"1h\"]\ndead_hop_time = \"10m\"")
        for i in 0..<6 {
            let (_, final) = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: ["m\(i)@dead.test"])
            #expect(final?.hasPrefix("250") == true)
        }
        #expect(relay.waitForEvents("outcome", 6, timeout: 30))
        let reasons = relay.events("outcome").compactMap { $0["reason"] as? String }
        #expect(relay.events("outcome").allSatisfy { $0["status"] as? String == "deferred" })
        // The default route allows 4 connections: at most 4 jobs met the silence before the first
        // timeout marked the hop dead; the rest were deferred without connecting.
        #expect(peer.connections <= 4, "\(peer.connections) connections")
        // At least the two jobs beyond the route's connections were not tried at all.
        let notAttempted = reasons.filter { $0.contains("not attempted") && $0.contains("failed") && $0.contains("timed out") }
        #expect(notAttempted.count >= 2, "\(reasons)")
    }
}
