import EximLog
import RelayCore
import Testing

/// Exim main log lines through the adapter and the real store and analyser, as the report reads them.
struct EximReading {
    var adapter = EximAdapter()
    var store = DeliveryStore(options: .init(dropFinished: false))
    var events: [DeliveryEvent] = []
    var verdicts: [AdapterVerdict] = []

    mutating func read(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var bytes = Array(line.utf8)
            var got: [DeliveryEvent] = []
            verdicts.append(bytes.withUnsafeMutableBytes { adapter.read(line: UnsafeRawBufferPointer($0), into: &got) })
            for e in got {
                events.append(e)
                _ = store.apply(e)
            }
        }
    }

    func findings(_ id: String) -> [Anomaly] {
        guard let m = store.message(id) else { return [] }
        return Analyser.analyse(m, peers: store.peers)
    }

    func outcomes(_ id: String) -> [Outcome] {
        events.compactMap { e in
            if e.msg == id, case .outcome(let o) = e.body { return o }
            return nil
        }
    }
}

@Suite struct EximLineTests {
    func parse(_ s: String, offset: Int = 0) -> (ts: String, id: String?, text: String)? {
        var b = Array(s.utf8)
        return b.withUnsafeMutableBytes { p -> (String, String?, String)? in
            let raw = UnsafeRawBufferPointer(p)
            guard let l = EximLine.parse(raw, utcOffset: offset) else { return nil }
            return (l.ts.rfc3339, l.id.map { raw.string($0) }, raw.string(l.text))
        }
    }

    @Test func theForms() throws {
        var l = try #require(parse("2026-11-29 08:00:00 1xYTMj-0005XL-1B Completed"))
        #expect(l.ts == "2026-11-29T08:00:00.000000Z")
        #expect(l.id == "1xYTMj-0005XL-1B")
        #expect(l.text == "Completed")
        // +millisec, log_timezone, +pid, and a 4.97 id.
        l = try #require(parse("2026-11-29 08:00:00.250 +0100 [4242] 1rVSaR-00000000Gqy-0Ast => a@b R=r T=t"))
        #expect(l.ts == "2026-11-29T07:00:00.250000Z")
        #expect(l.id == "1rVSaR-00000000Gqy-0Ast")
        #expect(l.text == "=> a@b R=r T=t")
        // The host's zone for a time without one.
        l = try #require(parse("2026-11-29 08:00:00 Start queue run: pid=123", offset: -3600))
        #expect(l.ts == "2026-11-29T09:00:00.000000Z")
        #expect(l.id == nil)
        #expect(parse("Nov 29 08:00:00 mx postfix/qmgr[1]: ABCDE: removed") == nil)
        #expect(parse("2026-11-29T08:00:00Z x") == nil)
        #expect(parse("2026-11-29 08:0") == nil)
    }

    /// A message id in either form, and every near miss: a character of each place swapped for
    /// a dash, a space, a punctuation mark or another letter, cut short, run on. The rule,
    /// written out plainly here: six base-62 characters, a dash, six or eleven, a dash, two
    /// or four (the 4.x and 4.97+ forms), then a space or the end of the line.
    @Test func anIdIsOneOfTheTwoFormsExactly() {
        func isID(_ s: [UInt8]) -> Bool {
            func alnum(_ c: UInt8) -> Bool { (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) }
            func shaped(_ parts: [Int]) -> Bool {
                var k = 0
                for (n, len) in parts.enumerated() {
                    if n > 0 { guard k < s.count, s[k] == UInt8(ascii: "-") else { return false }; k += 1 }
                    guard k + len <= s.count, s[k..<(k + len)].allSatisfy(alnum) else { return false }
                    k += len
                }
                return k == s.count
            }
            return shaped([6, 6, 2]) || shaped([6, 11, 4])
        }
        var candidates: [[UInt8]] = []
        for id in ["1xYTMj-0005XL-1B", "1rVSaR-00000000Gqy-0Ast"] {
            let b = Array(id.utf8)
            candidates.append(b)
            for k in b.indices {
                for c in ["-", " ", "!", "z", "é"] {
                    var m = b
                    m.replaceSubrange(k...k, with: Array(c.utf8))
                    candidates.append(m)
                }
                candidates.append(Array(b[..<k]))
                candidates.append(b + Array("x".utf8))
                candidates.append(b + Array("-AB".utf8))
            }
        }
        var ids = 0
        for c in candidates {
            // Up to the first space is the id's place; what follows is the line's text.
            let word = Array(c.prefix { $0 != 0x20 })
            let line = "2026-11-29 08:00:00 " + String(decoding: c, as: UTF8.self) + " Completed"
            let parsed = parse(line)
            #expect(parsed != nil, "\(line)")
            let expected = isID(word) ? String(decoding: word, as: UTF8.self) : nil
            #expect(parsed?.id == expected, "\(line)")
            if expected != nil { ids += 1 }
        }
        // Both forms and some near misses are ids (a letter for a letter); most misses are not.
        #expect(ids > 20 && ids < candidates.count / 2, "\(ids) of \(candidates.count)")
    }

