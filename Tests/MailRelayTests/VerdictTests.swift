import Foundation
import NIOCore
import RelayCore
import Testing
@testable import MailRelay

/// The relay's rules for one transaction's replies (R1-R4), case by case.
@Suite struct VerdictTests {
    let ok = SMTPReply(code: 250, enhanced: EnhancedStatus("2.1.5"), text: "Ok")
    let queued = SMTPReply(code: 250, enhanced: EnhancedStatus("2.0.0"), text: "Ok: queued")
    let go = SMTPReply(code: 354, text: "go ahead")
    let tooMany552 = SMTPReply(code: 552, enhanced: EnhancedStatus("5.5.3"), text: "Too many recipients")
    let tooMany452 = SMTPReply(code: 452, text: "too many recipients")
    let unknown = SMTPReply(code: 550, enhanced: EnhancedStatus("5.1.1"), text: "User unknown")

    func decide(mail: SMTPReply? = SMTPReply(code: 250, text: "Ok"), _ rcpts: [SMTPReply?], data: SMTPReply? = nil, dot: SMTPReply? = nil,
                policy: Rcpt552Policy = .classify) -> TransactionVerdicts {
        TransactionVerdicts.decide(mail: mail, rcpts: rcpts, data: data ?? go, dot: dot ?? queued, policy: policy, lost: "lost")
    }

    @Test func tooManyIsSentAgainAndTheLimitLearned() {
        let v = decide([ok, ok, tooMany552, tooMany552])
        #expect(v.verdicts == [.delivered(queued), .delivered(queued), .sendAgain(tooMany552), .sendAgain(tooMany552)])
        #expect(v.learnedLimit == 2)
        // Exim's bare 452 is read by its text and its place in the run.
        #expect(decide([ok, tooMany452, tooMany452]).verdicts.suffix(2) == [.sendAgain(tooMany452), .sendAgain(tooMany452)])
    }

    @Test func thePermanentPolicyBouncesA552ButNotA452() {
        #expect(decide([ok, tooMany552, tooMany552], policy: .permanent).verdicts.suffix(2) == [.bounced(tooMany552), .bounced(tooMany552)])
        #expect(decide([ok, tooMany452, tooMany452], policy: .permanent).verdicts.suffix(2) == [.sendAgain(tooMany452), .sendAgain(tooMany452)])
    }

    @Test func aLone552AmongAcceptedOnesIsThatMailboxsProblem() {
        let full = SMTPReply(code: 552, text: "sorry")
        let v = decide([ok, full, ok])
        #expect(v.verdicts == [.delivered(queued), .bounced(full), .delivered(queued)])
        #expect(v.learnedLimit == nil)
    }

    @Test func tooManyBeforeAnyAcceptedWaitsForTheNextAttempt() {
        let v = decide([SMTPReply(code: 452, enhanced: EnhancedStatus("4.5.3"), text: "Too many recipients")])
        guard case .deferred = v.verdicts[0] else { Issue.record("\(v.verdicts)"); return }
        #expect(v.learnedLimit == nil)
    }

    @Test func aRefusedMailDecidesForEveryoneAndThe503sSayNothing() {
        let bad = SMTPReply(code: 503, enhanced: EnhancedStatus("5.5.1"), text: "need MAIL")
        let temp = SMTPReply(code: 451, enhanced: EnhancedStatus("4.3.0"), text: "try later")
        #expect(decide(mail: temp, [bad, bad]).verdicts == [.deferred(temp, "MAIL refused"), .deferred(temp, "MAIL refused")])
        let perm = SMTPReply(code: 550, enhanced: EnhancedStatus("5.7.1"), text: "sender refused")
        #expect(decide(mail: perm, [bad]).verdicts == [.bounced(perm)])
    }

