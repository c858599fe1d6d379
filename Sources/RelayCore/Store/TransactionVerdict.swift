/// What a transaction's replies decide for each of its recipients, by the rules R1–R2: MAIL's
/// refusal covers everyone, a RCPT refusal covers its own recipient, a refused DATA or end of data
/// covers only the recipients whose RCPT was accepted.
public struct TransactionVerdict: Sendable {
    public enum Fate: Sendable, Hashable {
        /// RCPT and end of data both accepted: the peer took responsibility.
        case accepted
        /// A too-many reply: must be sent again (R3).
        case tooMany(SMTPReply)
        case transient(SMTPReply, ReplyMeaning)
        case permanent(SMTPReply, ReplyMeaning)
        /// No verdict yet (RCPT reply or end of data not seen).
        case pending

        public var isAccepted: Bool { self == .accepted }
        public var isTooMany: Bool { if case .tooMany = self { true } else { false } }
        /// A permanent refusal of the recipient's own (not a recipient limit).
        public var isOwnPermanent: Bool { if case .permanent = self { true } else { false } }
        public var reply: SMTPReply? {
            switch self {
            case .tooMany(let r), .transient(let r, _), .permanent(let r, _): r
            case .accepted, .pending: nil
            }
        }
    }

    /// RCPT reply meanings by position (nil where no reply was paired).
    public let meanings: [ReplyMeaning?]
    public let fates: [Fate]
    public let mailRefused: Bool

    public init(_ t: TransactionRecord) {
        meanings = ReplyClassifier.classifyRecipients(mail: t.mail, rcpts: t.rcptReplies)
        let mailRefused = t.mail.map { $0.replyClass == .transient || $0.replyClass == .permanent } ?? false
        self.mailRefused = mailRefused

        func refusal(_ r: SMTPReply, _ meaning: ReplyMeaning) -> Fate {
            r.replyClass == .transient ? .transient(r, meaning) : .permanent(r, meaning)
        }
        // What the message-level replies say for a recipient whose RCPT was accepted.
        var afterRcpt: Fate = .pending
        if let data = t.data, data.replyClass != .intermediate, data.replyClass != .positive {
            afterRcpt = refusal(data, ReplyClassifier.meaning(of: data, to: .data) ?? .refused)
        } else if let dot = t.dot {
            afterRcpt = dot.replyClass == .positive
                ? .accepted : refusal(dot, ReplyClassifier.meaning(of: dot, to: .dot) ?? .refused)
        }

        var fates: [Fate] = []
        fates.reserveCapacity(t.rcpts.count)
        for i in t.rcpts.indices {
            if mailRefused, let mail = t.mail {
                fates.append(refusal(mail, ReplyClassifier.meaning(of: mail, to: .mail) ?? .refused))
                continue
            }
            guard let reply = t.rcptReplies[i], let meaning = meanings[i] else {
                fates.append(.pending)
                continue
            }
            switch meaning {
            case .accepted: fates.append(afterRcpt)
            case .tooManyRecipients: fates.append(.tooMany(reply))
            case .notAVerdict: fates.append(.pending)
            default: fates.append(refusal(reply, meaning))
            }
        }
        self.fates = fates
    }

    /// Positions whose RCPT got a too-many reply.
    public var tooManyPositions: [Int] { fates.indices.filter { fates[$0].isTooMany } }
}
