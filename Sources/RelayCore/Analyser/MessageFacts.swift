/// Per-recipient facts the rules share, derived once per analysis from a ``MessageRecord``.
/// Flat arrays of small values: the report analyses every message of the log, so this is built
/// tens of thousands of times a second.
struct MessageFacts {
    typealias RecipientID = MessageRecord.RecipientID

    struct Flags: OptionSet {
        let rawValue: UInt16
        static let inTransaction = Flags(rawValue: 1 << 0)
        static let delivered = Flags(rawValue: 1 << 1)
        /// Delivered, bounced or expired.
        static let finalOutcome = Flags(rawValue: 1 << 2)
        static let ndrNamed = Flags(rawValue: 1 << 3)
        static let hasOutcome = Flags(rawValue: 1 << 4)
        /// A permanent refusal that is not a recipient limit, in some transaction.
        static let ownPermanent = Flags(rawValue: 1 << 5)
        static let expired = Flags(rawValue: 1 << 6)
        static let gotTooMany = Flags(rawValue: 1 << 7)
    }

    let verdicts: [TransactionVerdict]
    let flags: [Flags]
    /// Per recipient: the first and second transactions whose RCPT and end of data both accepted
    /// it (-1: none). Empty for a message without transactions (a log without RCPT positions,
    /// such as Postfix's or Exim's): two arrays fewer to allocate for each of its messages.
    private let first: [Int32]
    private let second: [Int32]
    func acceptedFirst(_ r: Int) -> Int32 { first.isEmpty ? -1 : first[r] }
    func acceptedSecond(_ r: Int) -> Int32 { second.isEmpty ? -1 : second[r] }
    /// Recipients that got a too-many reply and were not accepted or delivered afterwards.
    let unresolvedTooMany: Set<RecipientID>
    let firstTooManyTxn: Int?
    /// The first outcome whose logged reply (without a RCPT position) is a too-many refusal.
    let firstUnplacedTooMany: Int?

    init(_ m: MessageRecord, verdicts: [TransactionVerdict]) {
        let n = m.recipients.count
        self.verdicts = verdicts
        var flags = Array(filled: Flags(), count: n)
        var first = m.transactions.isEmpty ? [] : Array(filled: Int32(-1), count: n)
        var second = m.transactions.isEmpty ? [] : Array(filled: Int32(-1), count: n)
        var firstTooMany: Int? = nil
        for (k, t) in m.transactions.enumerated() {
            let fates = verdicts[k].fates
            for (i, r) in t.rcpts.enumerated() {
                let r = Int(r)
                flags[r].insert(.inTransaction)
                switch fates[i] {
                case .accepted:
                    if first[r] < 0 { first[r] = Int32(k) } else if second[r] < 0 { second[r] = Int32(k) }
                case .permanent: flags[r].insert(.ownPermanent)
                case .tooMany:
                    flags[r].insert(.gotTooMany)
                    if firstTooMany == nil { firstTooMany = k }
                case .transient, .pending: break
                }
            }
        }
        // A log without RCPT positions (Postfix) gives each recipient's reply with the relay's
        // decision instead: read it for the same facts a transaction's reply gives.
        var unplacedTooMany: Int? = nil
        let positionless = m.transactions.isEmpty
        // By index: a `for o in` loop copied each outcome (retaining its strings) to look at it.
        for j in m.outcomes.indices {
            let r = Int(m.outcomes[j].rcpt)
            flags[r].insert(.hasOutcome)
            if m.outcomes[j].transaction == nil {
                if m.outcomes[j].reply != nil, m.outcomes[j].command == .rcpt, m.outcomes[j].meaning == .tooManyRecipients {
                    flags[r].insert(.gotTooMany)
                    if unplacedTooMany == nil { unplacedTooMany = j }
                } else if m.outcomes[j].reply?.replyClass == .permanent {
                    flags[r].insert(.ownPermanent)
                } else if positionless, m.outcomes[j].reply == nil, m.outcomes[j].status == .bounced {
                    // Refused by the relay itself (a local mailbox, a loop): its own failure.
                    flags[r].insert(.ownPermanent)
                }
            }
            switch m.outcomes[j].status {
            case .delivered: flags[r].formUnion([.delivered, .finalOutcome])
            case .expired: flags[r].formUnion([.expired, .finalOutcome])
            case .bounced: flags[r].insert(.finalOutcome)
            case .deferred: break
            }
        }
        for ndr in m.ndrs { for r in ndr.rcpts { flags[Int(r)].insert(.ndrNamed) } }
        var unresolved = Set<RecipientID>()
        if firstTooMany != nil || unplacedTooMany != nil {
            for r in 0..<n where flags[r].contains(.gotTooMany) && (first.isEmpty || first[r] < 0) && !flags[r].contains(.delivered) {
                unresolved.insert(RecipientID(r))
            }
        }
        self.flags = flags
        self.first = first
        self.second = second
        unresolvedTooMany = unresolved
        firstTooManyTxn = firstTooMany
        firstUnplacedTooMany = unplacedTooMany
    }

    func has(_ r: RecipientID, _ f: Flags) -> Bool { flags[Int(r)].contains(f) }

