import PostfixLog
import RelayCore
import Testing

/// Reads lines through the adapter and the real store and analyser, as the report does.
struct Reading {
    var adapter: PostfixAdapter
    var store = DeliveryStore(options: .init(dropFinished: false))
    var events: [DeliveryEvent] = []
    var verdicts: [AdapterVerdict] = []

    init(reference: Timestamp = Timestamp(year: 2026, month: 12, day: 1, hour: 12, minute: 0, second: 0), homeHost: String? = nil) {
        adapter = PostfixAdapter(reference: reference, homeHost: homeHost)
    }

    mutating func read(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var bytes = Array(line.utf8)
            var got: [DeliveryEvent] = []
            let v = bytes.withUnsafeMutableBytes { adapter.read(line: UnsafeRawBufferPointer($0), into: &got) }
            verdicts.append(v)
            for e in got {
                events.append(e)
                // Through the codec, as the report reads it: what the log would say, exactly.
                _ = store.apply(e)
            }
        }
    }

    func message(_ id: String) -> MessageRecord? { store.message(id) }

    func findings(_ id: String) -> [Anomaly] {
        guard let m = message(id) else { return [] }
        return Analyser.analyse(m, peers: store.peers)
    }
}

@Suite struct SyslogPrefixTests {
    func parse(_ line: String, reference: Timestamp = Timestamp(year: 2026, month: 12, day: 1, hour: 12, minute: 0, second: 0),
               offset: Int = 0) -> (ts: String, host: String, tag: String, pid: Int?, message: String)? {
        var reader = SyslogReader(reference: reference, utcOffset: offset)
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBytes { p -> (String, String, String, Int?, String)? in
            let b = UnsafeRawBufferPointer(p)
            guard let s = reader.parse(b) else { return nil }
            func str(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self) }
            return (s.ts.rfc3339, str(s.host), str(s.tag), s.pid, str(s.message))
        }
    }

    @Test func rfc3164WithSpacePaddedDay() throws {
        let s = try #require(parse("Nov  9 08:01:02 mx1 postfix/smtp[123]: 4XkZ1: to=<a@b>"))
        #expect(s.ts == "2026-11-09T08:01:02.000000Z")
        #expect(s.host == "mx1")
        #expect(s.tag == "postfix/smtp")
        #expect(s.pid == 123)
        #expect(s.message == "4XkZ1: to=<a@b>")
    }

    @Test func maillogFileLinesWithZeroPaddedDayAndMicroseconds() throws {
        let s = try #require(parse("Dec 01 21:53:42.123456 pf-test postfix/qmgr[6822]: 8125AF781E6: removed"))
        #expect(s.ts == "2026-12-01T21:53:42.123456Z")
        #expect(s.host == "pf-test")
        #expect(s.message == "8125AF781E6: removed")
    }

    @Test func priorityAndLocalZone() throws {
        let s = try #require(parse("<22>Nov 29 08:00:00 mx1 postfix/qmgr[1]: ABCDE12345: removed", offset: 3600))
        #expect(s.ts == "2026-11-29T07:00:00.000000Z")
    }

    @Test func rfc3339FirstAsRsyslogWritesIt() throws {
        let s = try #require(parse("2026-11-29T08:00:00.123456+01:00 mx1 postfix/submission/smtpd[77]: connect from x[1.2.3.4]"))
        #expect(s.ts == "2026-11-29T07:00:00.123456Z")
        #expect(s.tag == "postfix/submission/smtpd")
        #expect(s.message == "connect from x[1.2.3.4]")
    }

    @Test func rfc5424WithStructuredDataAndBOM() throws {
        let line = "<22>1 2026-11-29T08:00:00.5Z mx2 postfix/smtp 4242 - [meta sequenceId=\"1\\]x\"] \u{FEFF}ABCDEF12345: removed"
        let s = try #require(parse(line))
        #expect(s.ts == "2026-11-29T08:00:00.500000Z")
        #expect(s.host == "mx2")
        #expect(s.tag == "postfix/smtp")
        #expect(s.pid == 4242)
        #expect(s.message == "ABCDEF12345: removed")
    }

    @Test func aYearWithoutYearIsNeverInTheFuture() throws {
        // Read on 5 January: a December line is last year's.
        let january = Timestamp(year: 2027, month: 1, day: 5, hour: 0, minute: 0, second: 0)
        let s = try #require(parse("Dec 31 23:59:59 mx postfix/qmgr[1]: ABCDE: removed", reference: january))
        #expect(s.ts.hasPrefix("2026-12-31"))
    }

    @Test func theYearRollsOverWithinAFile() {
        var r = Reading(reference: Timestamp(year: 2027, month: 1, day: 5, hour: 0, minute: 0, second: 0))
        r.read("""
            Dec 31 23:59:59 mx postfix/qmgr[1]: ABCDE1: from=<a@x>, size=1, nrcpt=1 (queue active)
            Jan  1 00:00:01 mx postfix/qmgr[1]: ABCDE2: from=<a@x>, size=1, nrcpt=1 (queue active)
            """)
        #expect(r.events.map { $0.ts.rfc3339.prefix(10) } == ["2026-12-31", "2027-01-01"])
    }

    @Test func linesReadInTurnTakeEachTheirOwnMinuteAndYear() {
        // One reader across the lines, as the adapter reads a log: each time must be the one the
        // line says, whether its minute is the last line's or not; a refused line moves nothing;
        // the year rolls over at New Year and a reader set to another state forgets the minute.
        var reader = SyslogReader(reference: Timestamp(year: 2027, month: 1, day: 5, hour: 0, minute: 0, second: 0), utcOffset: 3600)
        func read(_ s: String) -> String? {
            var b = Array(s.utf8)
            return b.withUnsafeMutableBytes { reader.parse(UnsafeRawBufferPointer($0))?.ts.rfc3339 }
        }
        #expect(read("Dec 31 23:58:59 mx postfix/qmgr[1]: A: removed") == "2026-12-31T22:58:59.000000Z")
        #expect(read("Dec 31 23:58:07.25 mx postfix/qmgr[1]: A: removed") == "2026-12-31T22:58:07.250000Z")
        #expect(read("Dec 31 23:58:61 mx postfix/qmgr[1]: A: removed") == nil)
        #expect(read("Dec 31 23:58:30") == nil)
        #expect(read("Dec 31 23:59:00 mx postfix/qmgr[1]: A: removed") == "2026-12-31T22:59:00.000000Z")
        #expect(read("Jan  1 00:00:00 mx postfix/qmgr[1]: A: removed") == "2026-12-31T23:00:00.000000Z")
        #expect(read("Jan  1 00:00:09 mx postfix/qmgr[1]: A: removed") == "2026-12-31T23:00:09.000000Z")
        #expect(read("Jan  1 01:00:09 mx postfix/qmgr[1]: A: removed") == "2027-01-01T00:00:09.000000Z")
        let state = reader.state
        var later = SyslogReader(reference: Timestamp(year: 2030, month: 1, day: 5, hour: 0, minute: 0, second: 0))
        var b = Array("Jan  1 00:00:00 mx postfix/qmgr[1]: A: removed".utf8)
        _ = b.withUnsafeMutableBytes { later.parse(UnsafeRawBufferPointer($0)) }
        reader.state = later.state
        #expect(read("Jan  1 01:00:10 mx postfix/qmgr[1]: A: removed") == "2030-01-01T00:00:10.000000Z")
        reader.state = state
        #expect(read("Jan  1 01:00:11 mx postfix/qmgr[1]: A: removed") == "2027-01-01T00:00:11.000000Z")
    }

    @Test func notSyslog() {
        #expect(parse("hello world") == nil)
        #expect(parse("Nov 29 08:00") == nil)
        #expect(parse("Foo 29 08:00:00 host tag: x") == nil)
    }
}

