import RelayCore

/// What the screen needs about one message, derived from its record when it changes (not on
/// every frame): the analyser's findings, each recipient's status, and counts. (Where its
/// recipients went is worked out only when the destinations view or a `dest:` filter asks:
/// ``Monitor/destinationTallies``.)
public struct MessageSummary: Sendable {
    public var id: String
    public var from: String
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    public var done: Bool
    public var held: Bool
    public var recipients: Int
    public var statuses: [RecipientStatus]
    public var anomalies: [Anomaly]
    public var delivered = 0, transient = 0, permanent = 0, tooMany = 0, pending = 0, ndr = 0
    /// Every reply code seen in its transactions (for `code:552` filters).
    public var codes: Set<Int>

    public init(_ m: MessageRecord, peers: [String: String]) {
        id = m.id
        from = m.from ?? "?"
        firstSeen = m.queuedAt ?? m.firstSeen
        lastSeen = m.lastSeen
        done = m.done
        held = m.held
        recipients = m.recipients.count
        let verdicts = m.transactions.map(TransactionVerdict.init)
        anomalies = Analyser.analyse(m, peers: peers, verdicts: verdicts)
        statuses = RecipientStatus.all(in: m, verdicts: verdicts, anomalies: anomalies)
        var codes = Set<Int>()
        for t in m.transactions {
            for r in [t.mail, t.data, t.dot] { if let r { codes.insert(r.code) } }
            for r in t.rcptReplies { if let r { codes.insert(r.code) } }
        }
        self.codes = codes
        for s in statuses {
            switch s.state {
            case .delivered: delivered += 1
            case .transient: transient += 1
            case .permanent: permanent += 1
            case .tooMany: tooMany += 1
            case .pending, .accepted: pending += 1
            }
            if s.ndr { ndr += 1 }
        }
    }

    /// "in flight", "held", "done": the message's place in the queue.
    public var stateLabel: String { done ? "done" : held ? "held" : "in flight" }

    /// Any finding at all, whatever its severity.
    public var flagged: Bool { !anomalies.isEmpty }
}

/// One message's recipients at one destination, and what that destination said.
public struct DestinationTally: Sendable, Equatable {
    /// A next hop ("127.0.0.1:2526") or, for recipients never sent anywhere, their domain.
    public var name: String
    public var isHop: Bool
    /// Recipients without a final outcome (counted while the message is in the queue).
    public var waiting = 0
    /// Of those, the ones whose last outcome was a deferral.
    public var deferred = 0
    public var bounced = 0
    public var delivered = 0
    /// The recipient limit the peer showed: RCPTs before its first too-many reply, and that reply.
    public var limit: Int?
    public var limitReply: String?
    /// The latest reply from this destination (or the relay's last word on it), and when.
    public var lastReply: String?
    public var lastReplyClass: ReplyClass?
    public var lastReplyAt: Timestamp?

    /// The tallies of one message, one per destination its recipients have.
    static func of(_ m: MessageRecord, peers: [String: String]) -> [DestinationTally] {
        let n = m.recipients.count
        guard n > 0 else { return [] }
        // Where each recipient went last: the hop of its latest transaction.
        var hopOf = [Int32](repeating: -1, count: n)
        var hops: [String] = []
        var hopIndex: [String: Int32] = [:]
        var txnHop: [Int32] = []
        for t in m.transactions {
            let name = peers[t.session] ?? "session \(t.session)"
            let h = hopIndex[name] ?? {
                hops.append(name)
                hopIndex[name] = Int32(hops.count - 1)
                return Int32(hops.count - 1)
            }()
            txnHop.append(h)
            for r in t.rcpts { hopOf[Int(r)] = h }
        }
        var final = [Outcome.Status?](repeating: nil, count: n)
        var lastOutcome = [Int32](repeating: -1, count: n)
        for (j, o) in m.outcomes.enumerated() {
            let r = Int(o.rcpt)
            lastOutcome[r] = Int32(j)
            // The latest final outcome decides; a deferral counts only while there is none.
            if o.status.isFinal { final[r] = o.status } else if final[r] == nil { final[r] = .deferred }
        }
        var byName: [String: Int] = [:]
        var out: [DestinationTally] = []
        func slot(_ name: String, hop: Bool) -> Int {
            if let i = byName[name] { return i }
            out.append(DestinationTally(name: name, isHop: hop))
            byName[name] = out.count - 1
            return out.count - 1
        }
        for r in 0..<n {
            let i: Int
            if hopOf[r] >= 0 {
                i = slot(hops[Int(hopOf[r])], hop: true)
            } else {
                let address = m.recipients[r]
                let domain = address.lastIndex(of: "@").map { address[address.index(after: $0)...].lowercased() } ?? address
                i = slot(domain, hop: false)
                // Never sent: the relay's last word on it stands for the destination's reply.
                if lastOutcome[r] >= 0 {
                    let o = m.outcomes[Int(lastOutcome[r])]
                    if out[i].lastReplyAt.map({ o.at >= $0 }) ?? true {
                        out[i].lastReply = o.reason.isEmpty ? o.status.rawValue : o.reason
                        out[i].lastReplyClass = SMTPReply(parsing: o.reason)?.replyClass ?? (o.status == .delivered ? .positive : o.status == .deferred ? .transient : .permanent)
                        out[i].lastReplyAt = o.at
                    }
                }
            }
            switch final[r] {
            case .delivered: out[i].delivered += 1
            case .bounced, .expired: out[i].bounced += 1
            case .deferred:
                if !m.done { out[i].waiting += 1; out[i].deferred += 1 }
            case nil:
                if !m.done { out[i].waiting += 1 }
            }
        }
        // What each hop said: its recipient limit, and its latest reply.
        for (k, t) in m.transactions.enumerated() {
            let i = slot(hops[Int(txnHop[k])], hop: true)
            // Only a transaction with a refused RCPT can show a limit: the others need no verdict.
            if t.rcptReplies.contains(where: { ($0?.code ?? 0) >= 400 }) {
                let v = TransactionVerdict(t)
                if let first = v.tooManyPositions.first, out[i].limit.map({ first < $0 }) ?? true {
                    out[i].limit = first
                    out[i].limitReply = v.reply(at: first, in: t)?.codeLabel
                }
            }
            guard let at = t.lastReplyAt, out[i].lastReplyAt.map({ at >= $0 }) ?? true else { continue }
            if let last = t.dot ?? t.data ?? t.rcptReplies.last(where: { $0 != nil }) ?? t.mail {
                out[i].lastReply = last.description
                out[i].lastReplyClass = last.replyClass
                out[i].lastReplyAt = at
            }
        }
        return out
    }
}
