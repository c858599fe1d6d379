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
    /// Whether a refused DATA (rather than the end of data) decided the accepted recipients.
    private let dataDecided: Bool

    public init(_ t: TransactionRecord) {
        meanings = ReplyClassifier.classifyRecipients(mail: t.mail, rcpts: t.rcptReplies)
        let mailRefused = t.mail.map { $0.replyClass == .transient || $0.replyClass == .permanent } ?? false
        self.mailRefused = mailRefused

        func refusal(_ r: SMTPReply) -> Fate { r.replyClass == .transient ? .transient : .permanent }
        var after: Fate = .pending
        var dataDecided = false
        if let data = t.data, data.replyClass != .intermediate, data.replyClass != .positive {
            after = refusal(data)
            dataDecided = true
        } else if let dot = t.dot {
            after = dot.replyClass == .positive ? .accepted : refusal(dot)
        }
        self.dataDecided = dataDecided

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

    /// The reply that decided position i's fate in transaction `t` (the one this verdict is of;
    /// nil while pending). The verdict keeps no replies of its own: they stay in the record.
    public func reply(at i: Int, in t: TransactionRecord) -> SMTPReply? {
        if mailRefused { return t.mail }
        if meanings[i] == .accepted { return dataDecided ? t.data : t.dot }
        return t.rcptReplies[i]
    }
}
