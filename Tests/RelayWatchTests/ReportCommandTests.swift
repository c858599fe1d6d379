import Foundation
import Testing
import TestSupport
import RelayScenarios

/// `relaywatch report` as a user runs it: real binary, real files, real gzip, real stdin.
@Suite struct ReportCommandTests {
    @Test func cleanLogExitsZero() throws {
        let dir = try TempDir()
        let log = try dir.write("ok.log", Scenario.correctResend.log)
        let run = try Run.relaywatch(["report", log])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("no anomalies"))
        #expect(run.stdout.contains("messages 1   recipients 150"))
    }

    @Test func kb822105ExitsOneAndExplains() throws {
        let dir = try TempDir()
        let log = try dir.write("kb.log", Scenario.kb822105.log)
        let run = try Run.relaywatch(["report", log])
        #expect(run.status == 1)
        #expect(run.stdout.contains("message KB1  from <sender@example.org>  150 recipients"))
        #expect(run.stdout.contains("MISCOUNT  ndr-count-mismatch"))
        #expect(run.stdout.contains("relay NDR'd 53, including #98–#100 which were accepted"))
        #expect(run.stdout.contains("DEVIATION limit-bounced"))
    }

    @Test func jsonHasTheFixedShape() throws {
        let dir = try TempDir()
        let log = try dir.write("kb.log", Scenario.kb822105.log + Scenario.correctResend.log)
        let run = try Run.relaywatch(["report", "--json", log])
        #expect(run.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["messages", "recipients", "events", "malformed", "anomalies"])
        #expect(object["messages"] as? Int == 2)
        #expect(object["recipients"] as? Int == 300)
        #expect(object["malformed"] as? Int == 0)
        let events = Scenario.kb822105.log.split(separator: "\n").count + Scenario.correctResend.log.split(separator: "\n").count
        #expect(object["events"] as? Int == events)
        let anomalies = try #require(object["anomalies"] as? [[String: Any]])
        #expect(Set(anomalies.compactMap { $0["rule"] as? String }) == Scenario.kb822105.expectedRules)
        for a in anomalies {
            #expect(Set(a.keys) == ["rule", "severity", "msg", "txn", "rcpts", "detail"])
            #expect(a["msg"] as? String == "KB1")
        }
        let wrong = anomalies.first { $0["rule"] as? String == "ndr-wrong-recipient" }
        #expect(wrong?["severity"] as? String == "miscount")
        #expect(wrong?["rcpts"] as? [String] == ["user98@example.net", "user99@example.net", "user100@example.net"])
    }

    @Test func gzipAndStdinAndRotatedFilesReadAsOneLog() throws {
        let dir = try TempDir()
        // Split one message's log across a gzipped older file and the current file.
        let lines = Scenario.kb822105.log.split(separator: "\n", omittingEmptySubsequences: false)
        let cut = lines.count / 2
        let older = try dir.write("relay.log.1", lines[..<cut].joined(separator: "\n") + "\n")
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gz.arguments = ["gzip", "-9", older]
        try gz.run()
        gz.waitUntilExit()
        #expect(gz.terminationStatus == 0)
        let rest = lines[cut...].joined(separator: "\n")
        let run = try Run.relaywatch(["report", "--json", older + ".gz", "-"], stdin: Data(rest.utf8))
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.contains("\"messages\":1,"))
        #expect(run.stdout.contains("ndr-count-mismatch"))
        #expect(run.stderr.isEmpty)
    }

    @Test func malformedLinesAreCountedNamedAndSkipped() throws {
        let dir = try TempDir()
        var lines = Scenario.correctResend.log.split(separator: "\n").map(String.init)
        lines.insert("this is not json", at: 3)
        lines.insert("{\"v\":1,\"ts\":\"2026-11-29T08:00:00Z\",\"event\":\"reply\",\"msg\":\"OK1\",\"txn\":\"t1\",\"cmd\":\"RC", at: 7)
        lines.insert("{\"v\":1,\"ts\":\"2026-11-29T08:00:00Z\",\"event\":\"future-thing\",\"msg\":\"OK1\"}", at: 9)
        // A runaway 3 MB line with no newline until its end: counted, never buffered whole.
        lines.insert("{\"v\":1,\"text\":\"" + String(repeating: "x", count: 3 << 20) + "\"}", at: 11)
        let log = try dir.write("bad.log", lines.joined(separator: "\n") + "\n\u{1}\u{FF}\u{0}garbage")
        let run = try Run.relaywatch(["report", log])
        #expect(run.status == 0, "malformed lines are not anomalies")
        #expect(run.stdout.contains("malformed lines 4"))
        #expect(run.stderr.contains("bad.log:12: malformed line skipped: line longer than 1048576 bytes"))
        #expect(run.stderr.contains("bad.log:4: malformed line skipped"))
        #expect(run.stderr.contains("bad.log:8: malformed line skipped"))
        #expect(run.stdout.contains("no anomalies"))
        #expect(run.stdout.contains("1 events of kinds this version does not know were skipped"))
    }

    @Test func eventsBeforeTheirTransactionAreCountedNotFatal() throws {
        let dir = try TempDir()
        // The log starts after the txn events (rotation): replies cannot be placed.
        let tail = Scenario.kb822105.log.split(separator: "\n").filter { !$0.contains("\"event\":\"txn\"") }
        let log = try dir.write("tail.log", tail.joined(separator: "\n") + "\n")
        let run = try Run.relaywatch(["report", log])
        // Without the replies nothing can be said about the NDR: no anomaly, and the report says why.
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("304 events could not be placed (the log may start mid-transaction), e.g. KB1: MAIL reply for unknown transaction t1"))
        #expect(run.stdout.contains("1 message is only partly in the log: rules that pair replies were not applied to it"))
    }

    @Test func missingFileIsExitTwoWithTheReason() throws {
        let run = try Run.relaywatch(["report", "/nonexistent/relay.log"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("/nonexistent/relay.log: No such file or directory"))
        #expect(run.stdout.isEmpty)
    }

    @Test func corruptGzipIsExitTwo() throws {
        let dir = try TempDir()
        let path = dir.path("broken.gz")
        // A gzip header followed by junk.
        try Data([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3] + Array(repeating: UInt8(0x41), count: 64)).write(to: URL(fileURLWithPath: path))
        let run = try Run.relaywatch(["report", path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("broken.gz"))
    }

    @Test func usageErrorsAreExitTwo() throws {
        #expect(try Run.relaywatch(["report"]).status == 2)
        #expect(try Run.relaywatch(["report", "--no-such-flag", "x"]).status == 2)
        #expect(try Run.relaywatch(["no-such-command"]).status == 2)
        let help = try Run.relaywatch(["report", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: relaywatch report"))
        // The overview names every log the report reads (the help wraps lines, so join them).
        let overview = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for log in ["mailrelayd's delivery log", "Postfix's mail log", "Exim's main log"] {
            #expect(overview.contains(log), "\(log)")
        }
    }
}