@Suite struct PostfixAdapterTests {
    /// Postfix 3.7 with a 20-recipient 552 peer, as the real one logged it (trimmed to 4 recipients).
    static let bounced552 = """
        Dec 01 21:53:10 pf-test postfix/smtpd[6825]: connect from localhost[127.0.0.1]
        Dec 01 21:53:10 pf-test postfix/smtpd[6825]: 0CDE2F7869C: client=localhost[127.0.0.1]
        Dec 01 21:53:10 pf-test postfix/cleanup[6829]: 0CDE2F7869C: message-id=<t1@example.org>
        Dec 01 21:53:10 pf-test postfix/qmgr[6822]: 0CDE2F7869C: from=<sender@example.org>, size=276, nrcpt=4 (queue active)
        Dec 01 21:53:42 pf-test postfix/smtp[6830]: 0CDE2F7869C: to=<user3@example.net>, relay=127.0.0.1[127.0.0.1]:2601, delay=32, delays=32/0.01/0/0, dsn=5.5.3, status=bounced (host 127.0.0.1[127.0.0.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))
        Dec 01 21:53:42 pf-test postfix/smtp[6830]: 0CDE2F7869C: to=<user4@example.net>, relay=127.0.0.1[127.0.0.1]:2601, delay=32, delays=32/0.01/0/0, dsn=5.5.3, status=bounced (host 127.0.0.1[127.0.0.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))
        Dec 01 21:53:42 pf-test postfix/smtp[6830]: 0CDE2F7869C: to=<user1@example.net>, relay=127.0.0.1[127.0.0.1]:2601, delay=32, delays=32/0.01/0/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)
        Dec 01 21:53:42 pf-test postfix/smtp[6830]: 0CDE2F7869C: to=<user2@example.net>, relay=127.0.0.1[127.0.0.1]:2601, delay=32, delays=32/0.01/0/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)
        Dec 01 21:53:42 pf-test postfix/cleanup[6829]: 6248BF78015: message-id=<20261201215342.6248BF78015@pf-test.localdomain>
        Dec 01 21:53:42 pf-test postfix/bounce[6965]: 0CDE2F7869C: sender non-delivery notification: 6248BF78015
        Dec 01 21:53:42 pf-test postfix/qmgr[6822]: 6248BF78015: from=<>, size=11833, nrcpt=1 (queue active)
        Dec 01 21:53:42 pf-test postfix/qmgr[6822]: 0CDE2F7869C: removed
        Dec 01 21:53:42 pf-test postfix/smtp[6832]: 6248BF78015: to=<sender@example.org>, relay=127.0.0.1[127.0.0.1]:2601, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)
        Dec 01 21:53:42 pf-test postfix/qmgr[6822]: 6248BF78015: removed
        """

