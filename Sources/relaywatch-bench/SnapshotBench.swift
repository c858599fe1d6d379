import ArgumentParser
import Foundation
import RelayCore
import RelaySockets
#if canImport(Glibc)
import Glibc
#endif

/// What a client watching a big queue costs the relay: mailrelayd with `--queued` messages waiting
/// (their next hop refuses connections, the back-off is an hour), then the control socket's full
/// `snapshot` against v2's `snapshot since` a version a couple of seconds old, as relaywatch asks
/// every 2 s. Prints bytes and milliseconds of each, best of `--runs`.
struct SnapshotBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Full control-socket snapshots against v2 deltas on a queue of many messages.")

    @Option(help: "Messages waiting in the queue.") var queued = 20_000
    @Option(help: "Recipients per message.") var recipients = 5
    @Option(help: "Messages that change between two snapshots.") var changing = 20
    @Option(help: "Runs of each, best kept.") var runs = 5

    func run() throws {
        let dir = try freshDirectory("snapshotbench-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A next hop nobody listens on: every message is deferred for an hour after its first try.
        let (pid, port) = try launchMailrelayd(dir: dir, config: """
            listen = "127.0.0.1:0"
            spool = "\(dir)/spool"
            max_connections = 1000
            backoff = ["1h"]
            [default_route]
            next_hop = "127.0.0.1:\(LoopbackPort.unused())"
            """)
        defer { kill(pid, SIGTERM); var s: Int32 = 0; waitpid(pid, &s, 0) }
        print("queueing \(queued) messages of \(recipients) recipients ...")
        _ = submitJob(port: port, messages: queued, recipients: recipients, clients: 8, tag: "q")
        let control = LineSocket(fd: try UnixSocket.connect(dir + "/spool/control.sock").get())
        _ = control.call(#"{"id":0,"op":"hello","protocol":2}"#)
        var full = (bytes: 0, seconds: Double.infinity, messages: 0)
        var delta = full
        for run in 0..<runs {
            let t0 = Date()
            let line = control.call(#"{"id":1,"op":"snapshot"}"#)
            let t = Date().timeIntervalSince(t0)
            let answer = parse(line)
            if t < full.seconds { full = (line.count, t, (answer["messages"] as? [Any])?.count ?? 0) }
            let version = answer["queue_version"] as? Int ?? 0
            // A few messages change, as between two of relaywatch's snapshots: a hold each.
            for k in 0..<changing {
                let id = ((answer["messages"] as? [[String: Any]]) ?? [])[(run * changing + k) % max(1, full.messages)]["id"] as? String ?? ""
                _ = control.call(#"{"id":2,"op":"hold","msg":"\#(id)"}"#)
            }
            let d0 = Date()
            let changed = control.call(#"{"id":3,"op":"snapshot","since":\#(version)}"#)
            let dt = Date().timeIntervalSince(d0)
            if dt < delta.seconds { delta = (changed.count, dt, (parse(changed)["messages"] as? [Any])?.count ?? 0) }
        }
        print(String(format: "full snapshot:  %8d messages  %11d bytes  %8.1f ms", full.messages, full.bytes, full.seconds * 1000))
        print(String(format: "v2 since:       %8d messages  %11d bytes  %8.1f ms", delta.messages, delta.bytes, delta.seconds * 1000))
        print(String(format: "every 2 s: %.1f MB/s and %.0f%% of a core for full snapshots; %.3f MB/s and %.1f%% for deltas",
                     Double(full.bytes) / 2 / 1e6, full.seconds / 2 * 100, Double(delta.bytes) / 2 / 1e6, delta.seconds / 2 * 100))
    }

    func parse(_ line: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] ?? [:]
    }
}

extension LineSocket {
    /// One request line, and the answer's line.
    func call(_ request: String) -> [UInt8] {
        send(Array((request + "\n").utf8))
        return readLine().map(Array.init) ?? []
    }
}
