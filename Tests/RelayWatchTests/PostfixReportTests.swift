import Foundation
import Testing
import TestSupport

/// `relaywatch report` and `convert` on Postfix logs as files, the way cron runs them: rotated
/// files oldest first, gzip told by content, the format told by the first line.
@Suite struct PostfixReportTests {
    /// Postfix 3.7's lines for a message a 552 peer refused in part (trimmed from a real run).
    static let older = """
        Dec 01 21:53:10 pf-test postfix/smtpd[6825]: 0CDE2F7869C: client=localhost[127.0.0.1]
        Dec 01 21:53:10 pf-test postfix/cleanup[6829]: 0CDE2F7869C: message-id=<t1@example.org>
        Dec 01 21:53:10 pf-test postfix/qmgr[6822]: 0CDE2F7869C: from=<sender@example.org>, size=276, nrcpt=3 (queue active)
        Dec 01 21:53:42 pf-test postfix/smtp[6830]: 0CDE2F7869C: to=<user3@example.net>, relay=127.0.0.1[127.0.0.1]:2601, delay=32, delays=32/0.01/0/0, dsn=5.5.3, status=bounced (host 127.0.0.1[127.0.0.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))

        """
    static let newer = """
        Dec 01 21:53:42 pf-test postfix/smtp[6830]: 0CDE2F7869C: to=<user1@example.net>, relay=127.0.0.1[127.0.0.1]:2601, delay=32, delays=32/0.01/0/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)
        Dec 01 21:53:42 pf-test postfix/smtp[6830]: 0CDE2F7869C: to=<user2@example.net>, relay=127.0.0.1[127.0.0.1]:2601, delay=32, delays=32/0.01/0/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)
        Dec 01 21:53:42 pf-test postfix/bounce[6965]: 0CDE2F7869C: sender non-delivery notification: 6248BF78015
        Dec 01 21:53:42 pf-test postfix/qmgr[6822]: 0CDE2F7869C: removed
        garbage that is not syslog
        Dec 01 21:53:43 pf-test postfix/smtp[6830]: 0CDE2F7869D: to=<user9@example.net>, relay=127.0.0.1[127.0

        """

    @Test func rotatedAndGzippedPostfixLogsReadAsOne() throws {
        let scratch = try TempDir()
        let old = try scratch.write("mail.log.1", Self.older)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        gz.arguments = ["-f", old]
        try gz.run()
        gz.waitUntilExit()
        let new = try scratch.write("mail.log", Self.newer)
        let run = try Run.relaywatch(["report", old + ".gz", new])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.contains("Postfix log: 10 lines"), "\(run.stdout)")
        #expect(run.stdout.contains("Postfix logs no RCPT positions"))
        #expect(run.stdout.contains("limit-bounced"))
        #expect(run.stdout.contains("refused 1 recipient at RCPT TO with 552 5.5.3 too many recipients"), "\(run.stdout)")
        // Both bad lines are named with their file and line, and the report goes on.
        #expect(run.stderr.contains("mail.log:5: malformed line skipped: not a syslog line"), "\(run.stderr)")
        #expect(run.stderr.contains("mail.log:6: malformed line skipped: Postfix delivery line for <user9@example.net> cut short before status="), "\(run.stderr)")
    }

    @Test func convertWritesDeliveryLogV1ThatReportsTheSame() throws {
        let scratch = try TempDir()
        let log = try scratch.write("mail.log", Self.older + Self.newer)
        let converted = try Run.relaywatch(["convert", "--from", "postfix", log])
        #expect(converted.status == 0)
        let lines = converted.stdout.split(separator: "\n")
        #expect(lines.allSatisfy { $0.hasPrefix("{\"v\":1,") })
        let bounced = try #require(lines.first { $0.contains("\"rcpt\":\"user3@example.net\"") })
        #expect(bounced.contains("\"status\":\"bounced\""))
        #expect(bounced.contains("\"cmd\":\"RCPT\",\"code\":552,\"enhanced\":\"5.5.3\",\"text\":\"Too many recipients\""))
        #expect(converted.stderr.contains("mail.log:9: skipped: not a syslog line"), "\(converted.stderr)")
        let v1 = try scratch.write("delivery.log", converted.stdout)
        let report = try Run.relaywatch(["report", "--json", v1])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        #expect(json["format"] == nil, "read as mailrelayd's own log")
        #expect((json["anomalies"] as? [[String: Any]])?.map { $0["rule"] as? String } == ["limit-bounced"])
    }

    @Test func aPostfixLogGivenToTheMonitorAsADeliveryLogIsNamed() throws {
        let scratch = try TempDir()
        let log = try scratch.write("mail.log", Self.older)
        let run = try Run.relaywatch(["--log", log])
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(log) is a Postfix log; watch it with relaywatch --postfix --maillog \(log)"), "\(run.stderr)")
    }

    /// Escape sequences in a log's addresses, host names and replies reach the terminal as text.
    @Test func controlCharactersFromTheLogArePrintedAsText() throws {
        let scratch = try TempDir()
        let esc = "\u{1B}"
        let log = try scratch.write("mail.log", """
            Dec 01 21:53:10 h postfix/qmgr[1]: ABCDE12346: from=<s\(esc)]0;TITLE\u{07}@x>, size=1, nrcpt=1 (queue active)
            Dec 01 21:53:11 h postfix/smtp[2]: ABCDE12346: to=<a\(esc)[31m@y>, relay=y\(esc)[2J[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=5.5.3, status=bounced (host y[1.2.3.4] said: 552 5.5.3 too many recipients (in reply to RCPT TO command))
            Dec 01 21:53:12 h postfix/qmgr[1]: ABCDE12346: removed
            Dec 01 21:53:13 h postfix/smtp[2]: ABCDE12347: to=<b\(esc)[5m@y>, relay=y[1.2
            """)
        let run = try Run.relaywatch(["report", log])
        #expect(run.status == 1)
        #expect(!run.stdout.contains(esc) && !run.stderr.contains(esc), "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("from <s\\x1B]0;TITLE\\x07@x>"), "\(run.stdout)")
        #expect(run.stdout.contains("peer y\\x1B[2J[1.2.3.4]:25"), "\(run.stdout)")
        #expect(run.stderr.contains("<b\\x1B[5m@y>"), "\(run.stderr)")
    }
}

