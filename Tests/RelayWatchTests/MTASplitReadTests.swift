import Foundation
import Testing
import TestSupport
import RelayCore
import RelayScenarios
@testable import RelayWatch

/// A Postfix or Exim log read in parts on several cores must give what one pass gives: the same
/// findings in the same order, the same counts (the adapter's too), hosts, samples of malformed
/// and truncated lines, and the same messages left in the queue, with the same times.
@Suite struct MTASplitReadTests {
    /// Everything the report says, and the messages still in flight at the end with their times.
    static func everything(_ path: String, parts: Int, reference: Timestamp = Timestamp(seconds: 1_796_000_000))
        throws -> (said: String, builder: ReportBuilder) {
        var b = ReportBuilder(format: .auto, reference: reference)
        b.parts = parts
        try b.read(LogInput(path: path))
        var said = ""
        for m in b.store.unfinished.sorted(by: { $0.id < $1.id }) {
            said += "in flight \(m.id) since \(m.firstSeen.rfc3339), \(m.recipients.count) recipients\n"
        }
        b.finish()
        said += ReportRenderer.json(b) + ReportRenderer.text(b, inputs: [path])
        for m in b.malformedSamples { said += "\(m.line): \(m.reason)\n" }
        return (said, b)
    }

    /// Reads the log in 2 and 7 parts and expects everything one pass said, with `readAgain(parts)`
    /// of the parts read again in one pass.
    static func expectSameOnEverySplit(_ path: String, as one: String, readAgain: (Int) -> Int = { _ in 0 },
                                       reference: Timestamp = Timestamp(seconds: 1_796_000_000),
                                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        for parts in [2, 7] {
            let split = try everything(path, parts: parts, reference: reference)
            #expect(split.builder.partsRead == parts, sourceLocation: sourceLocation)
            #expect(split.builder.partsReadAgain == readAgain(parts), "\(parts) parts", sourceLocation: sourceLocation)
            #expect(split.said == one, "\(parts) parts", sourceLocation: sourceLocation)
        }
    }

    /// Generated lines with others put in at fractions of the way through (in order among
    /// themselves), written to a file.
    static func log(_ generated: String, placing extra: [(Double, String)], in dir: TempDir, _ name: String) throws -> String {
        let lines = generated.split(separator: "\n").map(String.init)
        var placed = lines.enumerated().map { (Double($0.offset) / Double(lines.count), $0.element) }
        placed += extra
        let sorted = placed.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        return try dir.write(name, sorted.joined(separator: "\n") + "\n")
    }

    static func postfix(_ host: String, _ daemon: String, _ text: String) -> String {
        "Nov 30 01:00:00 \(host) postfix/\(daemon)[4242]: \(text)"
    }

    static func postfixMessage(_ host: String, _ qid: String, to rcpts: [(String, String)], removed: Bool = true) -> [String] {
        var lines = [postfix(host, "cleanup", "\(qid): message-id=<\(qid)@example.org>"),
                     postfix(host, "qmgr", "\(qid): from=<a@example.org>, size=100, nrcpt=\(rcpts.count) (queue active)")]
        for (rcpt, outcome) in rcpts {
            lines.append(postfix(host, "smtp", "\(qid): to=<\(rcpt)>, relay=mx.example.net[203.0.113.7]:25, delay=1, delays=0/0/0/1, \(outcome)"))
        }
        if removed { lines.append(postfix(host, "qmgr", "\(qid): removed")) }
        return lines
    }

    static let sent = "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ABC)"
    static let tooMany = "dsn=5.5.3, status=bounced (host mx.example.net[203.0.113.7] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))"
    static let later = "dsn=4.5.3, status=deferred (host mx.example.net[203.0.113.7] said: 452 4.5.3 Too many recipients (in reply to RCPT TO command))"

    static func spread(_ lines: [String], from: Double, to: Double) -> [(Double, String)] {
        lines.enumerated().map { (from + (to - from) * Double($0.offset) / Double(max(1, lines.count)), $0.element) }
    }

