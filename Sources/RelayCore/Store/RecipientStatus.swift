/// Where one recipient stands: what the monitor colours a recipient by. Its latest reply decides
/// (a later transaction over an earlier one), because the point is to show what the peer said
/// next to what the relay did; the relay's outcome fills in only where no reply does (an expiry
/// before any attempt, a delivery the end of data has not been logged for). An NDR naming it and
/// a miscount concerning it are marks on top.
public struct RecipientStatus: Sendable, Hashable {
    public enum State: Sendable, Hashable, Comparable {
        /// No reply yet.
        case pending
        /// RCPT accepted, end of data not yet answered.
        case accepted
        /// Delivered (RCPT and end of data 2yz, or the relay's outcome).
        case delivered
        /// A 4yz refusal (or deferred by the relay).
        case transient
        /// Refused with too many recipients (452, 451 x.5.3, or a 552 read as a limit).
        case tooMany
        /// A permanent refusal of its own (5yz, bounced, expired).
        case permanent
    }

    public var state: State
    /// The reply that decided the state, when there was one.
    public var reply: SMTPReply?
    /// Named in an NDR.
    public var ndr: Bool
    /// Concerned by a miscount or protocol finding (the relay got this recipient wrong). A
    /// deviation such as Postfix's bounce of a too-many 552 does not mark it: its letter and
    /// colour already say too-many.
    public var anomaly: Bool

    /// One letter per state, so nothing depends on colour alone: upper case for the state,
    /// lower case when the recipient was also named in an NDR, `!` when the relay got it wrong.
    public var glyph: Character {
        if anomaly { return "!" }
        let letter: Character
        switch state {
        case .pending: return "."
        case .accepted: letter = "A"
        case .delivered: letter = "D"
        case .transient: letter = "T"
        case .tooMany: letter = "L"
        case .permanent: letter = "F"
        }
        return ndr ? Character(letter.lowercased()) : letter
    }

    /// The statuses of every recipient of a message, by RecipientID.
    public static func all(in m: MessageRecord, verdicts: [TransactionVerdict], anomalies: [Anomaly]) -> [RecipientStatus] {
        var out = Array(filled: RecipientStatus(state: .pending, reply: nil, ndr: false, anomaly: false), count: m.recipients.count)
        // Replies, transaction by transaction in order: a later attempt overrides an earlier one.
        for (k, t) in m.transactions.enumerated() {
            let v = verdicts[k]
            for (i, r) in t.rcpts.enumerated() {
                let reply = v.reply(at: i, in: t)
                switch v.fates[i] {
                case .accepted: out[Int(r)].state = .delivered
                case .tooMany: out[Int(r)].state = .tooMany
                case .transient: out[Int(r)].state = .transient
                case .permanent: out[Int(r)].state = .permanent
                case .pending:
                    if v.meanings[i] == .accepted { out[Int(r)].state = .accepted } else { continue }
                }
                out[Int(r)].reply = reply ?? t.rcptReplies[i]
            }
        }
        // The relay's decisions, where no reply says anything yet (the latest decision wins: a
        // recipient deferred because its next hop never answered, then expired, has expired).
        let replied = out.map { $0.state != .pending && $0.state != .accepted }
        for o in m.outcomes {
            let r = Int(o.rcpt)
            guard !replied[r] else { continue }
            switch o.status {
            case .delivered: out[r].state = .delivered
            case .bounced, .expired: out[r].state = .permanent
            case .deferred: out[r].state = .transient
            }
            // A reply logged with the decision (Postfix) says why, and a too-many one is a limit.
            if o.transaction == nil, let reply = o.reply {
                out[r].reply = reply
                if o.status != .delivered, o.command == .rcpt, o.meaning == .tooManyRecipients { out[r].state = .tooMany }
            }
        }
        for ndr in m.ndrs { for r in ndr.rcpts { out[Int(r)].ndr = true } }
        if !anomalies.isEmpty {
            var flagged = Set<String>()
            for a in anomalies where a.severity == .miscount || a.severity == .protocol { flagged.formUnion(a.rcpts) }
            for r in out.indices where flagged.contains(m.recipients[r]) { out[r].anomaly = true }
        }
        return out
    }
}
