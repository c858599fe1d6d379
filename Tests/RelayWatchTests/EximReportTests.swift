import Foundation
import Testing
import TestSupport

/// `relaywatch report` and `convert` on Exim's main log, told by its first line.
@Suite struct EximReportTests {
    static let mainlog = """
        2026-11-29 08:00:00 exim 4.96 daemon started: pid=1, -q30m, listening for SMTP on port 25
        2026-11-29 08:00:00 1xYTMj-0005XL-1B <= sender@example.org H=client.example.org [192.0.2.10] P=esmtp S=1234 id=kb@example.org for a@example.net b@example.net
        2026-11-29 08:00:01 1xYTMj-0005XL-1B ** b@example.net R=smarthost T=remote_smtp H=peer.test [127.0.0.1]: SMTP error from remote mail server after pipelined RCPT TO:<b@example.net>: 552 5.5.3 Too many recipients
        2026-11-29 08:00:01 1xYTMj-0005XL-1B => a@example.net R=smarthost T=remote_smtp H=peer.test [127.0.0.1] C="250 2.0.0 Ok: queued as 4XkZ1"
        2026-11-29 08:00:01 1xYTMk-0005XM-2C <= <> R=1xYTMj-0005XL-1B U=Debian-exim P=local S=2345
        2026-11-29 08:00:01 1xYTMj-0005XL-1B Completed
        garbage

        """

    @Test func autoTellsAnEximLogAndFindsTheBounce() throws {
        let scratch = try TempDir()
        let log = try scratch.write("mainlog", Self.mainlog)
        let run = try Run.relaywatch(["report", "--json", log])
        #expect(run.status == 1, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["format"] as? String == "exim")
        #expect(json["malformed"] as? Int == 1)
        let anomalies = json["anomalies"] as? [[String: Any]] ?? []
        #expect(anomalies.map { $0["rule"] as? String } == ["limit-bounced"])
        #expect(anomalies.first?["rcpts"] as? [String] == ["b@example.net"])
        #expect(run.stderr.contains("mainlog:7: malformed line skipped: not an Exim main log line"), "\(run.stderr)")
        let text = try Run.relaywatch(["report", "--from", "exim", log])
        #expect(text.stdout.contains("Exim log: 7 lines, 5 about a message"), "\(text.stdout)")
        #expect(text.stdout.contains("Exim logs no RCPT positions"), "\(text.stdout)")
    }

    @Test func convertFromExim() throws {
        let scratch = try TempDir()
        let log = try scratch.write("mainlog", Self.mainlog)
        let run = try Run.relaywatch(["convert", "--from", "exim", log])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.contains { $0.contains("\"event\":\"ndr\"") && $0.contains("\"ndr_msg\":\"1xYTMk-0005XM-2C\"") })
        #expect(lines.contains { $0.contains("\"rcpt\":\"b@example.net\"") && $0.contains("\"cmd\":\"RCPT\",\"code\":552") })
    }
}