    @Test func a552TooManyBouncedAtRCPTIsLimitBouncedAndNothingElse() throws {
        var r = Reading()
        r.read(Self.bounced552)
        let m = try #require(r.message("0CDE2F7869C"))
        #expect(m.from == "sender@example.org")
        #expect(m.messageID == "<t1@example.org>")
        #expect(m.done)
        #expect(m.ndrs.count == 1)
        #expect(Set(m.ndrs[0].rcpts.map { m.recipients[Int($0)] }) == ["user3@example.net", "user4@example.net"])
        let f = r.findings("0CDE2F7869C")
        #expect(f.map(\.rule) == [.limitBounced], "\(f.map(\.detail))")
        #expect(Set(f.first?.rcpts ?? []) == ["user3@example.net", "user4@example.net"])
        #expect(f.first?.detail.contains("552 5.5.3") == true)
        // The NDR itself, from the null sender, is a message of its own with no finding.
        #expect(r.message("6248BF78015")?.from == "")
        #expect(r.findings("6248BF78015").isEmpty)
    }

    @Test func theReplyAndItsCommandRideOnTheOutcome() throws {
        var r = Reading()
        r.read(Self.bounced552)
        let outcomes = r.events.compactMap { e -> Outcome? in if case .outcome(let o) = e.body { return o }; return nil }
        let refused = try #require(outcomes.first { $0.rcpt == "user3@example.net" })
        #expect(refused.status == .bounced)
        #expect(refused.reply == SMTPReply(code: 552, enhanced: EnhancedStatus("5.5.3"), text: "Too many recipients"))
        #expect(refused.command == .rcpt)
        #expect(refused.peer == "127.0.0.1[127.0.0.1]:2601")
        #expect(refused.reason == "host 127.0.0.1[127.0.0.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command)")
        let sent = try #require(outcomes.first { $0.rcpt == "user1@example.net" })
        #expect(sent.status == .delivered)
        #expect(sent.command == .dot)
        #expect(sent.reply?.code == 250)
        // No transaction, no position, no tally: the adapter invents none.
        #expect(!r.events.contains { if case .txn = $0.body { true } else if case .reply = $0.body { true } else if case .tally = $0.body { true } else { false } })
    }

