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

    /// Generated traffic with every scenario's lines spread through it: scenario k from k/20 of
    /// the way to the end, so its session line is in one part and its end in another, plus
    /// malformed lines, events of a message never queued, and one id queued again in flight.
    @Test func aLargeMixedLogReadsTheSameInOneTwoAndSevenParts() throws {
        var generator = LoadGenerator(seed: 42)
        var bytes: [UInt8] = []
        generator.generate(events: 150_000, into: &bytes) { _ in }
        let generated = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        // Each line with where it goes (a fraction of the way through), then sorted by it.
        var placed = generated.enumerated().map { (Double($0.offset) / Double(generated.count), $0.element) }
        for (k, scenario) in Scenario.all.enumerated() {
            // Sessions and a peer of its own, so a finding names a peer from its session line.
            let lines = scenario.log.replacingOccurrences(of: "\"s1\"", with: "\"s1-\(k)\"")
                .replacingOccurrences(of: "127.0.0.1:2526", with: "10.0.0.\(k):25")
                .split(separator: "\n").map(String.init)
            let from = Double(k) / 20
            for (i, line) in lines.enumerated() {
                placed.append((from + (1 - from) * Double(i + 1) / Double(lines.count + 1), line))
            }
        }
        let queuedAgain = "{\"v\":1,\"ts\":\"2026-11-29T08:00:00.000Z\",\"event\":\"queued\",\"msg\":\"AGAIN\",\"from\":\"a@example.org\",\"rcpts\":[\"b@example.net\"],\"size\":1}"
        placed += [(0.0001, queuedAgain), (0.3, "this is not JSON"),
                   (0.6, "{\"v\":1,\"ts\":\"2026-11-29T08:00:00.000Z\",\"event\":\"reply\",\"msg\":\"NEVER\",\"txn\":\"t9\",\"cmd\":\"RCPT\",\"index\":0,\"rcpt\":\"x@example.net\",\"code\":550,\"text\":\"no\"}"),
                   // Queued at the start and again near the end, in flight in between: no cut follows it.
                   (0.95, queuedAgain.replacingOccurrences(of: "b@example.net", with: "c@example.net")),
                   (0.97, "{\"v\":1,\"event\":\"done\"}")]
        let lines = placed.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        let dir = try TempDir()
        let log = try dir.write("mixed.log", lines.joined(separator: "\n") + "\n")

        let one = try Self.everything(log, parts: 1)
        #expect(one.builder.anomalyCount >= 10)
        #expect(one.builder.malformed == 2)
        #expect(one.builder.unplacedCount > 0)
        for parts in [2, 7] {
            let split = try Self.everything(log, parts: parts)
            #expect(split.builder.partsRead == parts)
            // The part with AGAIN's second `queued` was read again; the others were merged.
            #expect(split.builder.partsReadAgain == 1)
            #expect(split.said == one.said, "\(parts) parts")
        }
    }
}
