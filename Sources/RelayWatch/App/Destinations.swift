import RelayCore

/// One row of the destinations view (`d`): every message's recipients at one next hop (or, for
/// recipients never sent, one domain) added up, with what that destination last said and the
/// ages of the recipients still waiting for it (qshape's view, live).
public struct DestinationRow: Sendable {
    /// The recipients there, added up over the messages; the lowest limit and the latest reply.
    public var total: DestinationTally
    /// Messages with recipients waiting, deferred, bounced and delivered there.
    public var messages = Counts()
    /// When each waiting message was queued, with how many of its recipients wait here.
    public var waitingSince: [(queued: Double, recipients: Int)] = []

    public struct Counts: Sendable, Equatable {
        public var waiting = 0, deferred = 0, bounced = 0, delivered = 0
    }

    public var name: String { total.name }

    /// How much is wrong there: the sort key (most first).
    var trouble: Int { total.deferred + total.bounced }

    /// Every destination of the messages in memory, the most troubled first.
    static func all(_ summaries: [String: MessageSummary], tallies: [String: [DestinationTally]]) -> [DestinationRow] {
        var rows: [String: DestinationRow] = [:]
        for s in summaries.values {
            for t in tallies[s.id] ?? [] {
                let key = (t.isHop ? "h " : "d ") + t.name
                var row = rows[key] ?? DestinationRow(total: DestinationTally(name: t.name, isHop: t.isHop))
                row.total.absorb(t)
                if t.waiting > 0 {
                    row.messages.waiting += 1
                    row.waitingSince.append((s.firstSeen.seconds, t.waiting))
                }
                if t.deferred > 0 { row.messages.deferred += 1 }
                if t.bounced > 0 { row.messages.bounced += 1 }
                if t.delivered > 0 { row.messages.delivered += 1 }
                rows[key] = row
            }
        }
        return rows.values.sorted { a, b in
            if a.trouble != b.trouble { return a.trouble > b.trouble }
            if a.total.waiting != b.total.waiting { return a.total.waiting > b.total.waiting }
            if a.total.isHop != b.total.isHop { return a.total.isHop }
            return a.name < b.name
        }
    }

    /// qshape's age buckets, in minutes: recipients waiting under 5, 5-10, 10-20 ... 1280 and over.
    public static let bucketMinutes = [5, 10, 20, 40, 80, 160, 320, 640, 1280]

    /// Waiting recipients per bucket (one more bucket than boundaries: the oldest).
    public func buckets(now: Double) -> [Int] {
        var out = [Int](repeating: 0, count: Self.bucketMinutes.count + 1)
        for w in waitingSince {
            let minutes = max(0, now - w.queued) / 60
            let i = Self.bucketMinutes.firstIndex { minutes < Double($0) } ?? Self.bucketMinutes.count
            out[i] += w.recipients
        }
        return out
    }
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

    /// A recipient limit seen: the lowest one stands.
    mutating func note(limit: Int, reply: String?) {
        guard self.limit.map({ limit < $0 }) ?? true else { return }
        self.limit = limit
        limitReply = reply
    }

    /// A reply seen: the latest one stands.
    mutating func note(reply: String, class c: ReplyClass?, at: Timestamp) {
        guard lastReplyAt.map({ at >= $0 }) ?? true else { return }
        lastReply = reply
        lastReplyClass = c
        lastReplyAt = at
    }

    /// Another message's recipients at the same destination, added in.
    mutating func absorb(_ t: DestinationTally) {
        waiting += t.waiting
        deferred += t.deferred
        bounced += t.bounced
        delivered += t.delivered
        if let l = t.limit { note(limit: l, reply: t.limitReply) }
        if let r = t.lastReply, let at = t.lastReplyAt { note(reply: r, class: t.lastReplyClass, at: at) }
    }

    /// The tallies of one message, one per destination its recipients have.
    static func of(_ m: MessageRecord, peers: SessionPeers) -> [DestinationTally] {
        let n = m.recipients.count
        guard n > 0 else { return [] }
        // Where each recipient went last: the hop of its latest transaction.
        var hopOf = [Int32](repeating: -1, count: n)
        var hops: [String] = []
        var hopIndex: [String: Int32] = [:]
        var txnHop: [Int32] = []
        for t in m.transactions {
            let name = t.peer ?? peers[t.session] ?? "session \(t.session)"
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
                    let c = SMTPReply(parsing: o.reason)?.replyClass ?? (o.status == .delivered ? .positive : o.status == .deferred ? .transient : .permanent)
                    out[i].note(reply: o.reason.isEmpty ? o.status.rawValue : o.reason, class: c, at: o.at)
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
                if let first = v.tooManyPositions.first { out[i].note(limit: first, reply: v.reply(at: first, in: t)?.codeLabel) }
            }
            if let at = t.lastReplyAt, let last = t.dot ?? t.data ?? t.rcptReplies.last(where: { $0 != nil }) ?? t.mail {
                out[i].note(reply: last.description, class: last.replyClass, at: at)
            }
        }
        return out
    }
}
