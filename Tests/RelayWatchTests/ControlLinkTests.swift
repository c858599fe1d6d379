import Foundation
import Testing
import TestSupport

/// How relaywatch's header reports a control socket that is not a v1 mailrelayd: a server speaking
/// another protocol version, and a socket path with nothing behind it.
@Suite(.serialized) struct ControlLinkTests {
    @Test func aRelaySpeakingAnotherVersionIsNamedNotTrusted() throws {
        let scratch = try TempDir()
        let socket = scratch.path("v2.sock")
        // A stand-in for a future relay: answers hello with protocol 2, and counts what else it gets.
        let server = """
            import socket, sys, json
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(5)
            print("ready", flush=True)
            while True:
                c, _ = s.accept(); f = c.makefile("rwb")
                for line in f:
                    req = json.loads(line)
                    if req["op"] != "hello": print("unexpected", req["op"], flush=True)
                    f.write(json.dumps({"id": req["id"], "ok": True, "protocol": 2, "relay": "mailrelayd", "version": "9.0"}).encode() + b"\\n"); f.flush()
            """
        let script = try scratch.write("v2.py", server)
        let out = scratch.path("v2.out")
        let pid = try spawnWithCleanSignals(["/usr/bin/python3", script, socket]) { actions in
            posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        defer { kill(pid, SIGKILL); var s: Int32 = 0; waitpid(pid, &s, 0) }
        let end = Date().addingTimeInterval(10)
        while Date() < end, !((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("ready") { usleep(20_000) }

        let tmux = try TmuxSession(width: 160, height: 30, command: "\(Built.binary("relaywatch")) --socket \(socket)")
        try tmux.wait("the mismatch named") { $0.contains("relay: protocol v2 not understood (relaywatch speaks v1)") }
        try tmux.keys("r")
        try tmux.wait("actions refused") { $0.contains("not connected to the relay") }
        // relaywatch asked nothing but hello of a relay it does not understand.
        #expect(!((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("unexpected"))
    }

    @Test func noRelayBehindThePathMeansReconnectingWithBackOff() throws {
        let scratch = try TempDir()
        let tmux = try TmuxSession(width: 160, height: 30, command: "\(Built.binary("relaywatch")) --socket \(scratch.path("none.sock"))")
        try tmux.wait("reconnecting, saying why") { $0.contains("relay: reconnecting in") && $0.contains("no socket at") }
        try tmux.keys("q")
    }
}
