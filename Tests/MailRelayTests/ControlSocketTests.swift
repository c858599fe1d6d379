import Foundation
import MailRelay
import RelayPeers
import RelaySockets
import Testing
import TestSupport

/// The control protocol against a running mailrelayd: every op, every error, garbage, a slow
/// subscriber, 100 clients at once, and how the socket is created.
@Suite(.serialized) struct ControlSocketTests {
    /// A relay with one deferred message: the peer greylists every recipient once, and the
    /// relay's back-off is an hour, so only the control socket can make it go again.
    func relayWithDeferredMessage(_ scratch: TempDir, rcpts: [String]) throws -> (Peer, RelayUnderTest, String) {
        let peer = try Peer(in: scratch, ["--greylist"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "backoff = [\"1h\"]")
        let final = try SMTPClient(port: relay.port).submit(from: "sender@c.test", to: rcpts).final ?? ""
        let id = String(final.split(separator: " ").last ?? "")
        #expect(final.hasPrefix("250"), "submission: \(final)")
        #expect(relay.waitForEvents("outcome", rcpts.count))
        return (peer, relay, id)
    }

    @Test func everyOpAnswersAndEveryMistakeIsAClearError() throws {
        let scratch = try TempDir()
        let rcpts = ["a1@grey.test", "a2@grey.test", "a3@grey.test"]
        let (peer, relay, id) = try relayWithDeferredMessage(scratch, rcpts: rcpts)
        let c = try ControlConnection(relay.controlPath)

        let hello = try #require(c.call(#"{"id":1,"op":"hello"}"#))
        #expect(hello["id"] as? Int == 1 && hello.isOK)
        #expect(hello["protocol"] as? Int == 1)
        #expect(hello["relay"] as? String == "mailrelayd")
        #expect(hello["log"] as? String == relay.logPath)

        let snap = try #require(c.call(#"{"id":"s1","op":"snapshot"}"#))
        #expect(snap["id"] as? String == "s1")
        let messages = try #require(snap["messages"] as? [[String: Any]])
        #expect(messages.count == 1)
        let m = try #require(messages.first)
        #expect(m["id"] as? String == id)
        #expect(m["sender"] as? String == "sender@c.test")
        #expect(m["held"] as? Bool == false)
        #expect((m["size"] as? Int ?? 0) > 0)
        #expect((m["age"] as? Double ?? -1) >= 0)
        #expect((m["next_attempt"] as? Double ?? 0) > Date().timeIntervalSince1970 + 3000)
        #expect(m["attempts"] as? Int == 1)
        let recipients = try #require(m["recipients"] as? [[String: Any]])
        #expect(recipients.map { $0["address"] as? String } == rcpts)
        #expect(recipients.allSatisfy { $0["state"] as? String == "pending" && $0["attempts"] as? Int == 1 })
        let last = try #require(recipients.first?["last_reply"] as? [String: Any])
        #expect(last["code"] as? Int == 451 && last["enhanced"] as? String == "4.7.1")
        #expect((last["text"] as? String ?? "").contains("Greylisted"))

        let stats = try #require(c.call(#"{"id":2,"op":"stats"}"#)?["stats"] as? [String: Any])
        #expect((stats["messages"] as? [String: Any])?["received"] as? Int == 1)
        #expect((stats["recipients"] as? [String: Any])?["deferred"] as? Int == 3)
        #expect((stats["queue"] as? [String: Any])?["messages"] as? Int == 1)
        #expect((stats["queue"] as? [String: Any])?["recipients"] as? Int == 3)
        #expect(((stats["connections"] as? [String: Any])?["total"] as? Int ?? 0) >= 1)
        #expect((stats["connections"] as? [String: Any])?["control"] as? Int == 1)

        // Hold and release, each twice: the second is an error, and the log records each change.
        #expect(c.call(#"{"id":3,"op":"hold","msg":"\#(id)"}"#)?.isOK == true)
        #expect(c.call(#"{"id":4,"op":"hold","msg":"\#(id)"}"#)?.errorCode == "already-held")
        #expect((c.call(#"{"id":5,"op":"snapshot"}"#)?["messages"] as? [[String: Any]])?.first?["held"] as? Bool == true)
        #expect(c.call(#"{"id":6,"op":"retry","msg":"\#(id)"}"#)?.errorCode == "held")
        #expect(c.call(#"{"id":7,"op":"release","msg":"\#(id)"}"#)?.isOK == true)
        #expect(c.call(#"{"id":8,"op":"release","msg":"\#(id)"}"#)?.errorCode == "not-held")
        #expect(relay.events.compactMap { e in ["hold", "release"].contains(e["event"] as? String) ? e["event"] as? String : nil } == ["hold", "release"])

        // Retry errors.
        #expect(c.call(#"{"id":9,"op":"retry","msg":"NOSUCHMSG"}"#)?.errorCode == "unknown-message")
        #expect(c.call(#"{"id":10,"op":"retry","msg":"\#(id)","rcpts":["stranger@grey.test"]}"#)?.errorCode == "unknown-recipient")
        #expect(c.call(#"{"id":11,"op":"retry","msg":"\#(id)","rcpts":[]}"#)?.errorCode == "bad-request")
        #expect(c.call(#"{"id":12,"op":"retry"}"#)?.errorCode == "bad-request")
        #expect(c.call(#"{"id":13,"op":"hold","msg":"NOSUCHMSG"}"#)?.errorCode == "unknown-message")

        // A subscriber sees the retry it caused, as delivery-log events, with source "control".
        let sub = try ControlConnection(relay.controlPath)
        let subscribed = try #require(sub.call(#"{"id":"sub","op":"subscribe"}"#))
        #expect(subscribed.isOK && subscribed["id"] as? String == "sub")
        #expect(sub.call(#"{"id":"sub2","op":"subscribe"}"#)?.errorCode == "already-subscribed")
        let one = try #require(c.call(#"{"id":14,"op":"retry","msg":"\#(id)","rcpts":["a2@grey.test"]}"#))
        #expect(one.isOK && one["rcpts"] as? [String] == ["a2@grey.test"])
        var pushed: [[String: Any]] = []
        while let e = sub.object() {
            #expect(e["id"] == nil, "pushed events carry no id")
            pushed.append(e)
            if e["event"] as? String == "outcome" { break }
        }
        let retry = try #require(pushed.first { $0["event"] as? String == "retry" })
        #expect(retry["source"] as? String == "control" && retry["rcpts"] as? [String] == ["a2@grey.test"] && retry["msg"] as? String == id)
        #expect(pushed.last?["rcpt"] as? String == "a2@grey.test" && pushed.last?["status"] as? String == "delivered")
        #expect(peer.waitForRecipients(1).flatMap(\.rcpts) == ["a2@grey.test"])

        // Until the attempt is settled, another retry is refused as in progress.
        let settled = Date().addingTimeInterval(10)
        while Date() < settled {
            let entry = (c.call(#"{"id":"p","op":"snapshot"}"#)?["messages"] as? [[String: Any]])?.first
            if entry?["in_progress"] as? Bool == false { break }
            usleep(20_000)
        }

        // Delivered now: retrying it again is refused, naming why.
        let again = try #require(c.call(#"{"id":15,"op":"retry","msg":"\#(id)","rcpts":["a2@grey.test"]}"#))
        #expect(again.errorCode == "recipient-final")
        #expect(((again["error"] as? [String: Any])?["message"] as? String ?? "").contains("delivered"))

        // The whole message: the two still pending go, and it leaves the queue.
        let all = try #require(c.call(#"{"id":16,"op":"retry","msg":"\#(id)"}"#))
        #expect(all["rcpts"] as? [String] == ["a1@grey.test", "a3@grey.test"])
        #expect(relay.waitForDone(1))
        #expect((c.call(#"{"id":17,"op":"snapshot"}"#)?["messages"] as? [[String: Any]])?.isEmpty == true)
        #expect(relay.events("retry").map { $0["source"] as? String } == ["control", "control"])
        #expect(try reportRules(relay.logPath) == [])
    }

    @Test func garbageGetsErrorsAndNeverACrash() throws {
        let scratch = try TempDir()
        let relay = try RelayUnderTest(in: scratch, nextHop: LoopbackPort.unused())
        let c = try ControlConnection(relay.controlPath)
        #expect(c.call("this is not json")?.errorCode == "bad-json")
        #expect(c.call("[1,2,3]")?.errorCode == "bad-json")
        let noID = try #require(c.call(#"{"op":"hello"}"#))
        #expect(noID.errorCode == "bad-request" && noID["id"] is NSNull)
        #expect(c.call(#"{"id":{"a":1},"op":"hello"}"#)?.errorCode == "bad-request")
        let unknown = try #require(c.call(#"{"id":7,"op":"reboot"}"#))
        #expect(unknown.errorCode == "unknown-op" && unknown["id"] as? Int == 7)
        #expect(c.call(#"{"id":8,"op":"retry","msg":42}"#)?.errorCode == "bad-request")
        #expect(c.call(String(repeating: "x", count: 100_000))?.errorCode == "line-too-long")
        var binary: [UInt8] = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        binary.removeAll { $0 == 0x0A }
        c.send(binary + [0x0A])
        #expect(c.object()?.errorCode == "bad-json")
        // A blank line is not a request and gets no answer: the next answer is hello's.
        c.send("\n")
        #expect(c.call(#"{"id":"after","op":"hello"}"#)?["id"] as? String == "after")

        // Ten unusable lines in a row close the connection, after saying so.
        let g = try ControlConnection(relay.controlPath)
        for _ in 0..<10 { g.send("garbage\n") }
        var codes: [String] = []
        while let o = g.object() { codes.append(o.errorCode ?? "?") }
        #expect(codes == Array(repeating: "bad-json", count: 10) + ["too-many-errors"])
        // The relay is still fine.
        #expect(try ControlConnection(relay.controlPath).call(#"{"id":1,"op":"hello"}"#)?.isOK == true)
    }

    @Test func aHundredClientsAtOnce() throws {
        let scratch = try TempDir()
        let relay = try RelayUnderTest(in: scratch, nextHop: LoopbackPort.unused())
        let clients = try (0..<100).map { _ in try ControlConnection(relay.controlPath) }
        for (n, c) in clients.enumerated() {
            c.send(#"{"id":\#(n),"op":"hello"}"# + "\n" + #"{"id":"\#(n)s","op":"stats"}"# + "\n" + #"{"id":"\#(n)q","op":"snapshot"}"# + "\n")
        }
        for (n, c) in clients.enumerated() {
            let a = c.object(), b = c.object(), q = c.object()
            #expect(a?["id"] as? Int == n && a?["protocol"] as? Int == 1)
            #expect(b?["id"] as? String == "\(n)s" && b?["stats"] != nil)
            #expect(q?["id"] as? String == "\(n)q" && q?["messages"] != nil)
        }
        let stats = clients[0].call(#"{"id":"last","op":"stats"}"#)?["stats"] as? [String: Any]
        #expect((stats?["connections"] as? [String: Any])?["control"] as? Int == 100)
    }

    /// One connection cannot monopolise the relay: past 100 requests a second (bursts of 200) its
    /// requests are refused unrun, ten refusals in a row close it, and a client that writes
    /// thousands of requests without reading is closed before the relay buffers them; another
    /// client is served throughout.
    @Test func aFloodingClientIsRateLimitedAndClosed() throws {
        let scratch = try TempDir()
        let relay = try RelayUnderTest(in: scratch, nextHop: LoopbackPort.unused())
        let flood = try ControlConnection(relay.controlPath)
        flood.send((0..<500).map { #"{"id":\#($0),"op":"hello"}"# + "\n" }.joined())
        var codes: [String] = []
        var answered = 0
        while let o = flood.object() {
            if o.isOK { answered += 1 } else { codes.append(o.errorCode ?? "?") }
        }
        // The burst always passes; how many more depends on how fast this machine answers (the
        // bucket refills at 100/s), so the rule itself is checked in RequestRateTests.
        #expect(answered >= 200, "\(answered) answered")
        #expect(Set(codes).isSubset(of: ["rate-limited", "too-many-errors"]), "\(codes)")
        #expect(answered + codes.count <= 501)

        let writer = try ControlConnection(relay.controlPath)
        writer.send((0..<3000).map { #"{"id":\#($0),"op":"stats"}"# + "\n" }.joined())
        var last: [String: Any]?
        while let o = writer.object() { last = o }
        #expect(["too-many-pending", "too-many-errors"].contains(last?.errorCode ?? ""), "\(String(describing: last))")

        let other = try ControlConnection(relay.controlPath)
        #expect(other.call(#"{"id":"still","op":"hello"}"#)?.isOK == true)
    }

    @Test func theRequestRateIsATokenBucket() {
        var rate = RequestRate(perSecond: 100, burst: 200)
        var got: [Bool] = []
        for _ in 0..<200 { got.append(rate.allow(at: 0)) }
        got.append(rate.allow(at: 0))
        got.append(rate.allow(at: 0.005))
        got.append(rate.allow(at: 0.02))   // 2 tokens back after 20 ms
        got.append(rate.allow(at: 0.02))
        got.append(rate.allow(at: 0.02))
        #expect(got == Array(repeating: true, count: 200) + [false, false, true, true, false])
        var later = 0
        while rate.allow(at: 100) { later += 1 }
        #expect(later == 200, "refilled to the burst, not beyond")
    }

    /// Protocol v2: a client that says it speaks 2 can ask for what changed since the queue
    /// version of its last snapshot; the answer has the changed messages and the ids of those that
    /// left. A version this run did not hand out (too old, or from before a restart) gets the
    /// whole queue. A client that names no version is a v1 client and is answered as before.
    @Test func aV2SnapshotSendsOnlyWhatChangedSinceItsVersion() throws {
        let scratch = try TempDir()
        let (peer, relay, first) = try relayWithDeferredMessage(scratch, rcpts: ["d1@grey.test", "d2@grey.test"])
        defer { withExtendedLifetime(peer) {} }
        let v1 = try ControlConnection(relay.controlPath)
        let oldHello = try #require(v1.call(#"{"id":1,"op":"hello"}"#))
        #expect(oldHello["protocol"] as? Int == 1)
        let c = try ControlConnection(relay.controlPath)
        let hello = try #require(c.call(#"{"id":1,"op":"hello","protocol":2}"#))
        #expect(hello["protocol"] as? Int == 2 && hello["protocols"] as? [Int] == [1, 2])

        func ids(_ r: [String: Any]?) -> [String] { (r?["messages"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } }
        let full = try #require(c.call(#"{"id":2,"op":"snapshot"}"#))
        let v0 = try #require(full["queue_version"] as? Int)
        #expect(ids(full) == [first] && full["since"] == nil && full["removed"] == nil)
        let nothing = try #require(c.call(#"{"id":3,"op":"snapshot","since":\#(v0)}"#))
        #expect(nothing["since"] as? Int == v0 && ids(nothing).isEmpty && (nothing["removed"] as? [String]) == [])

        // A second message: the delta has it and not the first.
        let final = try SMTPClient(port: relay.port).submit(from: "second@c.test", to: ["e1@grey.test"]).final ?? ""
        let second = String(final.split(separator: " ").last ?? "")
        #expect(relay.waitForEvents("outcome", 3))
        let added = try #require(c.call(#"{"id":4,"op":"snapshot","since":\#(v0)}"#))
        let v1version = try #require(added["queue_version"] as? Int)
        #expect(ids(added) == [second] && v1version > v0)
        let entry = try #require((added["messages"] as? [[String: Any]])?.first)
        #expect((entry["recipients"] as? [[String: Any]])?.first?["state"] as? String == "pending")

        // The first goes (the greylisting peer takes it the second time): it is in removed.
        #expect(c.call(#"{"id":5,"op":"retry","msg":"\#(first)"}"#)?.isOK == true)
        #expect(relay.waitForDone(1), "\(relay.log.suffix(3000))")
        let gone = try #require(c.call(#"{"id":6,"op":"snapshot","since":\#(v1version)}"#))
        #expect(gone["removed"] as? [String] == [first] && !ids(gone).contains(first))

        // A since that is not a number is a bad request that says what since is.
        let garbled = try #require(c.call(#"{"id":8,"op":"snapshot","since":"yesterday"}"#))
        #expect(garbled.errorCode == "bad-request")
        #expect(((garbled["error"] as? [String: Any])?["message"] as? String ?? "").contains("since"))

        // Versions it did not hand out: the whole queue, as a full snapshot.
        for since in [v0 - 1_000_000_000_000, (gone["queue_version"] as? Int ?? 0) + 1] {
            let whole = try #require(c.call(#"{"id":7,"op":"snapshot","since":\#(since)}"#))
            #expect(whole["since"] == nil && ids(whole) == [second], "since \(since)")
        }
        // After a restart the old version means nothing: the whole queue again.
        let last = try #require(gone["queue_version"] as? Int)
        relay.daemon.kill9()
        try relay.start()
        let again = try ControlConnection(relay.controlPath)
        _ = again.call(#"{"id":1,"op":"hello","protocol":2}"#)
        let afterRestart = try #require(again.call(#"{"id":2,"op":"snapshot","since":\#(last)}"#))
        #expect(afterRestart["since"] == nil && ids(afterRestart) == [second])
        #expect((afterRestart["queue_version"] as? Int ?? 0) > last)
        // And a v1 client's snapshot is the whole queue, as it always was.
        let v1Again = try ControlConnection(relay.controlPath)
        #expect(ids(v1Again.call(#"{"id":1,"op":"snapshot"}"#)) == [second])
    }

    /// The removals a delta can name are bounded; a version older than the oldest kept one gets
    /// the whole queue instead of a delta that would miss a removal.
    @Test func aDeltaNeverMissesARemoval() {
        var changes = QueueChanges(startedAt: 1000, keep: 3)
        let start = changes.version
        for id in ["A", "B", "C", "D", "E"] { changes.touch(id) }
        let afterTouches = changes.version
        #expect(changes.since(start).map { $0.changed } == ["A", "B", "C", "D", "E"])
        for id in ["A", "B", "C"] { changes.removed(id) }
        #expect(changes.since(afterTouches).map { $0.removed } == ["A", "B", "C"])
        #expect(changes.since(afterTouches).map { $0.changed } == [])
        changes.removed("D")
        // A's removal was forgotten: a client from before it must get everything.
        #expect(changes.since(afterTouches) == nil)
        #expect(changes.since(afterTouches + 1).map { $0.removed } == ["B", "C", "D"])
        #expect(changes.since(changes.version + 1) == nil)
        #expect(changes.since(start - 1) == nil)
    }

    /// A subscriber that stops reading never slows the relay: once its buffer is full it is sent
    /// nothing, and when it reads again it is told how many events it missed and given the queue.
    @Test func aSlowSubscriberIsToldWhatItMissedAndResynchronised() throws {
        let scratch = try TempDir()
        // The peer in a process of its own: one in this test process answers on the concurrency
        // pool, whose threads other tests' blocking waits can hold (on two cores that stalled
        // this relay for minutes).
        let peer = try Peer(in: scratch, ["--limit", "1000"])
        defer { withExtendedLifetime(peer) {} }
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        let slow = try ControlConnection(relay.controlPath)
        #expect(slow.call(#"{"id":1,"op":"subscribe"}"#)?.isOK == true)
        let linesBefore = relay.log.split(separator: "\n").count
        // About 4 MB of events, far more than the socket buffers and the relay's 1 MiB allowance.
        let messages = 40
        for m in 0..<messages {
            let r = try SMTPClient(port: relay.port).submit(from: "bulk@c.test", to: (0..<250).map { "r\($0)m\(m)@bulk.test" })
            #expect(r.final?.hasPrefix("250") == true)
        }
        // A generous wait: alone this takes seconds, beside the whole suite on two cores (a real
        // Postfix and Exim among its peers) it has taken over a minute. A relay held up by its
        // slow subscriber would never finish, however long the wait.
        #expect(relay.waitForDone(messages, timeout: 240), "the relay finished while the subscriber did not read")
        let written = relay.log.split(separator: "\n").count - linesBefore

        var events = 0, dropped = 0, overflows = 0, snapshots = 0
        var sawSnapshotAfterOverflow = false
        while let o = slow.object() {
            switch o["event"] as? String {
            case "overflow":
                overflows += 1
                dropped += o["dropped"] as? Int ?? 0
            case "snapshot":
                snapshots += 1
                sawSnapshotAfterOverflow = overflows > 0
                #expect(o["messages"] is [Any])
            default:
                events += 1
            }
            if events + dropped >= written, snapshots == overflows { break }
        }
        #expect(overflows >= 1 && dropped > 0)
        #expect(sawSnapshotAfterOverflow && snapshots == overflows)
        // Every event written was either sent or counted as dropped: none vanished unannounced.
        #expect(events + dropped == written)
    }

    @Test func anUnknownControlGroupIsRefusedAtStart() throws {
        let relay = try RelayUnderTest(in: TempDir(), nextHop: LoopbackPort.unused(), settings: "control_group = \"no-such-group-here\"", start: false)
        #expect(throws: (any Error).self) { try relay.start() }
        #expect(relay.daemon.stderr.contains("control_group: no group named no-such-group-here"))
    }

    @Test func theSocketIsOwnerOnlyAndAStaleOneIsReplaced() throws {
        let scratch = try TempDir()
        let dead = LoopbackPort.unused()
        let relay = try RelayUnderTest(in: scratch, nextHop: dead)
        var st = stat()
        #expect(lstat(relay.controlPath, &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)
        #expect(st.st_mode & 0o777 == 0o600)
        // No staging directory left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: relay.spool).filter { $0.hasPrefix(".control") } == [])

        // A second relay on the same socket refuses to start instead of stealing it.
        let second = try RelayUnderTest(in: TempDir(), nextHop: dead, settings: "control = \"\(relay.controlPath)\"", start: false)
        #expect(throws: (any Error).self) { try second.start() }
        #expect(second.daemon.stderr.contains("in use"))

        // kill -9 leaves the file; the next start replaces it.
        relay.daemon.kill9()
        #expect(FileManager.default.fileExists(atPath: relay.controlPath))
        try relay.start()
        #expect(try ControlConnection(relay.controlPath).call(#"{"id":1,"op":"hello"}"#)?.isOK == true)
        // A clean stop removes it.
        #expect(relay.daemon.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: relay.controlPath))
    }
}