    @Test func linesReadInTurnTakeEachTheirOwnMinute() {
        // One cache across the lines, as the adapter reads a log: each time must be the one the
        // line says, whether its minute is the last line's or not, and a bad minute stays bad.
        var cache = EximLine.MinuteCache()
        func read(_ s: String) -> String? {
            var b = Array(s.utf8)
            return b.withUnsafeMutableBytes { EximLine.parse(UnsafeRawBufferPointer($0), utcOffset: 3600, cache: &cache)?.ts.rfc3339 }
        }
        #expect(read("2026-11-29 08:00:59 1xYTMj-0005XL-1B Completed") == "2026-11-29T07:00:59.000000Z")
        #expect(read("2026-11-29 08:01:00.5 1xYTMj-0005XL-1B Completed") == "2026-11-29T07:01:00.500000Z")
        #expect(read("2026-11-29 08:01:07 +0000 1xYTMj-0005XL-1B Completed") == "2026-11-29T08:01:07.000000Z")
        #expect(read("2026-11-29 08:61:07 1xYTMj-0005XL-1B Completed") == nil)
        #expect(read("2026-11-29 08:01:61 1xYTMj-0005XL-1B Completed") == nil)
        #expect(read("2026-12-29 08:01:07 1xYTMj-0005XL-1B Completed") == "2026-12-29T07:01:07.000000Z")
        #expect(read("2026-12-29 08:01:08 1xYTMj-0005XL-1B Completed") == "2026-12-29T07:01:08.000000Z")
        #expect(read("2027-01-01 00:00:00 1xYTMj-0005XL-1B Completed") == "2026-12-31T23:00:00.000000Z")
    }
}

@Suite struct EximAdapterTests {
    /// Exim relaying a 3-recipient message to a peer that takes one RCPT and refuses the rest with
    /// 552 too many (pipelined), then its bounce to the sender.
    static let bounced552 = """
        2026-11-29 08:00:00 1xYTMj-0005XL-1B <= sender@example.org H=client.example.org [192.0.2.10] P=esmtp S=1234 id=kb@example.org for a@example.net b@example.net c@example.net
        2026-11-29 08:00:01 1xYTMj-0005XL-1B ** b@example.net R=smarthost T=remote_smtp H=peer.test [127.0.0.1]: SMTP error from remote mail server after pipelined RCPT TO:<b@example.net>: 552 5.5.3 Too many recipients
        2026-11-29 08:00:01 1xYTMj-0005XL-1B ** c@example.net R=smarthost T=remote_smtp H=peer.test [127.0.0.1]: SMTP error from remote mail server after pipelined RCPT TO:<c@example.net>: 552 5.5.3 Too many recipients
        2026-11-29 08:00:01 1xYTMj-0005XL-1B => a@example.net R=smarthost T=remote_smtp H=peer.test [127.0.0.1] C="250 2.0.0 Ok: queued as 4XkZ1"
        2026-11-29 08:00:01 1xYTMk-0005XM-2C <= <> R=1xYTMj-0005XL-1B U=Debian-exim P=local S=2345 T="Mail delivery failed: returning message to sender"
        2026-11-29 08:00:01 1xYTMj-0005XL-1B Completed
        2026-11-29 08:00:02 1xYTMk-0005XM-2C => sender@example.org R=smarthost T=remote_smtp H=peer.test [127.0.0.1] C="250 2.0.0 Ok"
        2026-11-29 08:00:02 1xYTMk-0005XM-2C Completed
        """

