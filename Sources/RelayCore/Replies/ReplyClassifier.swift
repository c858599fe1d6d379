/// Tells what a reply means, by the order the rules digest gives: the command it answers, then the
/// enhanced code, then the text, then (for a pipelined RCPT group) the position.
public enum ReplyClassifier {
    /// Steps 1–3 for one reply. Returns nil for an RCPT refusal that code, enhanced code and text
    /// leave undecided; ``classifyRecipients(mail:rcpts:)`` decides those by position.
    public static func meaning(of reply: SMTPReply, to command: SMTPCommand) -> ReplyMeaning? {
        let cls = reply.replyClass
        if cls == .positive { return .accepted }
        if cls == .intermediate { return command == .data ? .accepted : .refused }
        guard cls == .transient || cls == .permanent else { return .refused }

        switch command {
        case .mail:
            // RFC 1870: a 552 to MAIL is about the message's size, never a recipient limit.
            if reply.code == 552 { return .messageSize }
            return byEnhancedCode(reply.enhanced, recipientContext: false) ?? .refused
        case .dot:
            // 552 after the data: too much mail data.
            if reply.code == 552 { return .messageSize }
            return byEnhancedCode(reply.enhanced, recipientContext: false) ?? .refused
        case .rcpt:
            if let e = reply.enhanced { return byEnhancedCode(e, recipientContext: true) ?? .refused }
            return byText(reply.text)
        default:
            return byEnhancedCode(reply.enhanced, recipientContext: false) ?? .refused
        }
    }

    /// RFC 3463: the enhanced code decides when present.
    static func byEnhancedCode(_ e: EnhancedStatus?, recipientContext: Bool) -> ReplyMeaning? {
        guard let e else { return nil }
        switch (e.subject, e.detail) {
        case (5, 3): return recipientContext ? .tooManyRecipients : .refused
        case (2, 2): return .mailboxFull
        case (2, 3), (3, 4): return .messageSize
        case (3, 1): return .systemStorage
        default: return nil
        }
    }

    /// Step 3: the words servers use. Checked in this order because "too many recipients from"
    /// (Postfix's rate limit) contains "too many recipients".
    static func byText(_ text: String) -> ReplyMeaning? {
        let t = text.lowercased()
        if t.contains("too many recipients from") || t.contains("rate limit") || t.contains("too many connections") {
            return .rateLimited
        }
        if t.contains("too many recipients") || t.contains("too many rcpt") || t.contains("recipient limit")
            || t.contains("recipients limit") || t.contains("per transaction")
            || (t.contains("maximum") && t.contains("recipients")) {
            return .tooManyRecipients
        }
        if t.contains("quota") || t.contains("mailbox full") || t.contains("mailbox is full") {
            return .mailboxFull
        }
        if t.contains("too much mail data") || t.contains("too big") || t.contains("too large") || t.contains("size") {
            return .messageSize
        }
        if t.contains("insufficient system storage") { return .systemStorage }
        return nil
    }

    /// The reply codes that can carry a recipient limit (RFC 5321 §4.5.3.1.10 and the servers in
    /// the digest): only these are read by position.
    static let limitCodes: Set<Int> = [451, 452, 552]

    /// Classifies the RCPT replies of one transaction (or pipelined group) together.
    ///
    /// - R1: after a refused MAIL, every RCPT reply is ``ReplyMeaning/notAVerdict``.
    /// - Step 4: a run of identical, otherwise undecided 451/452/552 refusals from position k to the
    ///   last RCPT, after at least one accepted recipient, is a recipient limit of k. A run of one
    ///   counts only at k ≥ 100, where a limit is the likely reading; a lone 552 among 250s is a
    ///   problem of that mailbox.
    ///
    /// `rcpts[i]` is the reply paired with RCPT i by position, nil when none was received.
    public static func classifyRecipients(mail: SMTPReply?, rcpts: [SMTPReply?]) -> [ReplyMeaning?] {
        if let mail, mail.replyClass == .transient || mail.replyClass == .permanent {
            return rcpts.map { $0 == nil ? nil : .notAVerdict }
        }
        var out = rcpts.map { r in r.map { meaning(of: $0, to: .rcpt) ?? .refused } }
        guard let lastIndex = rcpts.indices.last, let last = rcpts[lastIndex],
              limitCodes.contains(last.code), meaning(of: last, to: .rcpt) == nil
        else { return out }
        var k = lastIndex
        while k > 0, let prev = rcpts[k - 1], meaning(of: prev, to: .rcpt) == nil, prev.sameReply(as: last) {
            k -= 1
        }
        let runLength = lastIndex - k + 1
        let acceptedBefore = rcpts[..<k].contains { $0?.replyClass == .positive }
        if acceptedBefore && (runLength >= 2 || k >= 100) {
            for i in k...lastIndex { out[i] = .tooManyRecipients }
        }
        return out
    }

}
