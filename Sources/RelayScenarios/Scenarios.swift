import RelayCore

/// Named delivery-log situations, each a small log a relay could really have written, with the
/// rule ids the analyser must find in it. The tests assert these; the demo will show them.
public typealias PeerAnswers = LogBuilder.PeerAnswers

public struct Scenario: Sendable {
    public var name: String
    public var summary: String
    public var log: String
    /// The exact set of rule ids the analyser must report.
    public var expectedRules: Set<String>

    public static var all: [Scenario] {
        [kb822105, postfixBounce, correctResend, lostRecipient, eximDuplicate, missingPipelinedReply,
         dsnQuotesNeighbour, mailboxFull, mailSizeRefused, peerLimit20]
    }

    static let tooMany552 = SMTPReply(code: 552, enhanced: EnhancedStatus("5.5.3"), text: "Too many recipients")
    static let tooMany452 = SMTPReply(code: 452, enhanced: EnhancedStatus("4.5.3"), text: "Too many recipients")
    static let peer = "127.0.0.1:2526"

    /// Microsoft KB822105: 150 recipients pipelined to a peer with a limit of 100 that answers the
    /// excess with 552 5.5.3. The relay loses track of the pairing, believes the refusals started at
    /// #98, and NDRs 53 recipients: the 50 refused ones and #98–#100, which the peer accepted.
    public static var kb822105: Scenario {
        var b = kb822105Pattern(msg: "KB1", recipients: 150, tally: true)
        b.done("KB1")
        return Scenario(name: "kb822105", summary: "KB822105: 50 refused with 552 5.5.3, 53 NDR'd (three accepted ones among them)",
                        log: b.text, expectedRules: ["limit-bounced", "ndr-count-mismatch", "ndr-wrong-recipient", "tally-mismatch"])
    }

    /// The KB822105 miscount at any size: a limit of 100 answered with 552 5.5.3, the relay's
    /// count off by three, every recipient from #98 on bounced and NDR'd quoting the 552.
    /// (No `done`: the caller ends the message or leaves it in flight.)
    public static func kb822105Pattern(msg: String, recipients count: Int, tally: Bool = false) -> LogBuilder {
        var b = LogBuilder()
        let rc = recipients(count)
        b.queued(msg, from: "sender@example.org", rcpts: rc, size: 40_000, messageID: "<\(msg.lowercased())@example.org>")
        b.session("s1", peer: peer)
        b.transaction(msg, "t1", session: "s1", rcpts: rc, answers: .limit(100, tooMany552))
        if tally { b.tally(msg, "t1", accepted: 97, deferred: 0, bounced: count - 97) }
        for i in 0..<97 { b.outcome(msg, rc[i], .delivered, txn: "t1", reason: "250 2.0.0 Ok: queued") }
        for i in 97..<count { b.outcome(msg, rc[i], .bounced, txn: "t1", reason: "552 5.5.3 Too many recipients") }
        let failed = Array(rc[97...])
        b.ndr(msg, ndrMsg: "NDR-\(msg)", rcpts: failed,
              diagnostics: Dictionary(uniqueKeysWithValues: failed.map { ($0, "smtp; 552 5.5.3 Too many recipients") }))
        return b
    }

    /// Postfix's default: a 552 too-many is permanent, and exactly the refused recipients bounce.
    public static var postfixBounce: Scenario {
        var b = LogBuilder()
        let rc = recipients(150)
        let reply = SMTPReply(code: 552, text: "too many recipients")
        b.queued("PF1", from: "sender@example.org", rcpts: rc)
        b.session("s1", peer: peer)
        b.transaction("PF1", "t1", session: "s1", rcpts: rc, answers: .limit(100, reply))
        b.tally("PF1", "t1", accepted: 100, deferred: 0, bounced: 50)
        for i in 0..<100 { b.outcome("PF1", rc[i], .delivered, txn: "t1") }
        for i in 100..<150 { b.outcome("PF1", rc[i], .bounced, txn: "t1", reason: "552 too many recipients") }
        let failed = Array(rc[100...])
        b.ndr("PF1", ndrMsg: "PF1-NDR", rcpts: failed,
              diagnostics: Dictionary(uniqueKeysWithValues: failed.map { ($0, "smtp; 552 too many recipients") }))
        b.done("PF1")
        return Scenario(name: "postfix-bounce", summary: "552 too many recipients bounced exactly (Postfix's default)",
                        log: b.text, expectedRules: ["limit-bounced"])
    }

