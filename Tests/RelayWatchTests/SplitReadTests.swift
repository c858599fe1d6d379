import Foundation
import Testing
import TestSupport
import RelayCore
import RelayScenarios
import RelayWatch

/// A file read in parts on several cores must give what one pass gives: the same findings in the
/// same order, the same counts, the same samples of malformed and unplaced lines.
@Suite struct SplitReadTests {
    /// Everything the report says, text and JSON, with the stderr samples.
    static func everything(_ path: String, parts: Int) throws -> (said: String, builder: ReportBuilder) {
        var b = ReportBuilder(format: .auto)
        b.parts = parts
        try b.read(LogInput(path: path))
        b.finish()
        var said = ReportRenderer.json(b) + ReportRenderer.text(b, inputs: [path])
        for m in b.malformedSamples { said += "\(m.file):\(m.line): \(m.reason)\n" }
        for u in b.unplaced { said += "unplaced \(u.msg ?? "-"): \(u.reason)\n" }
        said += "unplaced \(b.unplacedCount) partial \(b.partialMessages) unknown \(b.unknownEvents)\n"
        return (said, b)
    }

    @Test(arguments: Scenario.all.map(\.name))
    func everyScenarioReadsTheSameInOneTwoAndSevenParts(_ name: String) throws {
        let scenario = try #require(Scenario.all.first { $0.name == name })
        let dir = try TempDir()
        let log = try dir.write("\(name).log", scenario.log)
        let one = try Self.everything(log, parts: 1)
        #expect(one.builder.partsRead == 0)
        for parts in [2, 7] {
            let split = try Self.everything(log, parts: parts)
            #expect(split.builder.partsRead == parts)
            #expect(split.said == one.said, "\(parts) parts")
        }
    }

    /// Generated traffic (150,000 events), each line with where it goes (a fraction of the way
    /// through), and each scenario twice: spread from 0.3 + k/20 to the end (in flight at every
    /// later cut), and a copy queued and finished inside the last part (judged at the merge, when
    /// its sessions are in the first). Sorted by place, the lines make the log.
    static func generatedWithScenarios(seed: UInt64) -> [(Double, String)] {
        var generator = LoadGenerator(seed: seed)
        var bytes: [UInt8] = []
        generator.generate(events: 150_000, into: &bytes) { _ in }
        let generated = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        var placed = generated.enumerated().map { (Double($0.offset) / Double(generated.count), $0.element) }
        for (k, scenario) in Scenario.all.enumerated() {
          for late in [false, true] {
            // Sessions and a peer of its own, so a finding names a peer from its session line.
            let tag = late ? "late-\(k)" : "\(k)"
            var log = scenario.log.replacingOccurrences(of: "\"s1\"", with: "\"s1-\(tag)\"")
                .replacingOccurrences(of: "\"s2\"", with: "\"s2-\(tag)\"")
                .replacingOccurrences(of: "127.0.0.1:2526", with: "10.0.\(late ? 1 : 0).\(k):25")
            if late { log = log.replacingOccurrences(of: "\"msg\":\"", with: "\"msg\":\"late-") }
            let lines = log.split(separator: "\n").map(String.init)
            let from = late ? 0.9 + Double(k) / 120 : 0.3 + Double(k) / 20
            let span = late ? 1.0 / 130 : 1 - from
            for (i, line) in lines.enumerated() {
                // Its sessions open at the log's start, so its transactions (in later parts) take
                // their peers from sessions of an earlier part; the spread copy is queued there
                // too, so those transactions are lines kept for the merge.
                let start = line.contains("\"event\":\"session\"") || (!late && line.contains("\"event\":\"queued\""))
                placed.append((start ? 0.0001 * Double(k + 1) : from + span * Double(i + 1) / Double(lines.count + 1), line))
            }
          }
        }
        return placed
    }

    /// Generated traffic with every scenario's lines spread through it: scenario k from 0.3 + k/20
    /// of the way to the end, its queued event and sessions at the start, so its session line is in one part and its
    /// transactions and end in others, plus
    /// malformed lines, events of a message never queued, and one id queued again in flight.
    @Test func aLargeMixedLogReadsTheSameInOneTwoAndSevenParts() throws {
        var placed = Self.generatedWithScenarios(seed: 42)
        let queuedAgain = "{\"v\":1,\"ts\":\"2026-11-29T08:00:00.000Z\",\"event\":\"queued\",\"msg\":\"AGAIN\",\"from\":\"a@example.org\",\"rcpts\":[\"b@example.net\"],\"size\":1}"
        placed += [(0.0001, queuedAgain), (0.3, "this is not JSON"),
                   (0.6, "{\"v\":1,\"ts\":\"2026-11-29T08:00:00.000Z\",\"event\":\"reply\",\"msg\":\"NEVER\",\"txn\":\"t9\",\"cmd\":\"RCPT\",\"index\":0,\"rcpt\":\"x@example.net\",\"code\":550,\"text\":\"no\"}"),
                   // Queued at the start and again early, in flight in between: no cut follows it
                   // (with 7 parts, the second is read again; 2 parts have no cut there).
                   (0.2, queuedAgain.replacingOccurrences(of: "b@example.net", with: "c@example.net")),
                   (0.97, "{\"v\":1,\"event\":\"done\"}")]
        let lines = placed.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        let dir = try TempDir()
        let log = try dir.write("mixed.log", lines.joined(separator: "\n") + "\n")

        let one = try Self.everything(log, parts: 1)
        #expect(one.builder.anomalyCount >= 20)
        #expect(one.builder.malformed == 2)
        #expect(one.builder.unplacedCount > 0)
        for parts in [2, 7] {
            let split = try Self.everything(log, parts: parts)
            #expect(split.builder.partsRead == parts)
            // The part with AGAIN's second `queued` was read again; the others were merged.
            #expect(split.builder.partsReadAgain == (parts == 7 ? 1 : 0))
            #expect(split.said == one.said, "\(parts) parts")
        }
    }

    /// A transaction names its session's peer only while that session is among the last
    /// `DeliveryStore.sessionWindow` of the log (the store cannot keep every session of a long
    /// log), and the same on every split.
    @Test(arguments: [DeliveryStore.sessionWindow - 1, DeliveryStore.sessionWindow])
    func aSessionTooFarBackNamesNoPeerOnEverySplit(_ between: Int) throws {
        let lines = Scenario.peerLimit20.log.split(separator: "\n").map(String.init)
        let session = try #require(lines.first { $0.contains("\"event\":\"session\"") })
        var log = session + "\n"
        for i in 0..<between {
            log += "{\"v\":1,\"ts\":\"2026-11-29T08:00:00.000000Z\",\"event\":\"session\",\"session\":\"filler\(i)\",\"peer\":\"192.0.2.1:25\",\"ehlo\":[]}\n"
        }
        log += lines.filter { $0 != session }.joined(separator: "\n") + "\n"
        let dir = try TempDir()
        let path = try dir.write("window.log", log)
        let one = try Self.everything(path, parts: 1)
        let named = between < DeliveryStore.sessionWindow
        #expect(one.said.contains(named ? "peer 127.0.0.1:2526 refused RCPT #21" : "the peer refused RCPT #21"))
        for parts in [2, 7] {
            #expect(try Self.everything(path, parts: parts).said == one.said, "\(parts) parts")
        }
    }
}