    /// A reason whose reply is nothing but its command's note (the fuzzer's find: the reply's
    /// end was placed before its start, and reading it trapped).
    @Test func aReplyOfNothingButTheCommandNoteIsReadWithoutOne() throws {
        var r = Reading()
        r.read("""
            Dec 01 22:00:39 h postfix/qmgr[1]: 97CAFF78013: from=<s@example.org>, size=276, nrcpt=1 (queue active)
            Dec 01 22:00:39 h postfix/smtp[2]: 97CAFF78013: to=<u@example.net>, relay=p[127.0.0.1]:2602, delay=0.06, delays=0.02/0.02/0/0.01, dsn=4.0.0, status=deferred (host p[127.0.0.1] said: (in reply to RCPT TO command))
            """)
        #expect(r.verdicts == [.used, .used])
        let outcome = try #require(r.events.compactMap { e -> Outcome? in if case .outcome(let o) = e.body { return o }; return nil }.first)
        #expect(outcome.rcpt == "u@example.net")
        #expect(outcome.status == .deferred)
        #expect(outcome.reply == nil)
        #expect(outcome.reason == "host p[127.0.0.1] said: (in reply to RCPT TO command)")
    }

    @Test func a452DeferredThenSentIsNoFinding() {
        var r = Reading()
        r.read("""
            Dec 01 22:00:39 h postfix/qmgr[1]: 97CAFF78013: from=<s@example.org>, size=276, nrcpt=2 (queue active)
            Dec 01 22:00:39 h postfix/smtp[2]: 97CAFF78013: to=<u2@example.net>, relay=p[127.0.0.1]:2602, delay=0.06, delays=0.02/0.02/0/0.01, dsn=4.5.3, status=deferred (host p[127.0.0.1] said: 452 4.5.3 Too many recipients (in reply to RCPT TO command))
            Dec 01 22:00:39 h postfix/smtp[2]: 97CAFF78013: to=<u1@example.net>, relay=p[127.0.0.1]:2602, delay=0.08, delays=0.02/0.02/0/0.03, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)
            Dec 01 22:05:00 h postfix/qmgr[1]: 97CAFF78013: from=<s@example.org>, size=276, nrcpt=2 (queue active)
            Dec 01 22:05:00 h postfix/smtp[2]: 97CAFF78013: to=<u2@example.net>, relay=p[127.0.0.1]:2602, delay=300, delays=300/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)
            Dec 01 22:05:00 h postfix/qmgr[1]: 97CAFF78013: removed
            """)
        let m = r.message("97CAFF78013")
        #expect(m?.retries == 1)
        #expect(m?.done == true)
        #expect(r.findings("97CAFF78013").isEmpty)
        // And the deferred recipient showed as too many while it waited (the monitor's letter L).
    }