    @Test func theEndOfDataDecidesForTheAcceptedOnlyR2() {
        let rejected = SMTPReply(code: 554, enhanced: EnhancedStatus("5.6.0"), text: "content rejected")
        let v = decide([ok, unknown, ok], dot: rejected)
        #expect(v.verdicts == [.bounced(rejected), .bounced(unknown), .bounced(rejected)])
        let later = SMTPReply(code: 451, text: "later")
        #expect(decide([ok, unknown], dot: later).verdicts == [.deferred(later, "end of data refused"), .bounced(unknown)])
    }

    @Test func missingRepliesDeferWithTheReason() {
        let v = TransactionVerdicts.decide(mail: SMTPReply(code: 250, text: "Ok"), rcpts: [ok, nil], data: nil, dot: nil,
                                           policy: .classify, lost: "timed out")
        #expect(v.verdicts == [.deferred(nil, "timed out"), .deferred(nil, "timed out")])
    }

    @Test func dataIsDotStuffedAndTerminated() {
        let body = Array("Subject: x\r\n\r\n.leading dot\r\nmid.dot\r\n.\r\nno final newline".utf8)
        let wire = WireData.stuffed(body, allocator: ByteBufferAllocator())
        #expect(String(buffer: wire) == "Subject: x\r\n\r\n..leading dot\r\nmid.dot\r\n..\r\nno final newline\r\n.\r\n")
    }
}

/// The receiving dialogue without a socket.
@Suite struct ServerSessionTests {
    let limits = ServerSession.Limits(hostname: "relay.test", maxMessageSize: 10_000, maxRecipients: 100, maxCommandLine: 512, maxTextLine: 1000)

    func line(_ s: String) -> SMTPLine {
        SMTPLine(bytes: ByteBuffer(string: s), wireLength: s.utf8.count + 2, overlong: false)
    }

    func replies(_ session: inout ServerSession, _ lines: [String]) -> [ServerSession.Action] {
        lines.flatMap { session.receive(line($0)) }
    }

    @Test func unstuffsDotsAndSplitsOverlongLines() {
        var s = ServerSession(limits: limits, refused: false)
        _ = replies(&s, ["EHLO c", "MAIL FROM:<a@b> BODY=8BITMIME", "RCPT TO:<c@d>", "DATA", "..x", String(repeating: "w", count: 2500)])
        let end = s.receive(line("."))
        guard case .commit(let m) = end.first else { Issue.record("\(end)"); return }
        #expect(m.eightBit && m.recipients == ["c@d"] && m.sender == "a@b")
        let text = String(decoding: m.body, as: UTF8.self)
        #expect(text.hasPrefix(".x\r\n"))
        #expect(text.split(separator: "\r\n").dropFirst().map(\.count) == [998, 998, 504])
    }

    @Test func refusesWhatTheRulesRefuse() {
        var s = ServerSession(limits: limits, refused: false)
        #expect(replies(&s, ["MAIL FROM:<a@b>"]) == [.reply("503 5.5.1 Error: send HELO/EHLO first")])
        _ = replies(&s, ["HELO c"])
        #expect(replies(&s, ["MAIL FROM:<a@b> SIZE=20000"]) == [.reply("552 5.3.4 Message size exceeds fixed limit of 10000 bytes")])
        #expect(replies(&s, ["MAIL FROM:<a@b> FOO=1"]) == [.reply("555 5.5.4 Unsupported parameter FOO")])
        #expect(replies(&s, ["MAIL FROM:a@b"]) == [.reply("501 5.5.4 Syntax: MAIL FROM:<address>")])
        #expect(replies(&s, ["MAIL FROM:<>"]) == [.reply("250 2.1.0 Ok")])
        #expect(replies(&s, ["RCPT TO:<>"]) == [.reply("501 5.5.4 Syntax: RCPT TO:<address>")])
        let many = (0..<101).map { "RCPT TO:<r\($0)@x>" }
        #expect(replies(&s, many).last == .reply("452 4.5.3 Too many recipients"))
    }