    /// A busy relay's log (retries of deferred recipients thousands of lines on, so in flight at
    /// every cut), with a requeued message whose new queue id is in a later part than its first,
    /// one requeued inside the last part, a central log's other hosts (one first named by a line
    /// of a message from before its part), malformed and truncated lines around a cut.
    @Test func aPostfixLogReadsTheSameInOneTwoAndSevenParts() throws {
        var g = PostfixLogGenerator(seed: 7)
        let generated = g.text(lines: 60_000)
        var extra: [(Double, String)] = []
        // Requeued across cuts: deferred at 0.05, requeued under a new queue id at 0.55.
        extra += Self.spread(Self.postfixMessage("mx1", "RQ0000001", to: [("b@example.net", Self.later), ("c@example.net", Self.sent)], removed: false), from: 0.05, to: 0.06)
        extra += Self.spread([Self.postfix("mx1", "postsuper", "RQ0000001: requeued"),
                              Self.postfix("mx1", "pickup", "RQ0000002: uid=0 from=<a@example.org> orig_id=RQ0000001")]
                             + Self.postfixMessage("mx1", "RQ0000002", to: [("b@example.net", Self.tooMany)]), from: 0.55, to: 0.57)
        // Requeued inside the last part: owned there, aliases and all.
        extra += Self.spread(Self.postfixMessage("mx1", "RQ0000003", to: [("d@example.net", Self.later)], removed: false)
                             + [Self.postfix("mx1", "pickup", "RQ0000004: uid=0 from=<a@example.org> orig_id=RQ0000003")]
                             + Self.postfixMessage("mx1", "RQ0000004", to: [("d@example.net", Self.tooMany)]), from: 0.93, to: 0.95)
        // A central log: mx2's messages, mx3 first named by a delivery of a message from before
        // the log (deferred in a later part), then mx4's message.
        extra += Self.spread(Self.postfixMessage("mx2", "CE0000001", to: [("e@example.net", Self.tooMany), ("f@example.net", Self.sent)]), from: 0.3, to: 0.31)
        extra += [(0.7, Self.postfix("mx3", "smtp", "OLD000001: to=<g@example.net>, relay=mx.example.net[203.0.113.7]:25, delay=1, delays=0/0/0/1, \(Self.tooMany)"))]
        extra += Self.spread(Self.postfixMessage("mx4", "CE0000002", to: [("h@example.net", Self.tooMany)]), from: 0.72, to: 0.73)
        extra += Self.spread(Self.postfixMessage("mx2", "CE0000003", to: [("i@example.net", Self.later)], removed: false), from: 0.8, to: 0.81)
        // Malformed around one place: a line that is no syslog line, a delivery of a message
        // from before cut short before its status (malformed where it is read, at the merge), a
        // reason cut off (truncated, used).
        extra += [(0.449, "this is not a syslog line"),
                  (0.45, Self.postfix("mx1", "smtp", "OLD000002: to=<j@example.net>, relay=mx.example.net[203.0.113.7]:25, delay=1")),
                  (0.451, "neither is this"),
                  (0.65, Self.postfix("mx1", "smtp", "OLD000003: to=<k@example.net>, relay=mx.example.net[203.0.113.7]:25, delay=1, delays=0/0/0/1, dsn=5.5.3, status=bounced (host mx.example.net[203.0.113.7] said: 552 5.5.3 Too"))]
        let dir = try TempDir()
        let path = try Self.log(generated, placing: extra, in: dir, "postfix.log")

        let one = try Self.everything(path, parts: 1)
        #expect(one.builder.format == .postfix)
        #expect(one.builder.hosts == ["mx1", "mx2", "mx3", "mx4"])
        #expect(one.builder.malformed == 3)
        #expect(one.builder.truncated == 1)
        #expect(one.said.contains("message RQ0000001 "))
        #expect(one.said.contains("in flight CE0000003") == false)
        #expect(one.said.contains("in flight mx2/CE0000003"))
        try Self.expectSameOnEverySplit(path, as: one.said)
    }

    /// Postfix's lines as `journalctl -o json` writes them, read from a file: the same split.
    @Test func aJournalFileReadsTheSameInOneTwoAndSevenParts() throws {
        var g = PostfixLogGenerator(seed: 11)
        var lines = g.text(lines: 40_000).split(separator: "\n").map(String.init)
        lines.insert(contentsOf: Self.postfixMessage("mx2", "CE0000001", to: [("e@example.net", Self.tooMany)]), at: 25_000)
        lines.insert("not a journal record", at: 20_000)
        let syslog = try Regex("^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} (\\S+) ([^\\[:]+)\\[([0-9]+)\\]: (.*)$")
        var micros: Int64 = 1_796_000_000_000_000
        let records = try lines.map { line -> String in
            guard let m = try syslog.wholeMatch(in: line) else { return line }
            micros += 4_000
            let fields: [String: String] = ["__REALTIME_TIMESTAMP": String(micros), "_HOSTNAME": String(m.output[1].substring!),
                                            "SYSLOG_IDENTIFIER": String(m.output[2].substring!), "SYSLOG_PID": String(m.output[3].substring!),
                                            "MESSAGE": String(m.output[4].substring!)]
            return String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
        }
        let dir = try TempDir()
        let path = try dir.write("journal.json", records.joined(separator: "\n") + "\n")
        let one = try Self.everything(path, parts: 1)
        #expect(one.builder.format == .journal)
        #expect(one.builder.hosts == ["mx1", "mx2"])
        #expect(one.builder.malformed == 1)
        #expect(one.said.contains("message mx2/CE0000001 "))
        try Self.expectSameOnEverySplit(path, as: one.said)
    }

