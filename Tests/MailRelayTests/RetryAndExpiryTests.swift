import Foundation
import MailRelay
import RelayPeers
import RelaySockets
import Testing
import TestSupport

/// Back-off, expiry, DSNs to and from the null sender, and log rotation, against real peers.
@Suite(.serialized) struct RetryAndExpiryTests {
    @Test func greylistedRecipientsAreDeferredThenDeliveredOnSchedule() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--greylist"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "backoff = [\"1s\"]")
        let rcpts = ["g1@grey.test", "g2@grey.test", "g3@grey.test"]
        _ = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: rcpts)
        #expect(relay.waitForDone(1, timeout: 20))
        #expect(peer.deliveries.flatMap(\.rcpts).sorted() == rcpts)
        let statuses = relay.events("outcome").compactMap { $0["status"] as? String }
        #expect(statuses == ["deferred", "deferred", "deferred", "delivered", "delivered", "delivered"])
        #expect(relay.events("outcome").prefix(3).allSatisfy { $0["retry_at"] is String })
        #expect(relay.events("retry").map { $0["source"] as? String } == ["schedule"])
        #expect(relay.events("txn").map { $0["attempt"] as? Int } == [1, 2])
        #expect(try reportRules(relay.logPath) == [])
    }

    @Test func anUndeliverableMessageExpiresAndItsDSNDoesNotBounceBack() throws {
        let scratch = try TempDir()
        let dead = LoopbackPort.unused()
        let relay = try RelayUnderTest(in: scratch, nextHop: dead, settings: "backoff = [\"1s\"]\nqueue_lifetime = \"2s\"")
        _ = try SMTPClient(port: relay.port).submit(from: "sender@c.test", to: ["x@nowhere.test"])
        // The message expires and a DSN goes to sender@c.test; that one cannot be delivered
        // either, expires, and being from <> gets no DSN of its own.
        #expect(relay.waitForDone(2, timeout: 30))
        let ndrs = relay.events("ndr")
        #expect(ndrs.count == 2)
        #expect(ndrs.first?["rcpts"] as? [String] == ["x@nowhere.test"])
        #expect(ndrs.first?["ndr_msg"] is String)
        #expect(ndrs.last?["rcpts"] as? [String] == ["sender@c.test"])
        #expect(ndrs.last?["ndr_msg"] is NSNull)
        #expect(relay.events("queued").map { $0["from"] as? String } == ["sender@c.test", ""])
        #expect(relay.events("outcome").filter { $0["status"] as? String == "expired" }.count == 2)
        #expect(try reportRules(relay.logPath) == [])
    }

    @Test func theLogRotatesBySizeAndReadsAsOne() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--limit", "150", "--too-many", "452 4.5.3 Too many recipients"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "log_rotate_size = 8192\nlog_keep = 50")
        for i in 0..<10 {
            _ = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: (0..<20).map { "r\($0)m\(i)@rot.test" })
        }
        _ = peer.waitForRecipients(200)
        let end = Date().addingTimeInterval(20)
        func rotated() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: relay.spool)) ?? []).filter { $0.hasPrefix("delivery.log.") }
                .sorted { Int($0.split(separator: ".").last!)! > Int($1.split(separator: ".").last!)! }
        }
        var done = 0
        while Date() < end {
            done = try rotated().map { try String(contentsOfFile: relay.spool + "/" + $0, encoding: .utf8) }.joined().components(separatedBy: "\"event\":\"done\"").count - 1
                + relay.events("done").count
            if done == 10 { break }
            usleep(100_000)
        }
        #expect(done == 10)
        let files = rotated()
        #expect(files.count >= 3)
        for f in files {
            let size = (try FileManager.default.attributesOfItem(atPath: relay.spool + "/" + f)[.size] as? Int) ?? 0
            #expect(size <= 8192)
        }
        // Oldest first, then the live file: one log with nothing lost at the seams.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Built.binary("relaywatch"))
        p.arguments = ["report"] + files.map { relay.spool + "/" + $0 } + [relay.logPath]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("messages 10   recipients 200"))
    }
}
