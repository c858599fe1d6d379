import Foundation
import Testing
import TestSupport

/// relaywatch on a running mailrelayd's log and control socket, in a real terminal (tmux): the
/// admin retries, marks, holds and releases from the keyboard, and the view survives the relay
/// going away and coming back.
@Suite(.serialized) struct LiveMonitorTests {
    /// A relay with one 30-recipient message the peer greylisted (so it waits an hour), and the
    /// peer then stops at 20 per transaction with 552 5.5.3.
    func deferredMessage(_ scratch: TempDir) throws -> (Peer, RelayUnderTest, String, [String]) {
        let peer = try Peer(in: scratch, ["--greylist", "--limit", "20", "--too-many", "552 5.5.3 Too many recipients"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "backoff = [\"1h\"]")
        let rcpts = (1...30).map { "user\($0)@live.test" }
        let final = try SMTPClient(port: relay.port).submit(from: "sender@c.test", to: rcpts).final ?? ""
        #expect(relay.waitForEvents("outcome", 30))
        return (peer, relay, String(final.split(separator: " ").last ?? ""), rcpts)
    }

    func monitor(_ relay: RelayUnderTest, _ extra: String = "") throws -> TmuxSession {
        try TmuxSession(width: 160, height: 50, command: "\(Built.binary("relaywatch")) --log \(relay.logPath) --socket \(relay.controlPath) \(extra)")
    }

    @Test func retryMarkedThenAllFromTheKeyboardAndReconnectAfterARestart() throws {
        let scratch = try TempDir()
        let (peer, relay, id, rcpts) = try deferredMessage(scratch)
        let tmux = try monitor(relay)
        try tmux.wait("the relay connected and the message listed") { $0.contains("relay: connected") && $0.contains(id) }

        // Open it, hold and release it from the keyboard.
        try tmux.keys("Enter")
        try tmux.wait("the message view with the relay's view of it") { $0.contains("relay: in ") && $0.contains("30 waiting") }
        try tmux.keys("h")
        try tmux.wait("held") { $0.contains("relay: \(id) held") && $0.contains("relay: held") }
        try tmux.keys("u")
        try tmux.wait("released") { $0.contains("relay: \(id) released") }
        #expect(relay.events.compactMap { e in ["hold", "release"].contains(e["event"] as? String) ? e["event"] as? String : nil } == ["hold", "release"])

        // The 30 greylisted recipients are one run (the peer's reply names each address, which
        // relaywatch sets aside to compare them). Open it, mark the first two with space, and
        // retry just those with R.
        try tmux.wait("one run of 30") { $0.contains("▸#1–#30") && $0.contains("30 recipients:") }
        try tmux.keys("Enter", "Down", "Space", "Space", "R")
        try tmux.wait("the confirmation for two") { $0.contains("Retry 2 marked recipients of \(id) now? y/n") }
        try tmux.keys("y")
        try tmux.wait("two delivered") { $0.contains("relay: retrying 2 recipients of \(id)") && $0.contains("relay: 2 delivered · 28 deferred") }
        #expect(relay.events("retry").last?["rcpts"] as? [String] == Array(rcpts.prefix(2)))

        // Then the rest with r: the prompt counts what the relay still has.
        try tmux.wait("the relay's count to catch up", seconds: 15) { $0.contains("28 waiting") }
        try tmux.keys("r")
        try tmux.wait("the confirmation for 28") { $0.contains("Retry 28 recipients of \(id) now? y/n") }
        try tmux.keys("y")
        // The notice first, then the deliveries: the notice expires after a few seconds, and on a
        // loaded machine the 28 can take longer than that, so the two need not share a screen.
        try tmux.wait("the relay's answer to the retry") { $0.contains("relay: retrying 28 recipients of \(id)") }
        try tmux.wait("every recipient delivered", seconds: 15) { $0.contains("relay: 30 delivered · 0 deferred") }
        #expect(relay.waitForDone(1))
        #expect(relay.events("retry").map { $0["source"] as? String } == ["control", "control"])
        // The peer's limit of 20 split the 28 into 20 and 8; nobody bounced.
        #expect(Set(peer.deliveries.flatMap(\.rcpts)) == Set(rcpts))
        #expect(relay.events("ndr").isEmpty)

        // The relay goes away: the view says so and keeps working; it comes back: reconnected.
        relay.daemon.kill9()
        try tmux.wait("reconnecting", seconds: 10) { $0.contains("relay: reconnecting in") }
        try tmux.keys("Escape")
        try tmux.wait("the list still answers keys") { $0.contains("QUEUE ID") }
        try relay.start()
        try tmux.wait("reconnected by itself", seconds: 20) { $0.contains("relay: connected") }
    }

    /// With the socket alone, the queue comes from a snapshot and the events are pushed.
    @Test func theSocketAloneShowsTheQueueAndLiveEvents() throws {
        let scratch = try TempDir()
        let (_, relay, id, _) = try deferredMessage(scratch)
        let tmux = try TmuxSession(width: 160, height: 50, command: "\(Built.binary("relaywatch")) --socket \(relay.controlPath)")
        // Queued before relaywatch started: known from the snapshot.
        try tmux.wait("the queued message from the snapshot") { $0.contains("relay: connected") && $0.contains(id) && $0.contains("in 59m") }
        // A new message after it: its events arrive over the socket.
        let final = try SMTPClient(port: relay.port).submit(from: "late@c.test", to: ["late@live.test"]).final ?? ""
        let second = String(final.split(separator: " ").last ?? "")
        try tmux.wait("the pushed events of a new message") { $0.contains(second) && $0.contains("late@c.test") && $0.contains("0/1/0/0") }
    }

    /// With the socket alone, a view too slow to read (here: stopped) misses events, and the relay
    /// says so and sends its queue. The messages that finished meanwhile must not stay "in flight"
    /// for ever, nor be judged from the half of their events that arrived: the queue settles them.
    @Test func aViewThatMissedEventsShowsNoFinishedMessageInFlight() throws {
        let scratch = try TempDir()
        // A peer in a process of its own: one in this test process would need a free thread of
        // the concurrency pool, which tests blocked in their waits can take.
        let peer = try Peer(in: scratch, ["--limit", "1000"])
        defer { withExtendedLifetime(peer) {} }
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        // Under a shell that waits for it: tmux continues a pane's own process when it stops, and
        // this one must stay stopped.
        let tmux = try TmuxSession(width: 160, height: 50, command: "\(Built.binary("relaywatch")) --socket \(relay.controlPath); true")
        try tmux.wait("connected") { $0.contains("relay: connected") }
        let pid = try #require(try tmux.pid(of: "relaywatch"))
        kill(pid, SIGSTOP)
        // About 4 MB of events, far past what the relay keeps for a subscriber that is not reading.
        let messages = 40
        for m in 0..<messages {
            let r = try SMTPClient(port: relay.port).submit(from: "bulk@c.test", to: (0..<250).map { "r\($0)m\(m)@bulk.test" })
            #expect(r.final?.hasPrefix("250") == true)
        }
        let finished = relay.waitForDone(messages, timeout: 240)
        let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
        kill(pid, SIGCONT)
        #expect(finished)
        #expect(state == "T", "relaywatch was not stopped while the events flowed")
        let screen: String
        do {
            screen = try tmux.wait("the gap said and nothing left in flight", seconds: 30) {
                $0.contains("relay skipped") && $0.contains("in flight 0 ") && $0.contains("bulk@c.test")
            }
        } catch {
            // (Seen once in CI: the first screen still up 30 s after SIGCONT.) Whether relaywatch
            // runs again, and what the relay said, for the next time.
            let after = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
            let relaySaid = (try? String(contentsOfFile: relay.daemon.stderrPath, encoding: .utf8))?.split(separator: "\n").suffix(20).joined(separator: "\n")
            Issue.record("relaywatch's state after SIGCONT: \(after.map(String.init) ?? "gone"); the relay's stderr ends:\n\(relaySaid ?? "")")
            throw error
        }
        #expect(!screen.contains("anomal") || screen.contains("no anomalies"), "\(screen)")
    }

    @Test func readonlyRefusesEveryAction() throws {
        let scratch = try TempDir()
        let (_, relay, id, _) = try deferredMessage(scratch)
        let tmux = try monitor(relay, "--readonly")
        try tmux.wait("connected") { $0.contains("relay: connected") && $0.contains(id) }
        for key in ["r", "h", "u"] {
            // Another status first, so each refusal is seen fresh.
            try tmux.keys("s")
            try tmux.wait("the sort's status") { $0.contains("sorted by") }
            try tmux.keys(key)
            try tmux.wait("\(key) refused") { $0.contains("read-only (--readonly): actions are disabled") }
        }
        #expect(relay.events("retry").isEmpty && relay.events("hold").isEmpty)
    }

    @Test(.enabled(if: getuid() == 0, "switching to a second uid needs root"))
    func anotherUserGetsPermissionDeniedAndTheLog() throws {
        let scratch = try TempDir()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.path)
        let peer = try Peer(in: scratch, ["--greylist"])
        let log = scratch.path + "/delivery.log"
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "backoff = [\"1h\"]\nlog = \"\(log)\"")
        let final = try SMTPClient(port: relay.port).submit(from: "sender@c.test", to: ["x@live.test"]).final ?? ""
        let id = String(final.split(separator: " ").last ?? "")
        let end = Date().addingTimeInterval(20)
        while Date() < end, !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains(#""event":"outcome""#) { usleep(50_000) }
        chmod(log, 0o644)
        // The checkout may not be open to nobody: run a copy of the binary.
        let binary = scratch.path + "/relaywatch"
        try FileManager.default.copyItem(atPath: Built.binary("relaywatch"), toPath: binary)
        let tmux = try TmuxSession(width: 160, height: 40, command: "setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent \(binary) --log \(log) --socket \(relay.controlPath)")
        try tmux.wait("permission denied, and the log shown") { $0.contains("relay: permission denied, log only") && $0.contains(id) }
        try tmux.keys("r")
        try tmux.wait("the action refused") { $0.contains("permission denied by the relay: this view is read-only") }
    }
}