    @Test func bareTooManyWithoutEnhancedCodeFromExim() {
        var r = Reading()
        r.read("""
            Dec 01 22:00:39 h postfix/qmgr[1]: ABCDEF123: from=<s@example.org>, size=276, nrcpt=2 (queue active)
            Dec 01 22:00:39 h postfix/smtp[2]: ABCDEF123: to=<u2@example.net>, relay=exim.test[127.0.0.1]:2525, delay=0.1, delays=0/0/0/0.1, dsn=5.0.0, status=bounced (host exim.test[127.0.0.1] said: 552 too many recipients (in reply to RCPT TO command))
            Dec 01 22:00:39 h postfix/smtp[2]: ABCDEF123: to=<u1@example.net>, relay=exim.test[127.0.0.1]:2525, delay=0.1, delays=0/0/0/0.1, dsn=5.0.0, status=bounced (host exim.test[127.0.0.1] said: 554 Too many recipients (in reply to end of DATA command))
            Dec 01 22:00:39 h postfix/bounce[3]: ABCDEF123: sender non-delivery notification: BCDEF1234
            Dec 01 22:00:39 h postfix/qmgr[1]: ABCDEF123: removed
            """)
        let f = r.findings("ABCDEF123")
        // The 554 at the end of data is u1's own failure (the peer refused the message), not a limit.
        #expect(f.map(\.rule) == [.limitBounced], "\(f.map(\.detail))")
        #expect(f.first?.rcpts == ["u2@example.net"])
    }

    @Test func removedWithARecipientStillDeferredIsRecipientLost() {
        var r = Reading()
        r.read("""
            Nov 29 08:00:00 mx postfix/qmgr[1]: 4XkZ1q2Bz3z9a0w: from=<s@x>, size=100, nrcpt=2 (queue active)
            Nov 29 08:00:01 mx postfix/smtp[2]: 4XkZ1q2Bz3z9a0w: to=<a@y>, relay=y[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
            Nov 29 08:00:01 mx postfix/smtp[2]: 4XkZ1q2Bz3z9a0w: to=<b@y>, relay=y[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=4.2.0, status=deferred (host y[192.0.2.1] said: 421 4.2.0 try later (in reply to RCPT TO command))
            Nov 29 09:00:00 mx postfix/postsuper[9]: 4XkZ1q2Bz3z9a0w: removed
            """)
        let f = r.findings("4XkZ1q2Bz3z9a0w")
        #expect(f.map(\.rule) == [.recipientLost])
        #expect(f.first?.rcpts == ["b@y"])
    }

    @Test func expiryFailsTheWaitingRecipientsAndTheirNotificationNamesThem() {
        var r = Reading()
        r.read("""
            Nov 24 08:00:00 mx postfix/qmgr[1]: ABCDE9: from=<s@x>, size=100, nrcpt=2 (queue active)
            Nov 24 08:00:01 mx postfix/smtp[2]: ABCDE9: to=<a@y>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to y[192.0.2.1]:25: Connection refused)
            Nov 29 08:00:00 mx postfix/qmgr[1]: ABCDE9: from=<s@x>, status=expired, returned to sender
            Nov 29 08:00:00 mx postfix/bounce[3]: ABCDE9: sender non-delivery notification: FEDCB1
            Nov 29 08:00:00 mx postfix/qmgr[1]: ABCDE9: removed
            """)
        let m = r.message("ABCDE9")
        #expect(m?.outcomes.last?.status == .expired)
        #expect(m?.ndrs.first?.rcpts.count == 1)
        #expect(r.findings("ABCDE9").isEmpty)
    }

    @Test func anNDRNamingAHitherToDeliveredRecipientIsWrongRecipient() {
        // A recipient delivered and later bounced (a second copy via an alias loop, or a log
        // that mixes two runs): the notification reports a recipient that was delivered.
        var r = Reading()
        r.read("""
            Nov 29 08:00:00 mx postfix/qmgr[1]: ABCDE7: from=<s@x>, size=100, nrcpt=1 (queue active)
            Nov 29 08:00:01 mx postfix/smtp[2]: ABCDE7: to=<a@y>, relay=y[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 ok)
            Nov 29 08:00:02 mx postfix/smtp[2]: ABCDE7: to=<a@y>, relay=y[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.5.3, status=bounced (host y[192.0.2.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))
            Nov 29 08:00:03 mx postfix/bounce[3]: ABCDE7: sender non-delivery notification: FEDCB2
            Nov 29 08:00:03 mx postfix/qmgr[1]: ABCDE7: removed
            """)
        let rules = Set(r.findings("ABCDE7").map(\.rule))
        #expect(rules.contains(.ndrWrongRecipient))
        #expect(rules.contains(.limitBounced))
    }