    @Test func aTooBigMessageIsRefusedAtTheEnd() {
        var s = ServerSession(limits: limits, refused: false)
        _ = replies(&s, ["EHLO c", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA"] + Array(repeating: String(repeating: "b", count: 900), count: 20))
        #expect(s.receive(line(".")) == [.reply("552 5.3.4 Message size exceeds fixed limit of 10000 bytes")])
        // The session goes on: the next transaction starts clean.
        #expect(replies(&s, ["MAIL FROM:<a@b>"]) == [.reply("250 2.1.0 Ok")])
    }
}

/// RFC 3464 reports: one block per recipient quoting its own reply, folded but whole.
@Suite struct DSNTests {
    @Test func eachRecipientQuotesItsOwnReplyAndLongOnesAreFoldedNotCut() {
        let long = SMTPReply(code: 550, enhanced: EnhancedStatus("5.7.1"), text: (0..<200).map { "word\($0)" }.joined(separator: " "))
        let failures = [
            DSNBuilder.Failure(recipient: "a@x.test", reply: SMTPReply(code: 550, enhanced: EnhancedStatus("5.1.1"), text: "User unknown"),
                               reason: "", remoteMTA: "127.0.0.1:25", expired: false),
            DSNBuilder.Failure(recipient: "b@x.test", reply: long, reason: "", remoteMTA: nil, expired: false),
            DSNBuilder.Failure(recipient: "c@x.test", reply: nil, reason: "connect failed", remoteMTA: nil, expired: true),
        ]
        let original = QueuedMessage(id: "Q1", sender: "s@y.test", size: 10, messageID: nil, received: 0, nextAttempt: 0, recipients: [])
        let text = String(decoding: DSNBuilder(hostname: "relay.test").build(
            id: "D1", original: original, originalBody: Array("Subject: hi\r\n\r\nbody\r\n".utf8), failures: failures,
            now: Timestamp(seconds: 0)), as: UTF8.self)
        #expect(text.contains("Final-Recipient: rfc822; a@x.test\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; 127.0.0.1:25\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"))
        #expect(text.contains("Final-Recipient: rfc822; c@x.test\r\nAction: failed\r\nStatus: 4.4.7\r\nDiagnostic-Code: X-mailrelayd; connect failed\r\n"))
        #expect(text.contains("Arrival-Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(text.contains("Content-Type: text/rfc822-headers\r\n\r\nSubject: hi\r\n\r\n--"))
        #expect(text.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 998 })
        // Unfolding gives back the whole reply.
        #expect(text.replacingOccurrences(of: "\r\n ", with: " ").contains("Diagnostic-Code: smtp; \(long)\r\n"))
    }

    /// A hostile peer's reply text is quoted in the DSN without its control characters: a bare CR
    /// cannot start a header of its own, and ESC cannot reach the terminal of whoever reads it.
    @Test func controlCharactersInAPeersReplyNeverReachTheDSN() {
        let hostile = SMTPReply(code: 550, enhanced: EnhancedStatus("5.1.1"), text: "no\rBcc: victim@x.test \u{1B}]0;pwned\u{07} \u{9B}31m \u{7F}end")
        let failures = [DSNBuilder.Failure(recipient: "a@x.test", reply: hostile, reason: "", remoteMTA: "127.0.0.1:25", expired: false)]
        let original = QueuedMessage(id: "Q1", sender: "s@y.test", size: 10, messageID: nil, received: 0, nextAttempt: 0, recipients: [])
        let text = String(decoding: DSNBuilder(hostname: "relay.test").build(
            id: "D1", original: original, originalBody: Array("Subject: hi\r\n\r\nbody\r\n".utf8), failures: failures,
            now: Timestamp(seconds: 0)), as: UTF8.self)
        let bytes = Array(text.utf8)
        for (i, b) in bytes.enumerated() where b == 0x0D { #expect(i + 1 < bytes.count && bytes[i + 1] == 0x0A, "a bare CR in the DSN") }
        #expect(!text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\r" && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) })
        #expect(text.contains("Diagnostic-Code: smtp; 550 5.1.1 no?Bcc: victim@x.test ?]0;pwned? ?31m ?end\r\n"))
        #expect(!text.contains("\r\nBcc:"))
    }
}