    /// What RFC 5321 asks: the excess goes again in a second transaction on the same connection.
    public static var correctResend: Scenario {
        var b = LogBuilder()
        let rc = recipients(150)
        b.queued("OK1", from: "sender@example.org", rcpts: rc)
        b.session("s1", peer: peer)
        b.transaction("OK1", "t1", session: "s1", rcpts: rc, answers: .limit(100, tooMany552))
        b.tally("OK1", "t1", accepted: 100, deferred: 50, bounced: 0)
        for i in 0..<100 { b.outcome("OK1", rc[i], .delivered, txn: "t1") }
        b.transaction("OK1", "t2", session: "s1", attempt: 1, rcpts: Array(rc[100...]), answers: PeerAnswers())
        b.tally("OK1", "t2", accepted: 50, deferred: 0, bounced: 0)
        for i in 100..<150 { b.outcome("OK1", rc[i], .delivered, txn: "t2") }
        b.done("OK1")
        return Scenario(name: "correct-resend", summary: "the 50 refused recipients sent again in a second transaction",
                        log: b.text, expectedRules: [])
    }

    /// One recipient deferred and then forgotten when the message left the queue.
    public static var lostRecipient: Scenario {
        var b = LogBuilder()
        let rc = recipients(3)
        b.queued("LO1", from: "sender@example.org", rcpts: rc)
        b.session("s1", peer: peer)
        var answers = PeerAnswers()
        answers.rcpt = { $0 == 2 ? SMTPReply(code: 451, enhanced: EnhancedStatus("4.7.1"), text: "Greylisted, try again") : SMTPReply(code: 250, text: "Ok") }
        b.transaction("LO1", "t1", session: "s1", rcpts: rc, answers: answers)
        b.outcome("LO1", rc[0], .delivered, txn: "t1")
        b.outcome("LO1", rc[1], .delivered, txn: "t1")
        b.outcome("LO1", rc[2], .deferred, txn: "t1", reason: "451 4.7.1 Greylisted")
        b.done("LO1")
        return Scenario(name: "lost-recipient", summary: "a deferred recipient dropped when the message left the queue",
                        log: b.text, expectedRules: ["recipient-lost"])
    }

    /// Exim bug 2693: after a 452 too-many, the retry re-sends ten recipients the peer had already
    /// accepted, and they get the message twice.
    public static var eximDuplicate: Scenario {
        var b = LogBuilder()
        let rc = recipients(150)
        b.queued("EX1", from: "sender@example.org", rcpts: rc)
        b.session("s1", peer: peer)
        b.transaction("EX1", "t1", session: "s1", rcpts: rc, answers: .limit(100, SMTPReply(code: 452, text: "too many recipients")))
        for i in 0..<100 { b.outcome("EX1", rc[i], .delivered, txn: "t1") }
        for i in 100..<150 { b.outcome("EX1", rc[i], .deferred, txn: "t1", reason: "452 too many recipients") }
        b.retry("EX1", rcpts: nil)
        b.session("s2", peer: peer)
        b.transaction("EX1", "t2", session: "s2", attempt: 2, rcpts: Array(rc[90...]), answers: PeerAnswers())
        for i in 90..<150 { b.outcome("EX1", rc[i], .delivered, txn: "t2") }
        b.done("EX1")
        return Scenario(name: "exim-2693-duplicate", summary: "a retry re-sends ten accepted recipients (Exim bug 2693)",
                        log: b.text, expectedRules: ["duplicate-delivery"])
    }

    /// The peer's reply to the fifth pipelined RCPT never came, yet the relay went on and counted
    /// five deliveries.
    public static var missingPipelinedReply: Scenario {
        var b = LogBuilder()
        let rc = recipients(5)
        b.queued("MP1", from: "sender@example.org", rcpts: rc)
        b.session("s1", peer: peer)
        var answers = PeerAnswers()
        answers.rcpt = { $0 == 4 ? nil : SMTPReply(code: 250, enhanced: EnhancedStatus("2.1.5"), text: "Ok") }
        b.transaction("MP1", "t1", session: "s1", rcpts: rc, answers: answers)
        b.tally("MP1", "t1", accepted: 5, deferred: 0, bounced: 0)
        for r in rc { b.outcome("MP1", r, .delivered, txn: "t1") }
        b.done("MP1")
        return Scenario(name: "missing-pipelined-reply", summary: "five RCPTs, four replies, five counted as delivered",
                        log: b.text, expectedRules: ["reply-count-mismatch"])
    }

    /// Two unknown users; the DSN quotes each one's neighbour's reply (RFC 3464 Diagnostic-Code).
    public static var dsnQuotesNeighbour: Scenario {
        var b = LogBuilder()
        let rc = ["alice@example.net", "bob@example.net", "carol@example.net"]
        func unknown(_ r: String) -> SMTPReply {
            SMTPReply(code: 550, enhanced: EnhancedStatus("5.1.1"), text: "<\(r)>: Recipient address rejected: User unknown")
        }
        b.queued("DQ1", from: "sender@example.org", rcpts: rc)
        b.session("s1", peer: peer)
        var answers = PeerAnswers()
        answers.rcpt = { $0 == 0 ? SMTPReply(code: 250, text: "Ok") : unknown(rc[$0]) }
        b.transaction("DQ1", "t1", session: "s1", rcpts: rc, answers: answers)
        b.tally("DQ1", "t1", accepted: 1, deferred: 0, bounced: 2)
        b.outcome("DQ1", rc[0], .delivered, txn: "t1")
        b.outcome("DQ1", rc[1], .bounced, txn: "t1", reason: unknown(rc[1]).description)
        b.outcome("DQ1", rc[2], .bounced, txn: "t1", reason: unknown(rc[2]).description)
        b.ndr("DQ1", ndrMsg: "DQ1-NDR", rcpts: [rc[1], rc[2]],
              diagnostics: [rc[1]: "smtp; \(unknown(rc[2]))", rc[2]: "smtp; \(unknown(rc[2]))"])
        b.done("DQ1")
        return Scenario(name: "dsn-quotes-neighbour", summary: "a DSN quotes the next recipient's reply for bob",
                        log: b.text, expectedRules: ["diagnostic-mismatch"])
    }

