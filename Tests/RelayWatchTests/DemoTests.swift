import Foundation
import Testing
import TestSupport

/// `relaywatch` with no arguments: the built-in demo relay, as a newcomer meets it.
@Suite(.serialized) struct DemoTests {
    /// relaywatch in tmux with a TMPDIR of its own; `exited()` waits for its exit status.
    struct Launched {
        let scratch: TempDir
        let tmux: TmuxSession
        var tmp: String { scratch.path("tmp") }

        init(_ arguments: String, width: Int, height: Int = 40) throws {
            scratch = try TempDir()
            try FileManager.default.createDirectory(atPath: scratch.path("tmp"), withIntermediateDirectories: true)
            tmux = try TmuxSession(width: width, height: height, command: "env TMPDIR=\(scratch.path("tmp")) \(Built.binary("relaywatch")) \(arguments); echo $? > \(scratch.path("exit")); sleep 60")
        }

        func exited() -> String {
            // Generous: beside the whole suite (the crash test's load among it) quitting is slower.
            // The shell creates the file before it writes the status: wait for the line, not the file.
            let end = Date().addingTimeInterval(60)
            var status = ""
            while Date() < end {
                status = ((try? String(contentsOfFile: scratch.path("exit"), encoding: .utf8)) ?? "")
                if status.hasSuffix("\n") { break }
                usleep(50_000)
            }
            return status.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    @Test func noArgumentsShowsARealRelayAtWorkAndQuitLeavesNothing() throws {
        let run = try Launched("", width: 200)
        let (tmux, tmp) = (run.tmux, run.tmp)
        let started = Date()
        let screen = try tmux.wait("deliveries from the demo relay", seconds: 10) { s in
            s.contains("BUILT-IN DEMO") && s.contains("relay: connected") && delivered(s) > 0
        }
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(screen.contains("relaywatch --log FILE --socket PATH"))
        // While it runs, its files are in TMPDIR; a process of its own holds them.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).contains { $0.hasPrefix("relaywatch-demo.") })

        try tmux.keys("q")
        #expect(run.exited() == "0")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [], "the demo's temporary files are removed")
        #expect(processes(withEnvironment: "TMPDIR=\(tmp)") == [], "no process of the demo is left")
    }

    /// The headline case, as a newcomer first meets it: KB1 is on the screen before any key.
    @Test func theRecordedMiscountShowsItsMessageWithNoKeyPressed() throws {
        let run = try Launched("demo --scenario kb822105", width: 80, height: 24)
        let tmux = run.tmux
        let screen = try tmux.wait("the KB822105 message, flagged") { s in
            s.contains("recorded scenario kb822105") && s.split(separator: "\n").contains { $0.hasPrefix("KB1") && $0.contains("!4") }
        }
        #expect(screen.contains("! 4 anomalies"))
        // Its banner fits 80 columns whole.
        #expect(screen.contains("recorded scenario kb822105 · Enter opens a message · ? keys"))
        // Enter opens it on the three recipients NDR'd though accepted.
        try tmux.keys("Enter")
        try tmux.wait("the flagged recipients") { s in
            ["user98@", "user99@", "user100@"].allSatisfy(s.contains) && s.contains("▸#101–#150")
        }
        try tmux.keys("Escape", "q")
        #expect(run.exited() == "0")
        #expect(try FileManager.default.contentsOfDirectory(atPath: run.tmp) == [])
    }

    /// The live demo leads with what it found: within a minute a message with a finding is listed
    /// and the header counts it, with no key pressed, at 80 columns.
    @Test func theLiveDemoListsAFindingWithinAMinuteWithNoKeyPressed() throws {
        let run = try Launched("", width: 80, height: 24)
        let tmux = run.tmux
        let screen = try tmux.wait("a listed message with a finding", seconds: 60) { s in
            let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
            guard lines.count > 3, lines[0].contains(" anomalies") else { return false }
            return lines.dropFirst(2).dropLast(2).contains { $0.range(of: #" ![0-9]+ "#, options: .regularExpression) != nil }
        }
        #expect(screen.contains("relay: connected"))
        // The banner says what this is, whole, once the start-up notices are gone.
        try tmux.wait("the whole banner", seconds: 15) { $0.contains("BUILT-IN DEMO · a real relay: relaywatch --log FILE --socket PATH") }
        try tmux.keys("q")
        #expect(run.exited() == "0")
        #expect(try FileManager.default.contentsOfDirectory(atPath: run.tmp) == [])
    }

    /// Every anomaly class mailrelayd can really produce, and every outcome, within a minute. The
    /// demo runs as its own process (`demo --no-monitor`), as it does under the monitor.
    @Test func theDemoShowsEverySituationWithinAMinute() throws {
        let scratch = try TempDir()
        let tmp = scratch.path("tmp")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let out = scratch.path("demo.out")
        let pid = try spawnWithCleanSignals([Built.binary("relaywatch"), "demo", "--no-monitor"], environment: ["TMPDIR": tmp]) { actions in
            posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        var killed = false
        defer { if !killed { kill(pid, SIGKILL); var s: Int32 = 0; waitpid(pid, &s, 0) } }
        var logPath: String?
        let ready = Date().addingTimeInterval(20)
        while Date() < ready, logPath == nil {
            usleep(50_000)
            logPath = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n")
                .first { $0.hasPrefix("log ") }.map { String($0.dropFirst(4)) }
        }
        let log = try #require(logPath, "the demo printed no log path")
        let started = Date()
        var rules: Set<String> = []
        var statuses: Set<String> = []
        let wanted: Set<String> = ["delivered", "deferred", "bounced", "expired"]
        while Date().timeIntervalSince(started) < 60 {
            Thread.sleep(forTimeInterval: 2)
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            statuses = Set(text.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["status"] as? String
            })
            rules = Set(try Run.relaywatch(["report", "--json", log]).stdout
                .split(separator: "\"").filter { ["limit-bounced", "peer-limit-below-100"].contains($0) }.map(String.init))
            if rules.count == 2, statuses.isSuperset(of: wanted) { break }
        }
        #expect(rules == ["limit-bounced", "peer-limit-below-100"])
        #expect(statuses.isSuperset(of: wanted), "outcomes seen: \(statuses.sorted())")
        // SIGTERM stops it and removes its files.
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        killed = true
        #expect(status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
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
