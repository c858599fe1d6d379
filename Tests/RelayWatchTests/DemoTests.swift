import Foundation
import RelayDemo
import Testing
import TestSupport

/// `relaywatch` with no arguments: the built-in demo relay, as a newcomer meets it.
@Suite(.serialized) struct DemoTests {
    @Test func noArgumentsShowsARealRelayAtWorkAndQuitLeavesNothing() throws {
        let scratch = try TempDir()
        let tmp = scratch.path("tmp")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let exitFile = scratch.path("exit")
        let tmux = try TmuxSession(width: 200, height: 40,
                                   command: "env TMPDIR=\(tmp) \(Built.binary("relaywatch")); echo $? > \(exitFile); sleep 60")
        let started = Date()
        let screen = try tmux.wait("deliveries from the demo relay", seconds: 10) { s in
            s.contains("BUILT-IN DEMO") && s.contains("relay: connected") && delivered(s) > 0
        }
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(screen.contains("relaywatch --log FILE --socket PATH"))
        // While it runs, its files are in TMPDIR; a process of its own holds them.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).contains { $0.hasPrefix("relaywatch-demo.") })

        try tmux.keys("q")
        let end = Date().addingTimeInterval(20)
        while Date() < end, !FileManager.default.fileExists(atPath: exitFile) { usleep(50_000) }
        #expect(((try? String(contentsOfFile: exitFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [], "the demo's temporary files are removed")
        #expect(processes(withEnvironment: "TMPDIR=\(tmp)") == [], "no process of the demo is left")
    }

    @Test func theRecordedMiscountOpensFromTheDemoCommand() throws {
        let scratch = try TempDir()
        let tmp = scratch.path("tmp")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let exitFile = scratch.path("exit")
        let tmux = try TmuxSession(width: 160, height: 40,
                                   command: "env TMPDIR=\(tmp) \(Built.binary("relaywatch")) demo --scenario kb822105; echo $? > \(exitFile); sleep 60")
        try tmux.wait("the scenario with its findings") { $0.contains("recorded scenario kb822105") && $0.contains("4 anomalies") }
        try tmux.keys("f")
        try tmux.wait("the KB822105 message") { $0.contains("KB1") && $0.contains("!4") }
        try tmux.keys("q")
        let end = Date().addingTimeInterval(10)
        while Date() < end, !FileManager.default.fileExists(atPath: exitFile) { usleep(50_000) }
        #expect(((try? String(contentsOfFile: exitFile, encoding: .utf8)) ?? "").hasPrefix("0"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
    }

    /// Every anomaly class mailrelayd can really produce, and every outcome, within a minute.
    @Test func theDemoShowsEverySituationWithinAMinute() async throws {
        let demo = try await DemoRelay.start()
        var rules: Set<String> = []
        var statuses: Set<String> = []
        let end = Date().addingTimeInterval(70)
        let wanted: Set<String> = ["delivered", "deferred", "bounced", "expired"]
        while Date() < end {
            try await Task.sleep(for: .seconds(2))
            let log = (try? String(contentsOfFile: demo.logPath, encoding: .utf8)) ?? ""
            statuses = Set(log.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["status"] as? String
            })
            rules = Set(try Run.relaywatch(["report", "--json", demo.logPath]).stdout
                .split(separator: "\"").filter { ["limit-bounced", "peer-limit-below-100"].contains($0) }.map(String.init))
            if rules.count == 2, statuses.isSuperset(of: wanted) { break }
        }
        let directory = demo.directory
        await demo.stop()
        #expect(rules == ["limit-bounced", "peer-limit-below-100"])
        #expect(statuses.isSuperset(of: wanted), "outcomes seen: \(statuses.sorted())")
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}

/// The D count in the header.
private func delivered(_ screen: String) -> Int {
    guard let header = screen.split(separator: "\n").first, let r = header.range(of: #" D [0-9,]+ "#, options: .regularExpression) else { return 0 }
    return Int(header[r].dropFirst(3).dropLast().replacingOccurrences(of: ",", with: "")) ?? 0
}

/// Command names of processes whose environment has `entry`.
private func processes(withEnvironment entry: String) -> [String] {
    let me = getpid()
    var found: [String] = []
    for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let n = Int32(pid), n != me,
              let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
        if env.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == entry }) {
            found.append((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? pid)
        }
    }
    return found
}
