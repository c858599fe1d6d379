import Testing
@testable import RelayCore

/// The replies servers really send (the digest's "seen in the wild"), and how each must read.
@Suite struct ReplyClassifierTests {
    static func reply(_ s: String) -> SMTPReply { SMTPReply(parsing: s)! }

    @Test(arguments: [
        ("452 4.5.3 Error: too many recipients", ReplyMeaning.tooManyRecipients),       // Postfix
        ("452 too many recipients", .tooManyRecipients),                                   // Exim recipients_max
        ("552 too many recipients", .tooManyRecipients),                                   // Exim recipients_max_reject
        ("451 4.5.3 Too many recipients", .tooManyRecipients),                             // OpenSMTPD
        ("452 4.5.3 Too many recipients (AS780090)", .tooManyRecipients),                  // Exchange Online
        ("552 5.5.3 Too many recipients", .tooManyRecipients),                             // old go-smtp
        ("552 Recipient limit exceeded", .tooManyRecipients),
        ("552 Maximum number of recipients per message reached", .tooManyRecipients),
        ("450 4.7.1 Error: too many recipients from 192.0.2.1", .refused),                 // Postfix rate limit (enhanced decides)
        ("450 Error: too many recipients from 192.0.2.1", .rateLimited),                   // same, no enhanced code
        ("552 5.2.2 Mailbox full", .mailboxFull),                                          // Dovecot LMTP
        ("552 Requested mail action aborted: quota exceeded", .mailboxFull),
        ("552 5.3.4 Message too big for this mailbox", .messageSize),
        ("552 Message size exceeds maximum permitted", .messageSize),
        ("452 4.3.1 Insufficient system storage", .systemStorage),
        ("550 5.1.1 <a@x>: Recipient address rejected: User unknown", .refused),
        ("552 5.7.1 Policy rejection", .refused),
        ("250 2.1.5 Ok", .accepted),
    ])
    func rcptReplies(_ text: String, _ expected: ReplyMeaning) {
        #expect(ReplyClassifier.meaning(of: Self.reply(text), to: .rcpt) ?? .refused == expected)
    }

    @Test func a552ToMailIsSizeNeverALimit() {
        #expect(ReplyClassifier.meaning(of: Self.reply("552 5.5.3 Too many recipients"), to: .mail) == .messageSize)
        #expect(ReplyClassifier.meaning(of: Self.reply("552 5.3.4 Message size exceeds fixed limit"), to: .mail) == .messageSize)
        #expect(ReplyClassifier.meaning(of: Self.reply("552 Too much mail data"), to: .dot) == .messageSize)
    }

    @Test func afterARefusedMailRcptRepliesAreNotVerdicts() {
        let m = ReplyClassifier.classifyRecipients(mail: Self.reply("452 4.3.1 Insufficient system storage"),
                                                   rcpts: [Self.reply("503 5.5.1 Error: need MAIL command"), nil])
        #expect(m == [.notAVerdict, nil])
    }

    @Test func aRunOfIdenticalRefusalsToTheEndIsALimit() {
        let ok = Self.reply("250 Ok")
        let odd = Self.reply("552 Service unavailable")
        // Accepted ones, then the same unexplained 552 to the end: a limit at #4.
        var m = ReplyClassifier.classifyRecipients(mail: ok, rcpts: [ok, ok, ok, odd, odd, odd])
        #expect(m == [.accepted, .accepted, .accepted, .tooManyRecipients, .tooManyRecipients, .tooManyRecipients])
        // A lone 552 among 250s is that mailbox's problem.
        m = ReplyClassifier.classifyRecipients(mail: ok, rcpts: [ok, odd, ok])
        #expect(m == [.accepted, .refused, .accepted])
        // A lone trailing one counts only where a limit is plausible (k >= 100).
        m = ReplyClassifier.classifyRecipients(mail: ok, rcpts: [ok, ok, odd])
        #expect(m.last == .refused)
        m = ReplyClassifier.classifyRecipients(mail: ok, rcpts: Array(repeating: ok, count: 100) + [odd])
        #expect(m.last == .tooManyRecipients)
        // Not after a run of nothing accepted, and not for codes that never carry a limit.
        m = ReplyClassifier.classifyRecipients(mail: ok, rcpts: [odd, odd])
        #expect(m == [.refused, .refused])
        let unknown = Self.reply("550 No such user")
        m = ReplyClassifier.classifyRecipients(mail: ok, rcpts: [ok, unknown, unknown])
        #expect(m == [.accepted, .refused, .refused])
        // A different refusal breaks the run.
        m = ReplyClassifier.classifyRecipients(mail: ok, rcpts: [ok, odd, Self.reply("552 Service down"), odd])
        #expect(m == [.accepted, .refused, .refused, .refused])
    }

