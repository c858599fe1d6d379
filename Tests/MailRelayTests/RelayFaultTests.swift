import Foundation
import MailRelay
import RelayPeers
import RelaySockets
import Testing
import TestSupport

/// Bad clients, bad peers and bad moments: mailrelayd answers clearly, keeps running, and loses
/// no message it said 250 to.
@Suite(.serialized) struct RelayFaultTests {
    @Test func clientsOutsideTheAllowedNetworksAreRefused() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, [])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "client_networks = [\"192.0.2.0/24\", \"2001:db8::/32\"]")
        let c = try SMTPClient(port: relay.port)
        #expect(c.reply()?.hasPrefix("554 5.7.1") == true)
        c.send("EHLO evil.test\r\nMAIL FROM:<a@evil.test>\r\nRCPT TO:<b@victim.test>\r\nDATA\r\n")
        #expect(c.replies(4).allSatisfy { $0.hasPrefix("503") })
        c.send("QUIT\r\n")
        #expect(c.reply()?.hasPrefix("221") == true)
        #expect(relay.events("queued").isEmpty)
    }

    @Test func garbageAndLimitsGetRepliesAndTheSessionGoesOn() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, [])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        let c = try SMTPClient(port: relay.port)
        _ = c.reply()
        c.send([0x00, 0x01, 0xFF, 0x1B, 0x5B, 0x32, 0x4A, 0x0D, 0x0A])
        #expect(c.reply()?.hasPrefix("500 5.5.2") == true)
        c.send("RCPT TO:<x@y.test>\r\n")
        #expect(c.reply()?.hasPrefix("503") == true)
        c.send("EHLO " + String(repeating: "x", count: 5000) + "\r\n")
        #expect(c.reply()?.hasPrefix("500 5.5.2 Line too long") == true)
        c.send("EHLO client.test\r\n")
        let ehlo = c.reply() ?? ""
        for keyword in ["PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES"] { #expect(ehlo.contains(keyword)) }
        c.send("MAIL FROM:<a@client.test> SIZE=999999999999\r\n")
        #expect(c.reply()?.hasPrefix("552 5.3.4") == true)
        c.send("MAIL FROM:<a@client.test>\r\nDATA\r\n")
        #expect(c.reply()?.hasPrefix("250") == true)
        #expect(c.reply()?.hasPrefix("554 5.5.1") == true, "354 without an accepted RCPT")
        // 10,000 pipelined RCPTs: the first 1000 (the default limit) accepted, the rest 452 4.5.3.
        var group = ""
        for i in 0..<10_000 { group += "RCPT TO:<r\(i)@many.test>\r\n" }
        c.send(group)
        let replies = c.replies(10_000)
        #expect(replies.count == 10_000)
        #expect(replies.prefix(1000).allSatisfy { $0.hasPrefix("250") })
        #expect(replies.dropFirst(1000).allSatisfy { $0.hasPrefix("452 4.5.3") })
        c.send("DATA\r\n")
        #expect(c.reply()?.hasPrefix("354") == true)
        c.send("Subject: many\r\n\r\n..a dot-stuffed line\r\n" + String(repeating: "y", count: 3000) + "\r\n.\r\n")
        #expect(c.reply()?.hasPrefix("250 2.0.0 Ok: queued as") == true)
        c.send("QUIT\r\n")
        #expect(c.reply()?.hasPrefix("221") == true)
        #expect(relay.waitForDone(1))
        #expect(peer.waitForRecipients(1000).flatMap(\.rcpts).count == 1000)
    }

    @Test func aClientThatHangsUpInDataQueuesNothing() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, [])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        do {
            let c = try SMTPClient(port: relay.port)
            _ = c.reply()
            c.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@d.test>\r\nDATA\r\n")
            #expect(c.replies(4).last?.hasPrefix("354") == true)
            c.send("Subject: cut\r\n\r\nhalf a message")
        }
        usleep(500_000)
        // The relay still works, and only the complete message is queued.
        let (_, final) = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: ["whole@d.test"])
        #expect(final?.hasPrefix("250") == true)
        #expect(relay.waitForDone(1))
        #expect(relay.events("queued").count == 1)
        #expect(peer.deliveries.flatMap(\.rcpts) == ["whole@d.test"])
    }

    @Test func aPeerThatStopsAnsweringDefersAndIsLoggedAsSuch() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--stall-rcpt", "3"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "reply_timeout = \"1s\"\nbackoff = [\"1h\"]")
        let rcpts = (1...5).map { "s\($0)@stall.test" }
        _ = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: rcpts)
        let end = Date().addingTimeInterval(15)
        while relay.events("outcome").count < 5, Date() < end { usleep(100_000) }
        let outcomes = relay.events("outcome")
        #expect(outcomes.count == 5)
        #expect(outcomes.allSatisfy { $0["status"] as? String == "deferred" })
        #expect(outcomes.contains { ($0["reason"] as? String)?.contains("timed out") == true })
        // The replies that did come are logged by position: MAIL and the first two RCPTs.
        #expect(relay.events("reply").count == 3)
        #expect(relay.events("ndr").isEmpty && relay.events("done").isEmpty)
        #expect(try reportRules(relay.logPath) == [])
    }

    @Test func aPeerThatAnswersMoreThanItWasAskedIsNotTrustedAgain() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--extra-reply"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        _ = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: ["one@x.test"])
        #expect(relay.waitForDone(1))
        _ = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: ["two@x.test"])
        #expect(relay.waitForDone(2))
        #expect(peer.deliveries.flatMap(\.rcpts) == ["one@x.test", "two@x.test"])
        // The stray reply ended the first session; the second message opened a new one.
        #expect(relay.events("session").count == 2)
    }

    @Test func sigtermStopsCleanlyAndARestartResumesTheQueue() throws {
        let scratch = try TempDir()
        // A next hop that is not listening: messages wait in the queue.
        let closedPort = LoopbackPort.unused()
        let relay = try RelayUnderTest(in: scratch, nextHop: closedPort, settings: "backoff = [\"1s\"]")
        for i in 0..<3 {
            let (_, final) = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: ["q\(i)@wait.test"])
            #expect(final?.hasPrefix("250") == true)
        }
        let status = relay.daemon.terminate()
        #expect(status == 0, "exit status \(String(describing: status))")
        #expect(relay.daemon.stderr.contains("stopped"))
        // Now the peer is there, on the port the relay was told about.
        let peer = try Peer(in: scratch, ["--port", String(closedPort)])
        try relay.start()
        #expect(peer.waitForRecipients(3, timeout: 20).flatMap(\.rcpts).sorted() == ["q0@wait.test", "q1@wait.test", "q2@wait.test"])
        #expect(relay.waitForDone(3))
    }

    /// A client that pipelines commands and never reads the replies: the relay stops reading it
    /// once its replies fill the socket, so its memory does not grow with the client's commands.
    @Test func aClientThatNeverReadsItsRepliesCannotGrowTheRelaysMemory() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, [])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        func rss() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(relay.daemon.pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        let before = rss()
        nonisolated(unsafe) let c = try SMTPClient(port: relay.port)
        // EHLO: a 5-line reply for each 8-byte command, so replies pile up 12 times faster.
        let chunk = Array(String(repeating: "EHLO x\r\n", count: 100_000).utf8)
        let sent = Accepted()
        Thread.detachNewThread {
            // 20 MB of commands; send blocks once the relay stops reading.
            for i in 0..<35 { c.send(chunk); sent.add(["\(i)"]) }
        }
        // Once the relay has stopped reading, the writer stays blocked: no chunk goes between
        // the two looks (a relay still reading takes a chunk every half second here).
        sleep(3)
        let early = sent.count
        sleep(3)
        let grown = rss() - before
        print("never-reads: sent \(early) then \(sent.count) chunks, grew \(grown) kB")
        #expect(sent.count == early, "the relay kept reading commands whose replies nobody reads")
        #expect(grown < 40_000, "the relay grew by \(grown) kB")
        // The relay goes on serving others.
        let (_, final) = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: ["ok@x.test"])
        #expect(final?.hasPrefix("250") == true)
    }

    /// A kill after a message's last transaction was recorded delivered but before the attempt
    /// was settled: the restarted relay settles it (done, out of the queue) and sends nothing again.
    @Test func aMessageRecordedDeliveredButNotSettledLeavesTheQueueOnRestart() async throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, [])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, start: false)
        do {
            let spool = try Spool(directory: relay.spool)
            let rcpts = ["a@x.test", "b@x.test"].map { QueuedRecipient(address: $0) }
            try await spool.enqueue(QueuedMessage(id: "KILLED1", sender: "s@y.test", size: 10, messageID: nil, received: 0,
                                                  nextAttempt: 0, recipients: rcpts), body: Array("Subject: x\r\n\r\nx\r\n".utf8))
            try await spool.recordDelivered("KILLED1", [(0, "250 2.0.0 Ok"), (1, "250 2.0.0 Ok")])
        }
        try relay.start()
        #expect(relay.waitForDone(1))
        #expect(relay.events("done").first?["msg"] as? String == "KILLED1")
        let snapshot = try ControlConnection(relay.controlPath).call(#"{"id":1,"op":"snapshot"}"#)
        #expect((snapshot?["messages"] as? [[String: Any]])?.isEmpty == true)
        #expect(peer.deliveries.isEmpty)
    }

    @Test func aFullDiskRefusesWith4xxAndTheRelayKeepsGoing() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, [])
        // Files may not grow past 2 MB (RLIMIT_FSIZE): the spool cannot take a 3 MB message.
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, start: false)
        relay.wrapper = ["/usr/bin/prlimit", "--fsize=2000000", "--"]
        try relay.start()
        let big = "Subject: big\r\n\r\n" + String(repeating: String(repeating: "z", count: 998) + "\r\n", count: 3000)
        let (_, refused) = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: ["big@x.test"], body: big)
        #expect(refused?.hasPrefix("45") == true, "\(refused ?? "no reply")")
        let (_, final) = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: ["small@x.test"])
        #expect(final?.hasPrefix("250") == true, "\(final ?? "no reply")")
        #expect(relay.waitForDone(1))
        #expect(peer.deliveries.flatMap(\.rcpts) == ["small@x.test"])
    }
}

/// Recipients of messages the relay said 250 to, from several client threads.
final class Accepted: @unchecked Sendable {
    private let lock = NSLock()
    private var set = Set<String>()
    func add(_ r: [String]) { lock.lock(); set.formUnion(r); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return set.count }
    var all: Set<String> { lock.lock(); defer { lock.unlock() }; return set }
}