    @Test func aRequeuedMessageKeepsItsFirstQueueID() {
        var r = Reading()
        r.read("""
            Dec 01 21:53:10 h postfix/qmgr[1]: 0CDE2F7869C: from=<s@x>, size=276, nrcpt=1 (queue active)
            Dec 01 21:53:10 h postfix/smtp[2]: 0CDE2F7869C: to=<a@y>, relay=none, delay=0.04, delays=0.02/0.02/0/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:2601: Connection refused)
            Dec 01 21:53:20 h postfix/postsuper[3]: 0CDE2F7869C: requeued
            Dec 01 21:53:21 h postfix/pickup[4]: 8125AF781E6: uid=102 from=<s@x> orig_id=0CDE2F7869C
            Dec 01 21:53:21 h postfix/cleanup[5]: 8125AF781E6: message-id=<t1@example.org>
            Dec 01 21:53:21 h postfix/qmgr[1]: 8125AF781E6: from=<s@x>, size=393, nrcpt=1 (queue active)
            """)
        #expect(r.adapter.key(forLocalQueueID: "8125AF781E6") == "0CDE2F7869C")
        #expect(r.adapter.localQueueID(forKey: "0CDE2F7869C") == "8125AF781E6")
        r.read("""
            Dec 01 21:53:42 h postfix/smtp[2]: 8125AF781E6: to=<a@y>, relay=y[127.0.0.1]:2601, delay=32, delays=32/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)
            Dec 01 21:53:42 h postfix/qmgr[1]: 8125AF781E6: removed
            """)
        let m = r.message("0CDE2F7869C")
        #expect(m?.done == true)
        #expect(m?.retries == 1)
        #expect(m?.outcomes.map(\.status) == [.deferred, .delivered])
        #expect(r.message("8125AF781E6") == nil)
        #expect(r.findings("0CDE2F7869C").isEmpty)
    }

    @Test func holdAndReleaseFromPostsuperAndCleanup() {
        var r = Reading()
        r.read("""
            Nov 29 08:00:00 mx postfix/cleanup[1]: ABCDE5: hold: header Subject: x from local; from=<s@x> to=<a@y>
            Nov 29 08:00:00 mx postfix/postsuper[2]: ABCDE6: placed on hold
            Nov 29 08:00:05 mx postfix/postsuper[2]: ABCDE6: released from hold
            """)
        #expect(r.message("ABCDE5")?.held == true)
        #expect(r.message("ABCDE6")?.held == false)
        #expect(r.events.filter { $0.msg == "ABCDE6" }.map(\.name) == ["hold", "release"])
    }

    @Test func oddAddressesTheNullSenderOrigToConnUseAndTls() throws {
        var r = Reading()
        r.read("""
            Nov 29 08:00:00 mx postfix/qmgr[1]: ABCDE4: from=<>, size=900, nrcpt=3 (queue active)
            Nov 29 08:00:01 mx postfix/smtp[2]: ABCDE4: to=<"john>, smith"@example.net>, orig_to=<alias@example.org>, relay=mx.example.net[192.0.2.1]:25, conn_use=2, delay=0.5, delays=0.1/0/0.2/0.2, tls=TLSv1.3:TLS_AES_256_GCM_SHA384:256, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4XkZ2)
            Nov 29 08:00:01 mx postfix/lmtp[3]: ABCDE4: to=<ünïcødé@exämple.net>, relay=private/dovecot-lmtp, delay=0.1, delays=0/0/0/0.1, dsn=5.1.1, status=bounced (host private/dovecot-lmtp said: 550 5.1.1 <ünïcødé@exämple.net> User doesn't exist: ünïcødé@exämple.net (in reply to RCPT TO command))
            Nov 29 08:00:01 mx postfix/local[4]: ABCDE4: to=<root@mx.example.org>, orig_to=<postmaster>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
            """)
        let m = try #require(r.message("ABCDE4"))
        #expect(m.from == "")
        #expect(m.recipients.count == 3)
        #expect(m.recipientID("\"john>, smith\"@example.net") != nil)
        let lmtp = try #require(r.events.compactMap { e -> Outcome? in if case .outcome(let o) = e.body, o.rcpt.hasPrefix("ü") { return o }; return nil }.first)
        #expect(lmtp.reply?.code == 550)
        #expect(lmtp.peer == "private/dovecot-lmtp")
        let local = r.events.compactMap { e -> Outcome? in if case .outcome(let o) = e.body, o.rcpt.hasPrefix("root") { return o }; return nil }.first
        #expect(local?.status == .delivered)
        #expect(local?.reply == nil)
        #expect(local?.reason == "delivered to mailbox")
    }

