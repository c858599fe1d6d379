import Foundation
import Testing
import TestSupport

/// How relaywatch's header reports a control socket that is not a mailrelayd it understands: a server speaking
/// another protocol version, and a socket path with nothing behind it.
@Suite(.serialized) struct ControlLinkTests {
    @Test func aRelaySpeakingAnotherVersionIsNamedNotTrusted() throws {
        let scratch = try TempDir()
        // A stand-in for a future relay: answers hello with protocol 3 whatever it is asked, and counts what else it gets.
        let server = try ScriptedServer(in: scratch, name: "v2", python: """
            import socket, sys, json
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(5)
            print("ready", flush=True)
            while True:
                c, _ = s.accept(); f = c.makefile("rwb")
                for line in f:
                    req = json.loads(line)
                    if req["op"] != "hello": print("unexpected", req["op"], flush=True)
                    f.write(json.dumps({"id": req["id"], "ok": True, "protocol": 3, "relay": "mailrelayd", "version": "9.0"}).encode() + b"\\n"); f.flush()
            """)
        let socket = server.socket
        let tmux = try TmuxSession(width: 160, height: 30, command: "\(Built.binary("relaywatch")) --socket \(socket)")
        try tmux.wait("the mismatch named") { $0.contains("relay: protocol v3 not understood (relaywatch speaks v1 and v2)") }
        try tmux.keys("r")
        try tmux.wait("actions refused") { $0.contains("not connected to the relay") }
        // relaywatch asked nothing but hello of a relay it does not understand.
        #expect(!server.output.contains("unexpected"))
    }

    @Test func noRelayBehindThePathMeansReconnectingWithBackOff() throws {
        let scratch = try TempDir()
        let tmux = try TmuxSession(width: 160, height: 30, command: "\(Built.binary("relaywatch")) --socket \(scratch.path("none.sock"))")
        try tmux.wait("reconnecting, saying why") { $0.contains("relay: reconnecting in") && $0.contains("no socket at") }
        try tmux.keys("q")
    }
}
