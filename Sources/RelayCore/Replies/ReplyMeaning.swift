/// What a reply means for the recipients it concerns, once classified (see <doc:ReplyClassification>).
public enum ReplyMeaning: Sendable, Hashable {
    /// 2yz, or 354 to DATA.
    case accepted
    /// The peer's recipient limit: send these recipients again in a new transaction (RFC 5321
    /// §4.5.3.1.10), whatever the first digit says.
    case tooManyRecipients
    /// The mailbox is over quota (x.2.2).
    case mailboxFull
    /// The message is too big for the peer or the mailbox (x.2.3, x.3.4, 552 to MAIL or end of data).
    case messageSize
    /// The peer's system is out of storage (x.3.1).
    case systemStorage
    /// A per-client rate limit that happens to mention recipients ("too many recipients from <ip>").
    case rateLimited
    /// Says nothing about the recipient: the RCPT replies (usually 503) after a refused MAIL.
    case notAVerdict
    /// Any other refusal: the recipient takes the reply's class (4yz transient, 5yz permanent).
    case refused

    public var isTooMany: Bool { self == .tooManyRecipients }

    /// Short label for reports and the monitor.
    public var label: String {
        switch self {
        case .accepted: "accepted"
        case .tooManyRecipients: "too many recipients"
        case .mailboxFull: "mailbox full"
        case .messageSize: "message too big"
        case .systemStorage: "peer out of storage"
        case .rateLimited: "rate limited"
        case .notAVerdict: "not a verdict (MAIL was refused)"
        case .refused: "refused"
        }
    }
}
