import Foundation
import Synchronization
import Testing
import TestSupport

/// mailrelayd killed with SIGKILL at random moments, again and again, while clients submit
/// messages of 120 recipients to it and it delivers them to a peer that takes 50 a transaction.
/// Every recipient of every message it said 250 to must arrive; a recipient may arrive twice only
/// across a kill (the peer said 250 to the data, the relay died before recording it), so the
/// duplicates are counted, printed and bounded by what the kills could have caught in flight.
@Suite(.serialized) struct CrashSafetyTests {
    static let kills = Int(ProcessInfo.processInfo.environment["RELAYWATCH_KILLS"] ?? "") ?? 24
    static let recipientsPerMessage = 120

    @Test func twentyKillsUnderLoadLoseNoAcceptedRecipient() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--limit", "50", "--too-many", "452 4.5.3 Too many recipients"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "backoff = [\"1s\"]")
        let port = Atomic<Int>(relay.port)
        let accepted = Accepted()
        let messages = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let group = DispatchGroup()
        for client in 0..<3 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var i = 0
                while !stop.load(ordering: .relaxed) {
                    // The relay is down between a kill and its restart: try again shortly.
                    guard let c = try? SMTPClient(port: port.load(ordering: .relaxed)) else { usleep(50_000); continue }
                    let rcpts = (0..<Self.recipientsPerMessage).map { "c\(client)m\(i)r\($0)@load.test" }
                    i += 1
                    if let final = c.submit(from: "load@c.test", to: rcpts).final, final.hasPrefix("250") {
                        accepted.add(rcpts)
                        messages.add(1, ordering: .relaxed)
                    }
                    // Steady, not flat out: about 20 messages (2,400 recipients) a second in all,
                    // so the suite's other tests beside this one keep their timings.
                    usleep(150_000)
                }
            }
        }
        var survived = 0
        for _ in 0..<Self.kills {
            usleep(useconds_t.random(in: 300_000...1_500_000))
            relay.daemon.kill9()
            survived += 1
            try relay.start()
            port.store(relay.port, ordering: .relaxed)
        }
        stop.store(true, ordering: .relaxed)
        group.wait()
        let owed = accepted.all

        var delivered: [String] = []
        let end = Date().addingTimeInterval(180)
        while Date() < end {
            delivered = peer.deliveries.flatMap(\.rcpts)
            if owed.isSubset(of: Set(delivered)) { break }
            usleep(200_000)
        }
        let counts = Dictionary(delivered.map { ($0, 1) }, uniquingKeysWith: +)
        let missing = owed.subtracting(counts.keys)
        let duplicates = counts.values.reduce(0) { $0 + max(0, $1 - 1) }
        let figures = "kills=\(survived) messages=\(messages.load(ordering: .relaxed)) recipients=\(owed.count) "
            + "delivered=\(owed.count - missing.count) lost=\(missing.count) duplicated=\(duplicates)"
        print("crash test: \(figures)")
        if let out = ProcessInfo.processInfo.environment["RELAYWATCH_FIGURES"] {
            try? (figures + "\n").write(toFile: out + ".crash", atomically: true, encoding: .utf8)
        }
        #expect(survived >= 20)
        #expect(owed.count >= 100 * Self.recipientsPerMessage, "too little load: \(figures)")
        #expect(missing.isEmpty, "\(missing.count) recipients of accepted messages never delivered: \(missing.sorted().prefix(5))")
        // A kill can catch at most the route's 4 connections between the peer's 250 and the commit,
        // each with at most one transaction of 100 recipients.
        #expect(duplicates <= survived * 4 * 100, "\(figures)")
        #expect(counts.keys.allSatisfy { owed.contains($0) || $0.hasSuffix("@load.test") })
        // And the queue empties: a message whose recipients were all recorded delivered before a
        // kill, but not yet settled, is settled when the relay comes back, not left behind.
        let emptied = waitUntil(timeout: 60, every: 0.5) {
            let snapshot = (try? ControlConnection(relay.controlPath))?.call(#"{"id":1,"op":"snapshot"}"#)
            return (snapshot?["messages"] as? [[String: Any]])?.isEmpty == true
        }
        #expect(emptied, "messages left in the queue after every recipient was delivered")
        // Across every kill the log still accounts for each recipient.
        let rules = try reportRules(relay.logPath)
        #expect(!rules.contains("recipient-lost"), "\(rules)")
    }
}
