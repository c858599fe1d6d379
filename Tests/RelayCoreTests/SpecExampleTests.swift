import Foundation
import Testing
import RelayCore

/// The DocC spec's examples are the format: every example line must decode, every event kind must
/// have one, and re-encoding must give the same bytes (the writer's canonical form).
@Suite struct SpecExampleTests {
    static var exampleLines: [String] {
        let spec = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/RelayCore/RelayCore.docc/DeliveryLog.md")
        let text = (try? String(contentsOf: spec, encoding: .utf8)) ?? ""
        var lines: [String] = []
        var inJSON = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```json") { inJSON = true; continue }
            if line.hasPrefix("```") { inJSON = false; continue }
            if inJSON { lines.append(String(line)) }
        }
        return lines
    }

    @Test func everyExampleDecodesAndEveryEventHasOne() {
        let lines = Self.exampleLines
        #expect(lines.count >= 14)
        var names = Set<String>()
        for line in lines {
            guard case .event(let e) = LogDecoder.decode(line) else {
                Issue.record("spec example does not decode: \(line)")
                continue
            }
            names.insert(e.name)
            #expect(LogEncoder.line(e) == line + "\n", "not in the writer's canonical form: \(line)")
        }
        #expect(names == ["queued", "session", "txn", "reply", "tally", "outcome", "ndr", "retry", "hold", "release", "done"])
    }
}
