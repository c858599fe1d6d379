import Testing
import RelayCore
import RelayScenarios
import RelayWatch

/// The benchmark's generator models a correct relay (limits answered by sending again, greylisting
/// retried, unknown users bounced with their own reply quoted). A report over its traffic must find
/// nothing: every finding there would be a false alarm.
@Suite struct GeneratedTrafficTests {
    @Test func aCorrectRelaysTrafficHasNoAnomaly() {
        var generator = LoadGenerator(seed: 7)
        var bytes: [UInt8] = []
        var chunks: [[UInt8]] = []
        generator.generate(events: 60_000, into: &bytes) { buffer in
            chunks.append(buffer)
            buffer.removeAll()
        }
        var report = ReportBuilder()
        var splitter = LineSplitter()
        for chunk in chunks {
            chunk.withUnsafeBytes { raw in
                splitter.feed(raw) { n, line, overlong in report.line("generated", n, line, overlong: overlong) }
            }
        }
        report.finish()
        #expect(report.events == generator.stats.events)
        #expect(report.messages == generator.stats.messages)
        #expect(report.recipients == generator.stats.recipients)
        #expect(report.malformed == 0)
        let found = report.findings.flatMap(\.anomalies).prefix(3).map { "\($0.rule.rawValue): \($0.detail)" }
        #expect(report.anomalyCount == 0, "\(found)")
        // And it did exercise the paths that matter: too-many replies, refusals, NDRs.
        #expect(generator.stats.failedReplies > 1_000)
    }
}