    /// A lone 552 5.2.2 among 250s: that mailbox is full; bouncing it is right.
    public static var mailboxFull: Scenario {
        var b = LogBuilder()
        let rc = recipients(5)
        let full = SMTPReply(code: 552, enhanced: EnhancedStatus("5.2.2"), text: "Mailbox full")
        b.queued("MF1", from: "sender@example.org", rcpts: rc)
        b.session("s1", peer: peer)
        var answers = PeerAnswers()
        answers.rcpt = { $0 == 2 ? full : SMTPReply(code: 250, text: "Ok") }
        b.transaction("MF1", "t1", session: "s1", rcpts: rc, answers: answers)
        b.tally("MF1", "t1", accepted: 4, deferred: 0, bounced: 1)
        for (i, r) in rc.enumerated() {
            b.outcome("MF1", r, i == 2 ? .bounced : .delivered, txn: "t1", reason: i == 2 ? full.description : "")
        }
        b.ndr("MF1", ndrMsg: "MF1-NDR", rcpts: [rc[2]], diagnostics: [rc[2]: "smtp; \(full)"])
        b.done("MF1")
        return Scenario(name: "mailbox-full", summary: "a lone 552 5.2.2 mailbox full, bounced", log: b.text, expectedRules: [])
    }

    /// 552 5.3.4 to MAIL (the message is too big): the RCPT 503s are not verdicts, and everyone
    /// bounces with the MAIL reply.
    public static var mailSizeRefused: Scenario {
        var b = LogBuilder()
        let rc = recipients(4)
        let size = SMTPReply(code: 552, enhanced: EnhancedStatus("5.3.4"), text: "Message size exceeds fixed limit")
        b.queued("MS1", from: "sender@example.org", rcpts: rc, size: 90_000_000)
        b.session("s1", peer: peer)
        var answers = PeerAnswers()
        answers.mail = size
        answers.rcpt = { _ in SMTPReply(code: 503, enhanced: EnhancedStatus("5.5.1"), text: "Error: need MAIL command") }
        answers.data = SMTPReply(code: 503, enhanced: EnhancedStatus("5.5.1"), text: "Error: need RCPT command")
        b.transaction("MS1", "t1", session: "s1", rcpts: rc, answers: answers)
        b.tally("MS1", "t1", accepted: 0, deferred: 0, bounced: 4)
        for r in rc { b.outcome("MS1", r, .bounced, txn: "t1", reason: size.description) }
        b.ndr("MS1", ndrMsg: "MS1-NDR", rcpts: rc, diagnostics: Dictionary(uniqueKeysWithValues: rc.map { ($0, "smtp; \(size)") }))
        b.done("MS1")
        return Scenario(name: "mail-size-refused", summary: "552 5.3.4 to MAIL with 503 to every RCPT", log: b.text, expectedRules: [])
    }

    /// A peer that says too many after 20: the relay sends again, 20 at a time. The peer is at fault.
    public static var peerLimit20: Scenario {
        var b = LogBuilder()
        let rc = recipients(60)
        b.queued("PL1", from: "sender@example.org", rcpts: rc)
        b.session("s1", peer: peer)
        b.transaction("PL1", "t1", session: "s1", rcpts: rc, answers: .limit(20, tooMany452))
        b.tally("PL1", "t1", accepted: 20, deferred: 40, bounced: 0)
        for i in 0..<20 { b.outcome("PL1", rc[i], .delivered, txn: "t1") }
        for (n, start) in [20, 40].enumerated() {
            let txn = "t\(n + 2)"
            b.transaction("PL1", txn, session: "s1", rcpts: Array(rc[start..<start + 20]), answers: .limit(20, tooMany452))
            b.tally("PL1", txn, accepted: 20, deferred: 0, bounced: 0)
            for i in start..<start + 20 { b.outcome("PL1", rc[i], .delivered, txn: txn) }
        }
        b.done("PL1")
        return Scenario(name: "peer-limit-20", summary: "a peer limit of 20, resent in transactions of 20",
                        log: b.text, expectedRules: ["peer-limit-below-100"])
    }
}
