/// A rule the analyser checks. The raw values are stable ids: other tools and tests key on them.
public enum Rule: String, Sendable, Hashable, CaseIterable, Comparable {
    case replyCountMismatch = "reply-count-mismatch"
    case limitBounced = "limit-bounced"
    case ndrCountMismatch = "ndr-count-mismatch"
    case ndrWrongRecipient = "ndr-wrong-recipient"
    case recipientLost = "recipient-lost"
    case duplicateDelivery = "duplicate-delivery"
    case diagnosticMismatch = "diagnostic-mismatch"
    case tallyMismatch = "tally-mismatch"
    case peerLimitBelow100 = "peer-limit-below-100"

    public var severity: Severity {
        switch self {
        case .replyCountMismatch: .protocol
        case .limitBounced: .deviation
        case .ndrCountMismatch, .ndrWrongRecipient, .recipientLost, .duplicateDelivery,
             .diagnosticMismatch, .tallyMismatch: .miscount
        case .peerLimitBelow100: .peer
        }
    }

    /// The standard the finding rests on, for the monitor's explanation.
    public var reference: String {
        switch self {
        case .replyCountMismatch: "RFC 2920 §3.1: replies pair with commands by position, one each"
        case .limitBounced: "RFC 5321 §4.5.3.1.10: a too-many reply means send again later"
        case .ndrCountMismatch: "Microsoft KB822105: NDRs must match the too-many replies one for one"
        case .ndrWrongRecipient: "RFC 5321 §6.1: only recipients that failed get a failure notice"
        case .recipientLost: "RFC 5321 §6.1: every recipient is delivered or reported"
        case .duplicateDelivery: "RFC 5321 §4.5.3.1.10: a retry carries only the refused recipients"
        case .diagnosticMismatch: "RFC 3464 §2.3.6: Diagnostic-Code quotes that recipient's own reply"
        case .tallyMismatch: "RFC 2920 §3.1: every reply of the group is read and counted"
        case .peerLimitBelow100: "RFC 5321 §4.5.3.1.8: a server accepts at least 100 recipients"
        }
    }

    public static func < (a: Rule, b: Rule) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// How bad a finding is for the people whose mail it is.
public enum Severity: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The relay told someone their mail failed when it did not, lost a recipient, delivered twice,
    /// or counted wrong: the KB822105 family.
    case miscount
    /// A documented but wrong choice, applied correctly (Postfix bouncing a too-many 552).
    case deviation
    /// Replies and commands do not pair: the relay's SMTP client or the log is broken.
    case `protocol`
    /// The peer broke a rule, not the relay.
    case peer

    public static func < (a: Severity, b: Severity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One finding about one message (and transaction, when it concerns one).
public struct Anomaly: Sendable, Hashable {
    public var rule: Rule
    public var msg: String
    public var txn: String?
    public var rcpts: [String]
    /// One sentence a mail admin understands, naming RCPT positions and codes.
    public var detail: String

    public var severity: Severity { rule.severity }

    public init(rule: Rule, msg: String, txn: String?, rcpts: [String], detail: String) {
        self.rule = rule
        self.msg = msg
        self.txn = txn
        self.rcpts = rcpts
        self.detail = detail
    }
}

/// "#98–#100, #105": 0-based positions written as RCPT numbers (1-based), consecutive runs joined.
public func describePositions(_ positions: [Int], limit: Int = 6) -> String {
    let sorted = Array(Set(positions)).sorted()
    var runs: [(Int, Int)] = []
    for p in sorted {
        if let last = runs.last, last.1 == p - 1 { runs[runs.count - 1].1 = p } else { runs.append((p, p)) }
    }
    var parts = runs.prefix(limit).map { $0.0 == $0.1 ? "#\($0.0 + 1)" : "#\($0.0 + 1)–#\($0.1 + 1)" }
    if runs.count > limit { parts.append("and \(runs.count - limit) more") }
    return parts.joined(separator: ", ")
}