    @Test func a552BouncedAtRCPTIsLimitBouncedAndTheBounceIsItsNDR() throws {
        var r = EximReading()
        r.read(Self.bounced552)
        let m = try #require(r.store.message("1xYTMj-0005XL-1B"))
        #expect(m.from == "sender@example.org")
        #expect(m.size == 1234)
        #expect(m.messageID == "<kb@example.org>")
        #expect(m.done)
        #expect(m.ndrs.count == 1)
        #expect(m.ndrs.first?.ndrMsg == "1xYTMk-0005XM-2C")
        #expect(Set(m.ndrs[0].rcpts.map { m.recipients[Int($0)] }) == ["b@example.net", "c@example.net"])
        let f = r.findings("1xYTMj-0005XL-1B")
        #expect(f.map(\.rule) == [.limitBounced], "\(f.map(\.detail))")
        #expect(Set(f.first?.rcpts ?? []) == ["b@example.net", "c@example.net"])
        #expect(f.first?.detail.contains("peer.test [127.0.0.1]") == true)
        let refused = try #require(r.outcomes("1xYTMj-0005XL-1B").first { $0.rcpt == "b@example.net" })
        #expect(refused.reply == SMTPReply(code: 552, enhanced: EnhancedStatus("5.5.3"), text: "Too many recipients"))
        #expect(refused.command == .rcpt)
        let sent = try #require(r.outcomes("1xYTMj-0005XL-1B").first { $0.rcpt == "a@example.net" })
        #expect(sent.command == .dot)
        #expect(sent.reply?.code == 250)
        #expect(r.findings("1xYTMk-0005XM-2C").isEmpty)
        #expect(r.store.message("1xYTMk-0005XM-2C")?.from == "")
    }

    @Test func aBare552AtRCPTThen554AtTheEndOfDataIsALimitForTheRefusedOnlyAndADataFailureForTheRest() {
        // An Exim peer with recipients_max_reject: bare 552 to the excess RCPTs, 554 to the data.
        var r = EximReading()
        r.read("""
            2026-11-29 08:00:00 1xYTMj-0005XL-1C <= s@example.org H=c [192.0.2.1] P=esmtp S=500
            2026-11-29 08:00:01 1xYTMj-0005XL-1C ** b@example.net R=smarthost T=remote_smtp H=exim.test [127.0.0.1]: SMTP error from remote mail server after pipelined RCPT TO:<b@example.net>: 552 too many recipients
            2026-11-29 08:00:01 1xYTMj-0005XL-1C ** a@example.net R=smarthost T=remote_smtp H=exim.test [127.0.0.1]: SMTP error from remote mail server after pipelined end of data: 554 Too many recipients
            2026-11-29 08:00:01 1xYTMk-0005XM-2D <= <> R=1xYTMj-0005XL-1C U=Debian-exim P=local S=900
            2026-11-29 08:00:01 1xYTMj-0005XL-1C Completed
            """)
        let f = r.findings("1xYTMj-0005XL-1C")
        #expect(f.map(\.rule) == [.limitBounced], "\(f.map(\.detail))")
        #expect(f.first?.rcpts == ["b@example.net"])
        #expect(r.outcomes("1xYTMj-0005XL-1C").first { $0.rcpt == "a@example.net" }?.command == .dot)
    }