    /// Accepted (RCPT and end of data) in some transaction, or logged as delivered.
    func wasAccepted(_ r: RecipientID) -> Bool { acceptedFirst(Int(r)) >= 0 || has(r, .delivered) }

    /// In the queued list, in a transaction, or given an outcome: an address the relay handled for
    /// this message (an address that appears only in an NDR is not one).
    func isRecipient(_ r: RecipientID, _ m: MessageRecord) -> Bool {
        m.listed[Int(r)] || !flags[Int(r)].isDisjoint(with: [.inTransaction, .hasOutcome])
    }

    func recipientCount(_ m: MessageRecord) -> Int {
        m.recipients.indices.reduce(0) { $0 + (isRecipient(RecipientID($1), m) ? 1 : 0) }
    }

    /// A failure of the recipient's own that explains an NDR for it: a permanent refusal that is not
    /// a recipient limit, or the queue lifetime running out.
    func ownFailure(_ r: RecipientID) -> Bool { !flags[Int(r)].isDisjoint(with: [.ownPermanent, .expired]) }

    /// Whether the NDR's diagnostic for r quotes a too-many reply; nil when none was logged.
    func quotedTooMany(_ r: RecipientID, _ m: MessageRecord) -> Bool? {
        for ndr in m.ndrs {
            if let d = ndr.diagnostics[r], let q = Analyser.parseDiagnostic(d) {
                return ReplyClassifier.meaning(of: q, to: .rcpt) == .tooManyRecipients
            }
        }
        return nil
    }

    /// What the relay decided for each recipient of transaction k (by RecipientID, nil where
    /// nothing): its outcome for k; else "deferred" when a later transaction carries it again (it
    /// was sent again, whatever happened to it there); else its next outcome; else bounced if an
    /// NDR named it afterwards. One pass over the outcomes and transactions.
    func decisions(after k: Int, in m: MessageRecord) -> [Outcome.Status?] {
        let seq = m.transactions[k].seq
        let n = m.recipients.count
        var forThis = [Outcome.Status?](filled: nil, count: n)
        var next = [Outcome.Status?](filled: nil, count: n)
        var sentAgain = [Bool](filled: false, count: n)
        for u in m.transactions[(k + 1)...] { for r in u.rcpts { sentAgain[Int(r)] = true } }
        // By index: a `for o in` loop copied each outcome (retaining its strings) to look at it.
        for j in m.outcomes.indices {
            let r = Int(m.outcomes[j].rcpt)
            if m.outcomes[j].transaction == k, forThis[r] == nil { forThis[r] = m.outcomes[j].status }
            if m.outcomes[j].seq > seq, next[r] == nil { next[r] = m.outcomes[j].status }
        }
        for ndr in m.ndrs where ndr.seq > seq {
            for r in ndr.rcpts where next[Int(r)] == nil { next[Int(r)] = .bounced }
        }
        return (0..<n).map { r in forThis[r] ?? (sentAgain[r] ? .deferred : next[r]) }
    }

    /// "552 5.5.3 too many recipients" from the first too-many reply logged with an outcome.
    func unplacedTooManyLabel(in m: MessageRecord) -> String {
        guard let j = firstUnplacedTooMany, let r = m.outcomes[j].reply else { return "too many recipients" }
        return "\(r.codeLabel) too many recipients"
    }

    /// "552 5.5.3 too many recipients", from transaction k's first too-many reply.
    func tooManyLabel(_ k: Int, in m: MessageRecord) -> String {
        guard let first = verdicts[k].tooManyPositions.first, let r = verdicts[k].reply(at: first, in: m.transactions[k]) else {
            return "too many recipients"
        }
        return "\(r.codeLabel) too many recipients"
    }

    /// Every reply that was each recipient's own: its RCPT replies, the MAIL reply where MAIL was
    /// refused, and the DATA and end-of-data replies of transactions that accepted its RCPT. One
    /// pass over the transactions for all the recipients asked about.
    func ownReplies(of wanted: Set<RecipientID>, _ m: MessageRecord) -> [RecipientID: [SMTPReply]] {
        var out: [RecipientID: [SMTPReply]] = [:]
        guard !wanted.isEmpty else { return out }
        for (k, t) in m.transactions.enumerated() {
            for (i, r) in t.rcpts.enumerated() where wanted.contains(r) {
                if verdicts[k].mailRefused, let mail = t.mail { out[r, default: []].append(mail); continue }
                if let reply = t.rcptReplies[i] { out[r, default: []].append(reply) }
                if verdicts[k].meanings[i] == .accepted {
                    if let d = t.data { out[r, default: []].append(d) }
                    if let d = t.dot { out[r, default: []].append(d) }
                }
            }
        }
        return out
    }

    /// Where a quoted reply came from when it was not r's: "RCPT #3 (c@x) in t1".
    func replyOwner(of quoted: SMTPReply, other r: RecipientID, _ m: MessageRecord) -> String? {
        for t in m.transactions {
            for i in t.rcpts.indices where t.rcpts[i] != r {
                if let reply = t.rcptReplies[i], Analyser.quotes(quoted, reply) {
                    return "RCPT #\(i + 1) (\(m.recipients[Int(t.rcpts[i])])) in \(t.id)"
                }
            }
        }
        return nil
    }
}