    @Test func aVeryLongReasonAndATruncatedLine() {
        let long = String(repeating: "x", count: 6000)
        var r = Reading()
        r.read("""
            Nov 29 08:00:00 mx postfix/qmgr[1]: ABCDE3: from=<s@x>, size=1, nrcpt=2 (queue active)
            Nov 29 08:00:01 mx postfix/smtp[2]: ABCDE3: to=<a@y>, relay=y[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.0.0, status=bounced (host y[192.0.2.1] said: 550 5.0.0 \(long) (in reply to end of DATA command))
            Nov 29 08:00:01 mx postfix/smtp[2]: ABCDE3: to=<b@y>, relay=y[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=4.4.2, status=deferred (conversation with y[192.0.2.1] timed ou
            Nov 29 08:00:01 mx postfix/smtp[2]: ABCDE3: to=<c@y>, relay=y[192.0
            """)
        #expect(r.verdicts[1] == .used)
        #expect(r.verdicts[2] == .truncated("Postfix delivery line for <b@y> cut short in its reason"))
        if case .malformed = r.verdicts[3] {} else { Issue.record("a line cut before status= is malformed: \(r.verdicts[3])") }
        #expect(r.adapter.counts.malformed == 1)
        #expect(r.adapter.counts.truncated == 1)
        let m = r.message("ABCDE3")
        #expect(m?.outcomes.count == 2)
        #expect(m?.outcomes.first?.reply?.text == long)
    }

    @Test func unrelatedDaemonsAndProgramsAreIgnoredNotMalformed() {
        var r = Reading()
        r.read("""
            Nov 29 08:00:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 <a@y>: Relay access denied; from=<s@x> to=<a@y> proto=ESMTP helo=<x>
            Nov 29 08:00:00 mx postfix/anvil[2]: statistics: max connection rate 1/60s for (smtp:1.2.3.4) at Nov 29 07:59:00
            Nov 29 08:00:00 mx postfix/postscreen[3]: CONNECT from [1.2.3.4]:5555 to [192.0.2.1]:25
            Nov 29 08:00:00 mx dovecot: imap-login: Login: user=<u>
            Nov 29 08:00:00 mx kernel: [ 1.0] eth0 up
            Nov 29 08:00:00 mx postfix/smtp[4]: warning: ABCDE2: something odd
            Nov 29 08:00:00 mx postfix/smtp[4]: connect to y[192.0.2.1]:25: Connection refused

            """)
        #expect(r.events.isEmpty)
        #expect(r.verdicts.allSatisfy { $0 == .ignored })
        #expect(r.adapter.counts.mtaLines == 5)
        #expect(r.adapter.counts.malformed == 0)
    }

    @Test func aCentralLogKeysMessagesByHost() {
        var r = Reading()
        r.read("""
            Nov 29 08:00:00 mx1 postfix/qmgr[1]: ABCDE1: from=<s@x>, size=1, nrcpt=1 (queue active)
            Nov 29 08:00:00 mx2 postfix/qmgr[1]: ABCDE1: from=<t@x>, size=2, nrcpt=1 (queue active)
            Nov 29 08:00:01 mx2 postfix/qmgr[1]: ABCDE1: removed
            """)
        #expect(r.message("ABCDE1")?.from == "s@x")
        #expect(r.message("ABCDE1")?.done == false)
        #expect(r.message("mx2/ABCDE1")?.from == "t@x")
        #expect(r.message("mx2/ABCDE1")?.done == true)
        #expect(r.adapter.hosts == ["mx1", "mx2"])
        #expect(r.adapter.localQueueID(forKey: "mx2/ABCDE1") == nil)
    }

