import Foundation
import Testing
import TestSupport

/// The monitor kept open on a busy relay, as `Tests/run-hardening` runs it for its figures (there
/// with 10,000 messages and a release build): `relaywatch-bench monitor-load` starts mailrelayd,
/// whose log rotates about every second, and two relaywatch in tmux, one on the log and one on
/// the socket alone, while messages of 100 recipients flow through a peer that takes 50 a
/// transaction. What the user must be able to trust afterwards: every event in the log files was
/// read across the rotations, the socket view read or was told about every event, neither shows
/// a message in flight once the queue is empty, and finished messages left memory past --keep.
@Suite(.serialized) struct MonitorLoadTests {
    @Test func twoMonitorsOnABusyRelayAccountForEveryEvent() throws {
        let scratch = try TempDir()
        let figures = scratch.path("figures")
        // Started the way a shell would (signals unblocked, their defaults): the test runner's
        // own mask would reach mailrelayd and tmux through the bench, and Foundation's Process
        // does not always see a child exit.
        let argv = [Built.binary("relaywatch-bench"), "monitor-load", "--messages", "400", "--keep", "100",
                    "--rotate-size", "2M", "--figures", figures]
        let outPath = scratch.path("out")
        let pid = try spawnWithCleanSignals(argv) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(out)")
        let text = try String(contentsOfFile: figures, encoding: .utf8)
        var f: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { f[kv[0]] = kv[1] }
        }
        print(out)
        #expect(Int(f["load.log_events"] ?? "") ?? 0 > 40_000, "\(out)")
        #expect(Int(f["load.rotations"] ?? "") ?? 0 >= 5, "the log must rotate under the monitor: \(out)")
        #expect(f["load.unaccounted_log"] == "0", "\(out)")
        #expect(f["load.unaccounted_socket"] == "0", "\(out)")
        #expect(f["load.in_flight_log"] == "0" && f["load.in_flight_socket"] == "0", "\(out)")
        #expect(f["load.log_monitor_finished"] == "400", "\(out)")
        #expect(Int(f["load.log_monitor_aged_out"] ?? "") ?? 0 >= 250, "finished messages past --keep 100 must leave memory: \(out)")
    }
}
