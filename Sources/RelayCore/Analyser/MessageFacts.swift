/// Per-recipient facts the rules share, derived once per analysis from a ``MessageRecord``.
struct MessageFacts {
    typealias RecipientID = MessageRecord.RecipientID

    let verdicts: [TransactionVerdict]
    /// Per recipient: the transactions whose RCPT and end of data both accepted it.
    let acceptedIn: [[Int]]
    let delivered: [Bool]
    let finalOutcome: [Bool]
    let ndrNamed: [Bool]
    let inTransaction: [Bool]
    let hasOutcome: [Bool]
    let ownPermanent: [Bool]
    let expired: [Bool]
    /// Recipients that got a too-many reply and were not accepted or delivered afterwards.
    let unresolvedTooMany: Set<RecipientID>
    let firstTooManyTxn: Int?
    /// Transactions already reported as reply-count-mismatch (their tally cannot be checked).
    var countMismatch = Set<Int>()

    init(_ m: MessageRecord) {
        let n = m.recipients.count
        verdicts = m.transactions.map(TransactionVerdict.init)
        var acceptedIn = Array(repeating: [Int](), count: n)
        var inTransaction = Array(repeating: false, count: n)
        var ownPermanent = Array(repeating: false, count: n)
        var gotTooMany = Array(repeating: false, count: n)
        var firstTooMany: Int? = nil
        for (k, t) in m.transactions.enumerated() {
            for (i, r) in t.rcpts.enumerated() {
                let r = Int(r)
                inTransaction[r] = true
                switch verdicts[k].fates[i] {
                case .accepted: acceptedIn[r].append(k)
                case .permanent: ownPermanent[r] = true
                case .tooMany:
                    gotTooMany[r] = true
                    if firstTooMany == nil { firstTooMany = k }
                default: break
                }
            }
        }
        var delivered = Array(repeating: false, count: n)
        var finalOutcome = Array(repeating: false, count: n)
        var hasOutcome = Array(repeating: false, count: n)
        var expired = Array(repeating: false, count: n)
        for o in m.outcomes {
            let r = Int(o.rcpt)
            hasOutcome[r] = true
            if o.status == .delivered { delivered[r] = true }
            if o.status == .expired { expired[r] = true }
            if o.status.isFinal { finalOutcome[r] = true }
        }
        var ndrNamed = Array(repeating: false, count: n)
        for ndr in m.ndrs { for r in ndr.rcpts { ndrNamed[Int(r)] = true } }
        var unresolved = Set<RecipientID>()
        for r in 0..<n where gotTooMany[r] && acceptedIn[r].isEmpty && !delivered[r] {
            unresolved.insert(RecipientID(r))
        }
        self.acceptedIn = acceptedIn
        self.delivered = delivered
        self.finalOutcome = finalOutcome
        self.ndrNamed = ndrNamed
        self.inTransaction = inTransaction
        self.hasOutcome = hasOutcome
        self.ownPermanent = ownPermanent
        self.expired = expired
        self.unresolvedTooMany = unresolved
        self.firstTooManyTxn = firstTooMany
    }

    /// In the queued list, in a transaction, or given an outcome: an address the relay handled for
    /// this message (an address that appears only in an NDR is not one).
    func isRecipient(_ r: RecipientID, _ m: MessageRecord) -> Bool {
        m.listed[Int(r)] || inTransaction[Int(r)] || hasOutcome[Int(r)]
    }

    func recipientCount(_ m: MessageRecord) -> Int {
        m.recipients.indices.filter { isRecipient(RecipientID($0), m) }.count
    }

    /// A failure of the recipient's own that explains an NDR for it: a permanent refusal that is not
    /// a recipient limit, or the queue lifetime running out.
    func ownFailure(_ r: RecipientID) -> Bool { ownPermanent[Int(r)] || expired[Int(r)] }

    /// Whether the NDR's diagnostic for r quotes a too-many reply; nil when none was logged.
    func quotedTooMany(_ r: RecipientID, _ m: MessageRecord) -> Bool? {
        for ndr in m.ndrs {
            if let d = ndr.diagnostics[r], let q = Analyser.parseDiagnostic(d) {
                return ReplyClassifier.meaning(of: q, to: .rcpt) == .tooManyRecipients
            }
        }
        return nil
    }

    /// What the relay decided for r after transaction k: its outcome for k, else its next outcome,
    /// else bounced if an NDR named it afterwards.
    func decision(for r: RecipientID, after k: Int, in m: MessageRecord) -> Outcome.Status? {
        let t = m.transactions[k]
        if let o = m.outcomes.first(where: { $0.rcpt == r && $0.transaction == k }) { return o.status }
        if let o = m.outcomes.first(where: { $0.rcpt == r && $0.seq > t.seq }) { return o.status }
        if m.ndrs.contains(where: { $0.seq > t.seq && $0.rcpts.contains(r) }) { return .bounced }
        return nil
    }

    /// "552 5.5.3 too many recipients", from transaction k's first too-many reply.
    func tooManyLabel(_ k: Int) -> String {
        guard let first = verdicts[k].fates.first(where: \.isTooMany), let r = first.reply else {
            return "too many recipients"
        }
        return "\(r.code)\(r.enhanced.map { " \($0)" } ?? "") too many recipients"
    }

    /// Every reply that was r's own: its RCPT replies, the MAIL reply where MAIL was refused, and
    /// the DATA and end-of-data replies of transactions that accepted its RCPT.
    func ownReplies(_ r: RecipientID, _ m: MessageRecord) -> [SMTPReply] {
        var out: [SMTPReply] = []
        for (k, t) in m.transactions.enumerated() {
            for i in t.rcpts.indices where t.rcpts[i] == r {
                if verdicts[k].mailRefused, let mail = t.mail { out.append(mail); continue }
                if let reply = t.rcptReplies[i] { out.append(reply) }
                if verdicts[k].meanings[i] == .accepted {
                    if let d = t.data { out.append(d) }
                    if let d = t.dot { out.append(d) }
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
