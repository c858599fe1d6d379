import Foundation
import RelayCore
import RelayScenarios
@testable import RelayWatch
import Testing
import TestSupport

/// The monitor loads a large log's later parts on other cores (MonitorPart) and must show what
/// it shows after reading the log in one pass: the same screen, counts, findings kept, messages
/// in flight and latest history.
@Suite struct MonitorPartsLoadTests {
    /// What the admin sees and what the model holds once the whole log is in.
    static func load(_ log: String, jobs: Int) throws -> (screen: String, model: String, runtime: MonitorRuntime) {
        let terminal = TestTerminal(width: 160, height: 50)
        var options = MonitorOptions(logPath: log)
        options.catchSignals = false
        options.themeFolders = [Built.root + "/Themes"]
        options.jobs = jobs
        options.keepFinished = 400
        let runtime = MonitorRuntime(options: options, terminal: terminal)
        let size = (try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        let end = Date().addingTimeInterval(60)
        while Date() < end {
            runtime.step()
            let s = runtime.monitor.source
            if s.bytesRead >= size, !s.catchingUp { break }
        }
        // A frame of the settled state (the last one may be from before the last batch).
        terminal.draw(Render.frame(runtime.monitor))
        let m = runtime.monitor
        var model = "events \(m.source.events) malformed \(m.source.malformed) unplaced \(m.source.unplaced)\n"
        model += "last malformed \(m.source.lastMalformed ?? "-")\n"
        let flagged = m.summaries.values.filter(\.flagged).map { "\($0.id) \($0.anomalies.map(\.rule))" }.sorted()
        model += "flagged \(flagged.count): \(flagged.joined(separator: ", "))\n"
        let inFlight = m.summaries.values.filter { !$0.done }.map { "\($0.id) \($0.statuses.count) \($0.pending)" }.sorted()
        model += "in flight \(inFlight.count): \(inFlight.joined(separator: ", "))\n"
        let order = Set(m.finishedOrder)
        let stray = m.summaries.values.filter { $0.done && !order.contains($0.id) }.map(\.id).sorted()
        // Every finished message held is in the history, so it ages out in its turn.
        model += "finished outside the history: \(stray)\n"
        // (The history is trimmed a quarter at a time, so how many older ones are still held
        // depends on where the trims fell, in one pass too.)
        model += "latest finished: \(m.finishedOrder.suffix(300).joined(separator: " "))\n"
        return (terminal.text, model, runtime)
    }

    /// The screen without what moves with the clock or with where history trims fell: the rate
    /// sparkline and the delivered count of the messages held, in the header.
    static func steady(_ screen: String) -> String {
        screen.replacingOccurrences(of: "[▁▂▃▄▅▆▇█ ]+in flight", with: " in flight", options: .regularExpression)
            .replacingOccurrences(of: "  D [0-9,]+  ", with: "  D …  ", options: .regularExpression)
    }

    /// Generated traffic, every scenario spread from 0.3 + k/20 to the end with its sessions at
    /// the start (in flight at later cuts, peers named by sessions of the first part), malformed
    /// lines, and one id queued again while in flight (the follower reads that part itself).
    @Test func aLargeLogLoadedOnSeveralCoresShowsWhatOnePassShows() throws {
        var placed = SplitReadTests.generatedWithScenarios(seed: 5)
        // Queued in the last part and still in flight at the end.
        placed.append((0.95, "{\"v\":1,\"ts\":\"2026-11-29T08:00:00.000Z\",\"event\":\"queued\",\"msg\":\"LATEQ\",\"from\":\"a@example.org\",\"rcpts\":[\"b@example.net\"],\"size\":1}"))
        let again = "{\"v\":1,\"ts\":\"2026-11-29T08:00:00.000Z\",\"event\":\"queued\",\"msg\":\"AGAIN\",\"from\":\"a@example.org\",\"rcpts\":[\"b@example.net\"],\"size\":1}"
        placed += [(0.0001, again), (0.2, "this is not JSON"), (0.25, again.replacingOccurrences(of: "b@example.net", with: "c@example.net")),
                   (0.8, "nor is this")]
        let lines = placed.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        let dir = try TempDir()
        let log = try dir.write("big.log", lines.joined(separator: "\n") + "\n")

        let one = try Self.load(log, jobs: 1)
        #expect(one.runtime.partsMerged == 0)
        #expect(one.model.contains("malformed 2 "))
        #expect(one.model.contains("last malformed line \(lines.firstIndex(of: "nor is this")! + 1): "))
        // Every scenario with a finding keeps it on screen (the history keeps findings).
        #expect(!one.model.contains("flagged 0:"))
        #expect(one.model.contains("late-KB1 "))
        #expect(one.model.contains("LATEQ 1 1"))
        let split = try Self.load(log, jobs: 7)
        // Seven parts: the one where AGAIN is queued again is read by the follower.
        #expect(split.runtime.partsMerged == 5)
        #expect(split.runtime.partsReadHere == 1)
        #expect(split.model == one.model)
        #expect(Self.steady(split.screen) == Self.steady(one.screen))
        #expect(split.screen.split(separator: "\n").count > 20)
    }
}