    @Test func parsingQuotedReplies() {
        let r = SMTPReply(parsing: "552-5.5.3 Too many recipients")
        #expect(r == SMTPReply(code: 552, enhanced: EnhancedStatus("5.5.3"), text: "Too many recipients"))
        #expect(SMTPReply(parsing: "552") == SMTPReply(code: 552))
        #expect(SMTPReply(parsing: "hello") == nil)
        #expect(EnhancedStatus("5.5") == nil)
        #expect(EnhancedStatus("3.1.1") == nil)
        #expect(EnhancedStatus("4.1000.1") == nil)
    }

    /// The adapters parse a reply from their line's bytes: it must read as the String of those
    /// bytes reads, bytes that are not UTF-8 included (the String repairs them), for the shapes
    /// replies come in and every cut of each.
    @Test func aReplyReadsTheSameFromBytesAsFromItsString() {
        let shapes: [[UInt8]] = [
            "552 5.5.3 Too many recipients", "552-5.5.3 Too many", "  451 4.7.1 Greylisted, try again", "250 2.0.0 Ok: queued as 4B9F",
            "554 go away", "452", "199 low", "600 high", "55x 5.5.3 no", "550 5.1.1\u{FF}<x@y>: unknown", "550 5.1 short", "421  4.4.2   spaced",
            "550 é accentué", "\t550 tab first",
        ].map { Array($0.utf8) } + [
            [0x35, 0x35, 0x30, 0x20, 0xFF, 0x20, 0x74], [0x35, 0x35, 0x30, 0x20, 0x35, 0x2E, 0x31, 0x2E, 0x31, 0xC3],
            [0x34, 0x35, 0x31, 0x20, 0xE2, 0x82, 0x20, 0x78], [0xFF, 0x35, 0x35, 0x30],
        ]
        var parsed = 0
        for shape in shapes {
            for cut in 0...shape.count {
                let bytes = Array(shape[..<cut])
                let fromBytes = bytes.withUnsafeBytes { SMTPReply(parsing: $0) }
                #expect(fromBytes == SMTPReply(parsing: String(decoding: bytes, as: UTF8.self)), "\(bytes)")
                if fromBytes != nil { parsed += 1 }
            }
        }
        #expect(parsed > 100)
    }

    /// An enhanced status code (RFC 3463): class 2, 4 or 5, then subject and detail of one to
    /// three digits each, dot-separated. Every five-byte string over digits, dots and a letter
    /// (the form nearly every reply has, read without the loop), and longer ones, against that
    /// rule written out.
    @Test func enhancedStatusCodesReadByTheRule() {
        func rule(_ text: String) -> EnhancedStatus? {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
                  let k = UInt8(parts[0]), [2, 4, 5].contains(k), let s = UInt16(parts[1]), let d = UInt16(parts[2]) else { return nil }
            return EnhancedStatus(klass: k, subject: s, detail: d)
        }
        let alphabet = Array("0123459.x")
        var texts: [String] = []
        for n in 0..<(alphabet.count * alphabet.count * alphabet.count * alphabet.count * alphabet.count) {
            var k = n, t = ""
            for _ in 0..<5 { t.append(alphabet[k % alphabet.count]); k /= alphabet.count }
            texts.append(t)
        }
        texts += ["5.5.3", "4.7.1", "2.0.0", "5.1.10", "5.10.1", "5.100.100", "5.1000.1", "4.5", "4.5.3.1", "", "5..3", ".5.3", "5.5.",
                  "3.1.1", "6.1.1", "05.1.1", "5.01.001"]
        var read = 0
        for text in texts {
            var bytes = Array(text.utf8)
            let got = bytes.withUnsafeBytes { EnhancedStatus.parse($0) }
            #expect(got == rule(text), "\(text)")
            if got != nil { read += 1 }
            bytes.removeAll()
        }
        #expect(read > 140)
    }

    /// Quoted reply texts compare ignoring ASCII case, leading and trailing space and the length
    /// of runs of white space, and nothing else.
    @Test func replyTextsCompareIgnoringCaseAndSpacing() {
        let same: [(String, String)] = [
            ("5.5.3 Too many recipients", "5.5.3 Too many recipients"), ("5.5.3 Too  many\trecipients ", " 5.5.3 too MANY recipients"),
            ("", ""), ("", "   "), ("\r\n", ""), ("Ok", "OK"), ("jos\u{E9} ok", "jos\u{E9}  OK"), ("a\r\nb", "a b"),
        ]
        let different: [(String, String)] = [
            ("a b", "ab"), ("ab", "a b"), ("x", ""), ("", "x"), ("Too many", "Too many!"), ("jos\u{E9}", "jos\u{C9}"),
            ("caf\u{E9}", "cafe\u{301}"), ("abc", "abd"), ("a  b c", "a b  cd"),
        ]
        for (a, b) in same {
            #expect(SMTPReply.sameText(a, b) && SMTPReply.sameText(b, a), "\(a.debugDescription) \(b.debugDescription)")
        }
        for (a, b) in different {
            #expect(!SMTPReply.sameText(a, b) && !SMTPReply.sameText(b, a), "\(a.debugDescription) \(b.debugDescription)")
        }
    }
}