    @Test func eachBounceNamesOnlyTheRecipientsThatFailedSinceTheLastOne() {
        // A queue run fails a, defers c; the bounce reports a. A later run fails b (and c
        // again is only deferred); the second bounce reports b alone.
        var r = EximReading()
        r.read("""
            2026-11-29 08:00:00 1xYTMj-0005XL-1F <= s@example.org H=c [192.0.2.1] P=esmtp S=500 for a@example.net b@example.net c@example.net
            2026-11-29 08:00:01 1xYTMj-0005XL-1F ** a@example.net R=smarthost T=remote_smtp H=peer [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<a@example.net>: 550 5.1.1 unknown user
            2026-11-29 08:00:01 1xYTMj-0005XL-1F == b@example.net R=smarthost T=remote_smtp defer (-44) H=peer [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<b@example.net>: 451 4.7.1 try later
            2026-11-29 08:00:01 1xYTMj-0005XL-1F == c@example.net R=smarthost T=remote_smtp defer (-44) H=peer [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<c@example.net>: 451 4.7.1 try later
            2026-11-29 08:00:02 1xYTMk-0005XM-2F <= <> R=1xYTMj-0005XL-1F U=Debian-exim P=local S=900
            2026-11-29 08:00:02 1xYTMk-0005XM-2F Completed
            2026-11-29 08:30:01 1xYTMj-0005XL-1F ** b@example.net R=smarthost T=remote_smtp H=peer [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<b@example.net>: 550 5.1.1 gone now
            2026-11-29 08:30:01 1xYTMj-0005XL-1F == c@example.net R=smarthost T=remote_smtp defer (-44) H=peer [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<c@example.net>: 451 4.7.1 try later
            2026-11-29 08:30:02 1xYTMk-0005XM-2G <= <> R=1xYTMj-0005XL-1F U=Debian-exim P=local S=900
            """)
        let notices = r.events.compactMap { e -> (String?, [String])? in
            if e.msg == "1xYTMj-0005XL-1F", case .ndr(let n) = e.body { return (n.ndrMsg, n.rcpts) }
            return nil
        }
        #expect(notices.map(\.0) == ["1xYTMk-0005XM-2F", "1xYTMk-0005XM-2G"])
        #expect(notices.map(\.1) == [["a@example.net"], ["b@example.net"]])
        let m = r.store.message("1xYTMj-0005XL-1F")
        #expect(m?.ndrs.map { $0.rcpts.map { m!.recipients[Int($0)] } } == [["a@example.net"], ["b@example.net"]])
    }

    @Test func a452DeferredThenDeliveredIsNoFinding() {
        var r = EximReading()
        r.read("""
            2026-11-29 08:00:00 1xYTMj-0005XL-1D <= s@example.org H=c [192.0.2.1] P=esmtp S=500 for a@example.net b@example.net
            2026-11-29 08:00:01 1xYTMj-0005XL-1D => a@example.net R=smarthost T=remote_smtp H=peer [127.0.0.1] C="250 ok"
            2026-11-29 08:00:01 1xYTMj-0005XL-1D == b@example.net R=smarthost T=remote_smtp defer (-44) H=peer [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<b@example.net>: 452 4.5.3 Too many recipients
            2026-11-29 08:05:01 1xYTMj-0005XL-1D => b@example.net R=smarthost T=remote_smtp H=peer [127.0.0.1] C="250 ok"
            2026-11-29 08:05:01 1xYTMj-0005XL-1D Completed
            """)
        #expect(r.findings("1xYTMj-0005XL-1D").isEmpty)
        #expect(r.outcomes("1xYTMj-0005XL-1D").map(\.status) == [.delivered, .deferred, .delivered])
        #expect(r.store.message("1xYTMj-0005XL-1D")?.listed.filter { $0 }.count == 2)
    }

    @Test func completedWithARecipientStillDeferredIsRecipientLost() {
        // exim -Mrm: removed by the admin with a recipient still waiting.
        var r = EximReading()
        r.read("""
            2026-11-29 08:00:00 1rVSaR-00000000Gqy-0Ast <= s@example.org H=c [192.0.2.1] P=esmtp S=500 for a@example.net
            2026-11-29 08:00:01 1rVSaR-00000000Gqy-0Ast == a@example.net R=smarthost T=remote_smtp defer (111): Connection refused
            2026-11-29 09:00:00 1rVSaR-00000000Gqy-0Ast removed by root
            2026-11-29 09:00:00 1rVSaR-00000000Gqy-0Ast Completed
            """)
        #expect(r.findings("1rVSaR-00000000Gqy-0Ast").map(\.rule) == [.recipientLost])
    }

    @Test func frozenThawedLocalDeliveriesAndOddAddresses() throws {
        var r = EximReading()
        r.read("""
            2026-11-29 08:00:00 1xYTMj-0005XL-1E <= <> R=1xYTMj-0005XL-1A U=Debian-exim P=local S=800
            2026-11-29 08:00:01 1xYTMj-0005XL-1E ** "odd>: name"@example.net R=smarthost T=remote_smtp H=peer [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<"odd>: name"@example.net>: 550 5.1.1 No such user
            2026-11-29 08:00:01 1xYTMj-0005XL-1E Frozen (delivery error message)
            2026-11-29 08:30:00 1xYTMj-0005XL-1E Unfrozen by forced delivery
            2026-11-29 08:30:01 1xYTMj-0005XL-1E => /var/mail/root <root@mx.example.org> R=local_user T=mail_spool
            2026-11-29 08:30:01 1xYTMj-0005XL-1E ** ünï@exämple.net: Unrouteable address
            """)
        #expect(r.events.filter { $0.msg == "1xYTMj-0005XL-1E" }.map(\.name) == ["queued", "outcome", "hold", "release", "outcome", "outcome"])
        let outcomes = r.outcomes("1xYTMj-0005XL-1E")
        #expect(outcomes.map(\.rcpt) == ["\"odd>: name\"@example.net", "root@mx.example.org", "ünï@exämple.net"])
        #expect(outcomes[0].reply?.code == 550)
        #expect(outcomes[2].reason == "Unrouteable address")
        #expect(outcomes[2].reply == nil)
    }

