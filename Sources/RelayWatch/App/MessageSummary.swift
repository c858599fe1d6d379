import RelayCore

/// What the screen needs about one message, derived from its record when it changes (not on
/// every frame): the analyser's findings, each recipient's status, and counts. (Where its
/// recipients went is worked out only when the destinations view or a `dest:` filter asks:
/// the monitor keeps those apart.)
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
    /// Some of its events never arrived (the relay dropped them for a slow view): not judged.
    public var missedEvents: Bool

    public init(_ m: MessageRecord, peers: SessionPeers) {
        id = m.id
        from = m.from ?? "?"
        firstSeen = m.queuedAt ?? m.firstSeen
        lastSeen = m.lastSeen
        done = m.done
        held = m.held
        missedEvents = m.missedEvents
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
    /// (A finished message some of whose events were dropped on the way says so: its recipients'
    /// outcomes may be unknown.)
    public var stateLabel: String { done ? (missedEvents ? "done, gap" : "done") : held ? "held" : "in flight" }

    /// Any finding at all, whatever its severity.
    public var flagged: Bool { !anomalies.isEmpty }
}
