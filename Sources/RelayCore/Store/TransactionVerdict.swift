/// What a transaction's replies decide for each of its recipients, by the rules R1–R2: MAIL's
/// refusal covers everyone, a RCPT refusal covers its own recipient, a refused DATA or end of data
/// covers only the recipients whose RCPT was accepted.
public struct TransactionVerdict: Sendable {
    public enum Fate: UInt8, Sendable, Hashable {
        /// RCPT and end of data both accepted: the peer took responsibility.
        case accepted
        /// A too-many reply: must be sent again (R3).
        case tooMany
        /// Refused for now (4yz), by its own RCPT reply, MAIL, DATA or end of data.
        case transient
        /// Refused for good (5yz) by a reply that is not a recipient limit.
        case permanent
        /// No verdict yet (RCPT reply or end of data not seen).
        case pending
    }

    /// RCPT reply meanings by position (nil where no reply was paired).
    public let meanings: [ReplyMeaning?]
    public let fates: [Fate]
    public let mailRefused: Bool
    /// Positions whose RCPT got a too-many reply.
    public let tooManyPositions: [Int]
    /// Which reply decided the recipients whose RCPT was accepted: the refused DATA, else the
    /// end of data (nil: neither came).
    private let afterRcpt: SMTPReply?
    private let mail: SMTPReply?
    private let rcptReplies: [SMTPReply?]

    public init(_ t: TransactionRecord) {
        meanings = ReplyClassifier.classifyRecipients(mail: t.mail, rcpts: t.rcptReplies)
        mail = t.mail
        rcptReplies = t.rcptReplies
        let mailRefused = t.mail.map { $0.replyClass == .transient || $0.replyClass == .permanent } ?? false
        self.mailRefused = mailRefused

        func refusal(_ r: SMTPReply) -> Fate { r.replyClass == .transient ? .transient : .permanent }
        var after: Fate = .pending
        var afterReply: SMTPReply? = nil
        if let data = t.data, data.replyClass != .intermediate, data.replyClass != .positive {
            after = refusal(data)
            afterReply = data
        } else if let dot = t.dot {
            after = dot.replyClass == .positive ? .accepted : refusal(dot)
            afterReply = dot
        }
        afterRcpt = afterReply

        var fates: [Fate] = []
        fates.reserveCapacity(t.rcpts.count)
        var tooMany: [Int] = []
        let mailFate = t.mail.map(refusal) ?? .pending
        for i in t.rcpts.indices {
            if mailRefused {
                fates.append(mailFate)
                continue
            }
            guard let reply = t.rcptReplies[i], let meaning = meanings[i] else {
                fates.append(.pending)
                continue
            }
            switch meaning {
            case .accepted: fates.append(after)
            case .tooManyRecipients:
                fates.append(.tooMany)
                tooMany.append(i)
            case .notAVerdict: fates.append(.pending)
            default: fates.append(refusal(reply))
            }
        }
        self.fates = fates
        tooManyPositions = tooMany
    }

    /// The reply that decided position i's fate (nil while pending).
    public func reply(at i: Int) -> SMTPReply? {
        if mailRefused { return mail }
        if meanings[i] == .accepted { return afterRcpt }
        return rcptReplies[i]
    }
}