    @Test func truncatedMalformedAndUnrelatedLines() {
        var r = EximReading()
        r.read("""
            2026-11-29 08:00:00 exim 4.96 daemon started: pid=1, -q30m, listening for SMTP on port 25
            2026-11-29 08:00:00 H=(spam) [198.51.100.1] F=<x@y> rejected RCPT <a@b>: relay not permitted
            2026-11-29 08:00:01 1xYTMj-0005XL-1F <= s@example.org H=c [192.0.2.1] P=esmtp S=500
            2026-11-29 08:00:01 1xYTMj-0005XL-1F => a@example.net R=smarthost T=remote_smtp H=peer [127.0.0.1] C="250 2.0.0 Ok: que
            2026-11-29 08:00:01 1xYTMj-0005XL-1F SMTP connection outbound 1796000000 1xYTMj-0005XL-1F example.net a@example.net
            not a log line
            2026-11-29 08:0
            """)
        #expect(r.verdicts[0] == .ignored)
        #expect(r.verdicts[1] == .ignored)
        #expect(r.verdicts[2] == .used)
        #expect(r.verdicts[3] == .truncated("Exim delivery line for <a@example.net> cut short in its confirmation"))
        #expect(r.verdicts[4] == .ignored)
        if case .malformed = r.verdicts[5] {} else { Issue.record("\(r.verdicts[5])") }
        if case .malformed = r.verdicts[6] {} else { Issue.record("\(r.verdicts[6])") }
        #expect(r.adapter.counts.malformed == 2)
        #expect(r.adapter.counts.truncated == 1)
        #expect(r.outcomes("1xYTMj-0005XL-1F").first?.status == .delivered)
    }
}

@Suite struct EximQueueListingTests {
    @Test func exim_bp() throws {
        // As Exim 4.96 prints it (the head line right-aligned), a frozen bounce, a delivered recipient.
        let text = """
             0m   250 1xYXEV-0002hV-3B <sender@example.org>
                      user1@example.net
                    D user2@example.net

            25h  2.9K 1xYXEW-0002hW-3C <> *** frozen ***
                      postmaster@example.org

            garbage here
             3d  1.1M 1rVSaR-00000000Gqy-0Ast (user) <u@example.org>
                      x@example.net
            """
        var reader = EximQueuedMessage.Reader()
        var got: [EximQueuedMessage] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var b = Array(line.utf8)
            b.withUnsafeMutableBytes { reader.line(UnsafeRawBufferPointer($0)) { got.append($0) } }
        }
        reader.finish { got.append($0) }
        #expect(got.map(\.id) == ["1xYXEV-0002hV-3B", "1xYXEW-0002hW-3C", "1rVSaR-00000000Gqy-0Ast"])
        #expect(got[0].age == 0 && got[0].size == 250 && got[0].sender == "sender@example.org" && !got[0].frozen)
        #expect(got[0].recipients.map(\.address) == ["user1@example.net", "user2@example.net"])
        #expect(got[0].recipients.map(\.delivered) == [false, true])
        #expect(got[1].age == 90_000 && got[1].size == 2969 && got[1].sender == "" && got[1].frozen)
        #expect(got[2].age == 259_200 && got[2].sender == "u@example.org")
        #expect(reader.problems == 1)
        let e = got[1].entry(now: 1_000_000)
        #expect(e.held && e.queue == "frozen" && e.received == 910_000)
        #expect(EximQueuedMessage.isMessageID("1xYXEV-0002hV-3B"))
        #expect(!EximQueuedMessage.isMessageID("-Mrm"))
        #expect(!EximQueuedMessage.isMessageID("1xYXEV-0002hV-3B; rm"))
    }
}