    @Test func journalRecordsGoThroughTheSameReading() throws {
        var adapter = PostfixAdapter(reference: Timestamp(seconds: 0))
        var events: [DeliveryEvent] = []
        let lines = [
            #"{"__REALTIME_TIMESTAMP":"1796161990000000","_HOSTNAME":"deb13","SYSLOG_IDENTIFIER":"postfix/qmgr","SYSLOG_PID":"10","MESSAGE":"ABCDE1: from=<s@x>, size=5, nrcpt=1 (queue active)","PRIORITY":"6"}"#,
            #"{"__REALTIME_TIMESTAMP":"1796161991000000","_HOSTNAME":"deb13","SYSLOG_IDENTIFIER":"postfix/smtp","MESSAGE":[65,66,67,68,69,49,58,32,116,111,61,60,97,64,121,62,44,32,114,101,108,97,121,61,110,111,110,101,44,32,115,116,97,116,117,115,61,100,101,102,101,114,114,101,100,32,40,120,255,41]}"#,
            #"{"MESSAGE":"no time"}"#,
        ]
        var verdicts: [AdapterVerdict] = []
        for line in lines {
            var b = Array(line.utf8)
            verdicts.append(b.withUnsafeMutableBytes { adapter.read(journalLine: UnsafeRawBufferPointer($0), into: &events) })
        }
        #expect(verdicts[0] == .used)
        #expect(verdicts[1] == .used)
        if case .malformed = verdicts[2] {} else { Issue.record("a record without a time is malformed") }
        #expect(events.first?.ts == Timestamp(microseconds: 1_796_161_990_000_000))
        #expect(events.map(\.name) == ["queued", "outcome"])
        if case .outcome(let o) = events.last?.body {
            #expect(o.status == .deferred)
            #expect(o.reason == "x\u{FFFD}")
        }
    }
}

@Suite struct PostqueueListingTests {
    @Test func aLineOfPostqueueJ() throws {
        let line = #"{"queue_name": "deferred", "queue_id": "97CAFF78013", "arrival_time": 1796162439, "message_size": 276, "forced_expire": false, "sender": "sender@example.org", "recipients": [{"address": "user29@example.net", "orig_address": "u29@example.net", "delay_reason": "host 127.0.0.1[127.0.0.1] said: 452 4.5.3 Too many recipients (in reply to RCPT TO command)"}, {"address": "user30@example.net"}], "future_field": {"x": [1, 2.5e3]}}"#
        var b = Array(line.utf8)
        let m = try b.withUnsafeMutableBytes { try PostqueueMessage(line: UnsafeRawBufferPointer($0)) }
        #expect(m.queueName == "deferred")
        #expect(m.queueID == "97CAFF78013")
        #expect(m.recipients.count == 2)
        #expect(m.recipients[0].originalAddress == "u29@example.net")
        let e = m.entry(key: "0CDE2F7869C", now: 1_796_162_500)
        #expect(e.id == "0CDE2F7869C")
        #expect(e.queue == "deferred")
        #expect(e.age == 61)
        #expect(e.recipients[0].lastReply?.code == 452)
        #expect(e.recipients[0].lastReply?.enhanced == "4.5.3")
        #expect(e.recipients[1].lastReply == nil)
    }

    @Test func badLinesAndIDs() {
        for line in ["not json", #"{"queue_id": "../../etc"}"#, #"{"queue_id": "-h"}"#, "[1]"] {
            var b = Array(line.utf8)
            #expect(throws: PostqueueMessage.ParseError.self) { try b.withUnsafeMutableBytes { _ = try PostqueueMessage(line: UnsafeRawBufferPointer($0)) } }
        }
        #expect(PostqueueMessage.isQueueID("4XkZ1q2Bz3z9a0w"))
        #expect(!PostqueueMessage.isQueueID("ABCD"))
        #expect(!PostqueueMessage.isQueueID("ABCDE;rm"))
        #expect(!PostqueueMessage.isQueueID("ABCDE 12"))
    }
}