    /// The cases a split cannot follow are read again in one pass, with the same answer: a queue
    /// id reused while its first message is still in flight, a requeued message's new queue id
    /// in a later part than the requeue, and a requeue whose new queue id was named before the
    /// requeue (a line of one message and one from before).
    @Test func aPostfixPartThatCannotBeSplitIsReadAgain() throws {
        var g = PostfixLogGenerator(seed: 8)
        let generated = g.text(lines: 30_000)
        var extra: [(Double, String)] = []
        extra += Self.spread(Self.postfixMessage("mx1", "REUSE0001", to: [("a@example.net", Self.later)], removed: false), from: 0.02, to: 0.03)
        extra += Self.spread(Self.postfixMessage("mx1", "REUSE0001", to: [("b@example.net", Self.tooMany)]), from: 0.3, to: 0.31)
        // Requeued at 0.4; the new queue id's lines from 0.6, in a later part whose reader takes
        // them for a new message (the parts before know it as the first one's alias).
        extra += Self.spread(Self.postfixMessage("mx1", "ALIAS0001", to: [("e@example.net", Self.later)], removed: false), from: 0.1, to: 0.11)
        extra += [(0.4, Self.postfix("mx1", "pickup", "ALIAS0002: uid=0 from=<a@example.org> orig_id=ALIAS0001"))]
        extra += Self.spread(Self.postfixMessage("mx1", "ALIAS0002", to: [("e@example.net", Self.tooMany)]), from: 0.6, to: 0.61)
        extra += Self.spread([Self.postfix("mx1", "smtp", "TANGLE002: to=<c@example.net>, relay=mx.example.net[203.0.113.7]:25, delay=1, delays=0/0/0/1, \(Self.sent)")]
                             + Self.postfixMessage("mx1", "TANGLE001", to: [("d@example.net", Self.later)], removed: false)
                             + [Self.postfix("mx1", "pickup", "TANGLE002: uid=0 from=<a@example.org> orig_id=TANGLE001")]
                             + Self.postfixMessage("mx1", "TANGLE002", to: [("d@example.net", Self.tooMany)]), from: 0.9, to: 0.95)
        let dir = try TempDir()
        let path = try Self.log(generated, placing: extra, in: dir, "postfix.log")
        let one = try Self.everything(path, parts: 1)
        #expect(one.said.contains("message REUSE0001 "))
        #expect(one.said.contains("message TANGLE001 "))
        #expect(one.said.contains("message ALIAS0001 "))
        // 2 parts: the last holds the alias and the tangle; 7: the reused id, the alias and the
        // tangle are each in a part of their own.
        try Self.expectSameOnEverySplit(path, as: one.said, readAgain: { $0 == 2 ? 1 : 3 })
    }

    /// RFC 3164 times have no year: a log that crosses New Year puts January's lines in the next
    /// year on every split (the later parts' readers check at the merge where the year was).
    @Test func aPostfixLogOverNewYearHasTheSameTimesOnEverySplit() throws {
        var g = PostfixLogGenerator(seed: 9)
        // 2026-12-31 23:59:00 UTC; 30,000 lines at 4 ms each run to 00:01 on 1 January.
        g.now = 1_798_761_540
        let generated = g.text(lines: 30_000)
        // A message deferred in December, still in the queue at the end.
        let december = Self.postfixMessage("mx1", "DEC000001", to: [("a@example.net", Self.later)], removed: false)
            .map { $0.replacingOccurrences(of: "Nov 30 01:00:00", with: "Dec 31 23:59:01") }
        let dir = try TempDir()
        let path = try Self.log(generated, placing: Self.spread(december, from: 0.001, to: 0.002), in: dir, "newyear.log")
        // Read as at the log's start: its first line is this year's, and the months wrap to
        // the next (a reader of a later part starting afresh in January would put it in 2026).
        let reference = Timestamp(seconds: 1_798_761_540)
        let one = try Self.everything(path, parts: 1, reference: reference)
        #expect(one.said.contains("since 2027-01-01T00:"))
        #expect(one.said.contains("in flight DEC000001 since 2026-12-31T23:59:01"))
        try Self.expectSameOnEverySplit(path, as: one.said, reference: reference)
    }

