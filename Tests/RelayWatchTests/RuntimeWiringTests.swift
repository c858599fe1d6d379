import Foundation
import RelayCore
import RelayScenarios
@testable import RelayWatch
import Testing
import RelayPeers
import TestSupport

/// The monitor's runtime wired to real inputs (a log file, a running mailrelayd's control socket,
/// keys) on a test terminal: everything `relaywatch` does but the curses calls, checked on the
/// frames it draws.
@Suite(.serialized) struct RuntimeWiringTests {
    /// Steps the runtime until the drawn screen satisfies `condition`.
    @discardableResult
    static func until(_ runtime: MonitorRuntime, _ terminal: TestTerminal, _ what: String, seconds: Double = 15,
                      _ condition: (String) -> Bool) throws -> String {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            runtime.step()
            if condition(terminal.text) { return terminal.text }
        }
        throw TmuxTimeout(description: "timed out waiting for \(what); the screen was:\n\(terminal.text)")
    }

    static func runtime(log: String?, socket: String?, source: RelaySource? = nil, width: Int = 160, height: Int = 50) -> (MonitorRuntime, TestTerminal) {
        let terminal = TestTerminal(width: width, height: height)
        var options = MonitorOptions(logPath: log, socketPath: socket)
        options.catchSignals = false
        options.themeFolders = [Built.root + "/Themes"]
        return (MonitorRuntime(options: options, terminal: terminal, source: source), terminal)
    }

    @Test func aLogFollowedLiveShowsItsFindingsWithNoKeyPressed() throws {
        let scratch = try TempDir()
        let log = try scratch.write("relay.log", "")
        let (runtime, terminal) = Self.runtime(log: log, socket: nil, width: 80, height: 24)
        try Self.until(runtime, terminal, "the empty log") { $0.contains("no delivery events yet") }
        // The relay writes a clean message, then the KB822105 one, then thirty more clean ones.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((Screen.clean("C0", minute: 1) + Scenario.kb822105.log).utf8))
        try handle.write(contentsOf: Data((1...30).map { Screen.clean("C\($0)", minute: 10 + $0) }.joined().utf8))
        try handle.close()
        let screen = try Self.until(runtime, terminal, "KB1 listed first") { s in
            s.split(separator: "\n").dropFirst(2).first?.hasPrefix("KB1") == true && s.contains("C30")
        }
        #expect(screen.contains("! 4 anomalies"))
        #expect(!screen.contains("C0 "), "an old clean message gives way")
        // Enter opens it on the first flagged recipient.
        terminal.type(.enter)
        try Self.until(runtime, terminal, "the message view") { $0.contains("user98@example.net") && $0.contains("▸#101–#150") }
        terminal.type(.escape, .char("q"))
        while runtime.step() {}
        #expect(runtime.finished)
    }

    /// A relay with one 30-recipient message the peer greylisted (so it waits an hour), and the
    /// peer then stops at 20 per transaction with 552 5.5.3.
    static func deferredMessage(_ scratch: TempDir) throws -> (Peer, RelayUnderTest, String) {
        let peer = try Peer(in: scratch, ["--greylist", "--limit", "20", "--too-many", "552 5.5.3 Too many recipients"])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "backoff = [\"1h\"]")
        let rcpts = (1...30).map { "user\($0)@live.test" }
        let final = try SMTPClient(port: relay.port).submit(from: "sender@c.test", to: rcpts).final ?? ""
        #expect(relay.waitForEvents("outcome", 30))
        return (peer, relay, String(final.split(separator: " ").last ?? ""))
    }

    @Test func logPlusSocketPlusKeys() throws {
        let scratch = try TempDir()
        let (peer, relay, id) = try Self.deferredMessage(scratch)
        let (runtime, terminal) = Self.runtime(log: relay.logPath, socket: relay.controlPath)
        try Self.until(runtime, terminal, "the relay connected and the message listed") { $0.contains("relay: connected") && $0.contains(id) }

        terminal.type(.enter)
        try Self.until(runtime, terminal, "the relay's view of the message") { $0.contains("relay: in ") && $0.contains("30 waiting") }
        terminal.type(.char("h"))
        try Self.until(runtime, terminal, "held") { $0.contains("relay: \(id) held") && $0.contains("relay: held") }
        terminal.type(.char("u"))
        try Self.until(runtime, terminal, "released") { $0.contains("relay: \(id) released") }
        #expect(relay.events("hold").count == 1 && relay.events("release").count == 1)

        // r asks first, with the relay's own count; y sends it; the 552 limit splits the 30.
        terminal.type(.char("r"))
        try Self.until(runtime, terminal, "the confirmation") { $0.contains("Retry 30 recipients of \(id) now? y/n") }
        terminal.type(.char("y"))
        let screen = try Self.until(runtime, terminal, "every recipient delivered", seconds: 20) { $0.contains("relay: 30 delivered") }
        #expect(screen.contains("relay: retrying 30 recipients of \(id)"))
        #expect(relay.waitForDone(1))
        #expect(Set(peer.deliveries.flatMap(\.rcpts)).count == 30)
        #expect(relay.events("retry").map { $0["source"] as? String } == ["control"])

        // The relay goes away and comes back: the view says so, keeps answering keys, reconnects.
        relay.daemon.kill9()
        try Self.until(runtime, terminal, "reconnecting") { $0.contains("relay: reconnecting in") }
        terminal.type(.escape)
        try Self.until(runtime, terminal, "the list still answers keys") { $0.contains("QUEUE ID") }
        try relay.start()
        try Self.until(runtime, terminal, "reconnected by itself", seconds: 25) { $0.contains("relay: connected") }
    }

    @Test func theSocketAloneGivesTheQueueAndPushedEvents() throws {
        let scratch = try TempDir()
        let (_, relay, id) = try Self.deferredMessage(scratch)
        let (runtime, terminal) = Self.runtime(log: nil, socket: relay.controlPath)
        try Self.until(runtime, terminal, "the queued message from the snapshot") { $0.contains("relay: connected") && $0.contains(id) && $0.contains("in 59m") }
        let final = try SMTPClient(port: relay.port).submit(from: "late@c.test", to: ["late@live.test"]).final ?? ""
        let second = String(final.split(separator: " ").last ?? "")
        try Self.until(runtime, terminal, "the pushed events of a new message") { $0.contains(second) && $0.contains("late@c.test") && $0.contains("0/1/0/0") }
    }

    /// The start of a scripted relay (Python): listens on the socket path it is given, takes one
    /// client and answers its hello as mailrelayd speaking `protocol`; `c` and `f` are then the
    /// connection and its file.
    static func answeringHello(protocol version: Int) -> String {
        """
        import socket, sys, json
        s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(5)
        print("ready", flush=True)
        c, _ = s.accept(); f = c.makefile("rwb")
        req = json.loads(f.readline())
        f.write(json.dumps({"id": req["id"], "ok": True, "protocol": \(version), "relay": "mailrelayd", "version": "0.1"}).encode() + b"\\n"); f.flush()

        """
    }

    @Test func aRelaySendingALineWithoutEndIsCutOff() throws {
        let scratch = try TempDir()
        // Answers hello as a v1 relay, then sends bytes without a newline, forever.
        let server = try ScriptedServer(in: scratch, name: "endless", python: Self.answeringHello(protocol: 1) + """
            try:
                while True: c.sendall(b"x" * 65536)
            except OSError:
                print("cut off", flush=True)
            """)
        let socket = server.socket
        let client = ControlClient(path: socket, subscribe: true, maxLineLength: 1 << 20)
        let (runtime, terminal) = Self.runtime(log: nil, socket: nil, source: client)
        let screen = try Self.until(runtime, terminal, "the cut-off said") { $0.contains("line longer than 1 MiB; connection cut") }
        #expect(screen.contains("relay: reconnecting in"))
        // The relay sees its connection closed; the view goes on answering keys.
        let closed = Date().addingTimeInterval(10)
        while Date() < closed, !server.output.contains("cut off") { runtime.step() }
        #expect(server.output.contains("cut off"))
        terminal.type(.char("?"))
        try Self.until(runtime, terminal, "the help") { $0.contains("relaywatch keys") }
    }

    /// The view says "connected" once the relay answers hello, and the subscribe it sends then
    /// must leave in that same poll: held for the next turn (up to a tenth of a second when idle,
    /// longer under load), the relay pushed nothing meanwhile while the screen said connected, and
    /// a view stopped in that window missed every event without being told (seen in CI).
    @Test func theSubscribeLeavesWithTheHelloAnswer() throws {
        let scratch = try TempDir()
        // Answers hello, then reports each request it reads, without answering any.
        let server = try ScriptedServer(in: scratch, name: "hello", python: Self.answeringHello(protocol: 2) + """
            while True:
                line = f.readline()
                if not line: break
                print("request " + json.loads(line)["op"], flush=True)
            """)
        let client = ControlClient(path: server.socket, subscribe: true, maxLineLength: 1 << 20)
        let deadline = Date().addingTimeInterval(10)
        var now = 0.0
        while !client.isConnected, Date() < deadline {
            _ = client.poll(now: now)
            now += 0.01
            usleep(5_000)
        }
        #expect(client.isConnected)
        // No further poll: what the hello's answer queued must be at the relay already.
        let sent = Date().addingTimeInterval(3)
        while Date() < sent, !server.output.contains("request subscribe") { usleep(20_000) }
        #expect(server.output.contains("request subscribe"), "the relay got: \(server.output)")
    }

    @Test func aTerminationSignalQuitsLikeQ() {
        var m = Monitor()
        #expect(m.update(.terminate) == [.quit])
    }

    @Test func theThemeKeyLoadsTheNextTheme() throws {
        let scratch = try TempDir()
        let log = try scratch.write("relay.log", Scenario.kb822105.log)
        let (runtime, terminal) = Self.runtime(log: log, socket: nil)
        try Self.until(runtime, terminal, "the list") { $0.contains("KB1") }
        let first = terminal.theme?.name
        terminal.type(.char("t"))
        try Self.until(runtime, terminal, "the theme said") { $0.contains("theme ") }
        #expect(terminal.theme?.name != first)
        #expect(terminal.theme?.name == runtime.monitor.themeName)
    }
}