    static func exim(_ text: String) -> String { "2026-11-30 01:00:00 \(text)" }

    /// Exim's main log, with a bounce whose parent is in an earlier part, malformed lines, and a bounce named before its own arrival (read again).
    @Test func anEximLogReadsTheSameInOneTwoAndSevenParts() throws {
        var g = EximLogGenerator(seed: 7)
        let generated = g.text(lines: 60_000)
        let parent = "1tParE-000001-AA", bounce = "1tBncE-000001-AA"
        var extra: [(Double, String)] = []
        extra += Self.spread([Self.exim("\(parent) <= s@example.org H=c.example.org [192.0.2.1] P=esmtp S=100 id=p1@example.org for a@example.net b@example.net"),
                              Self.exim("\(parent) ** a@example.net R=dnslookup T=remote_smtp H=mx.example.net [203.0.113.7]: SMTP error from remote mail server after pipelined RCPT TO:<a@example.net>: 552 5.5.3 Too many recipients"),
                              Self.exim("\(parent) == b@example.net R=dnslookup T=remote_smtp defer (-44) H=mx.example.net [203.0.113.7]: SMTP error from remote mail server after RCPT TO:<b@example.net>: 451 4.7.1 later")],
                             from: 0.05, to: 0.06)
        extra += Self.spread([Self.exim("\(bounce) <= <> R=\(parent) U=Debian-exim P=local S=3000 T=\"Mail delivery failed: returning message to sender\""),
                              Self.exim("\(bounce) => s@example.org R=dnslookup T=remote_smtp H=mx.example.org [192.0.2.9] C=\"250 2.0.0 Ok\""),
                              Self.exim("\(bounce) Completed"),
                              Self.exim("\(parent) => b@example.net R=dnslookup T=remote_smtp H=mx.example.net [203.0.113.7] C=\"250 ok\""),
                              Self.exim("\(parent) Completed")], from: 0.6, to: 0.61)
        // A line of a message from before the log between two malformed ones (in a later part,
        // read at the merge: the samples stay in line order).
        extra += [(0.449, "this is not an Exim line"),
                  (0.45, Self.exim("1tOldE-000001-AA ** c@example.net R=dnslookup T=remote_smtp H=mx.example.net [203.0.113.7]: SMTP error from remote mail server after RCPT TO:<c@example.net>: 552 5.5.3 Too many recipients")),
                  (0.451, "nor this")]
        let dir = try TempDir()
        let path = try Self.log(generated, placing: extra, in: dir, "exim.log")
        let one = try Self.everything(path, parts: 1)
        #expect(one.builder.format == .exim)
        #expect(one.builder.malformed == 2)
        #expect(one.said.contains("message \(parent) "))
        try Self.expectSameOnEverySplit(path, as: one.said)

        // A bounce named before its arrival, whose parent arrives in the same part: read again.
        let p2 = "1tParE-000002-AA", b2 = "1tBncE-000002-AA"
        extra += Self.spread([Self.exim("\(b2) => s@example.org R=dnslookup T=remote_smtp H=mx.example.org [192.0.2.9] C=\"250 2.0.0 Ok\""),
                              Self.exim("\(p2) <= s@example.org H=c.example.org [192.0.2.1] P=esmtp S=100 id=p2@example.org for a@example.net"),
                              Self.exim("\(p2) ** a@example.net R=dnslookup T=remote_smtp H=mx.example.net [203.0.113.7]: SMTP error from remote mail server after RCPT TO:<a@example.net>: 552 5.5.3 Too many recipients"),
                              Self.exim("\(b2) <= <> R=\(p2) U=Debian-exim P=local S=3000"),
                              Self.exim("\(p2) Completed")], from: 0.96, to: 0.97)
        let tangled = try Self.log(generated, placing: extra, in: dir, "tangled.log")
        let whole = try Self.everything(tangled, parts: 1)
        try Self.expectSameOnEverySplit(tangled, as: whole.said, readAgain: { _ in 1 })
    }
}
