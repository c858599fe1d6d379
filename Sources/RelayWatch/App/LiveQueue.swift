import RelayCore

/// What the relay's live side says, beside what the log says: the link's state for the header,
/// and the queue as of the last snapshot (held flags, next attempts, per-recipient state).
public struct LiveQueue: Sendable {
    /// The relay link; nil when there is no relay to act on (a log alone, no actions).
    public var link: RelayLink?
    public private(set) var entries: [String: QueueEntry] = [:]
    /// When the snapshot was taken (relay's clock), and when it arrived (ours).
    public private(set) var snapshotAt = 0.0
    public private(set) var receivedAt = 0.0
    /// Events the relay dropped for us since we connected (a slow terminal, a paused screen).
    public var dropped = 0

    public var isConnected: Bool {
        if case .connected = link { return true }
        return false
    }

    /// The source names its own queues (Postfix's active, deferred, hold): the RELAY column shows
    /// the queue and the delay reason, and is wider for it.
    public private(set) var namesQueues = false

    public mutating func replace(_ list: [QueueEntry], at relayNow: Double, received: Double) {
        entries = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        namesQueues = list.first?.queue != nil
        snapshotAt = relayNow
        receivedAt = received
    }

    /// A snapshot from the relay: the whole queue, or (a v2 delta) the messages that changed and
    /// those that left.
    public mutating func apply(_ q: QueueSnapshot) {
        guard let removed = q.removed else { return replace(q.entries, at: q.relayNow, received: q.receivedAt) }
        for id in removed { entries[id] = nil }
        for e in q.entries { entries[e.id] = e }
        if let e = q.entries.first { namesQueues = e.queue != nil }
        snapshotAt = q.relayNow
        receivedAt = q.receivedAt
    }

    /// The relay said it held or released a message: so it is, before the next snapshot says so
    /// too (a key pressed in between must not meet the old state).
    public mutating func setHeld(_ id: String, _ held: Bool) {
        entries[id]?.held = held
    }

    /// The link for the header: honest about what works. `short` for narrow screens.
    public func label(now: Double, short: Bool = false) -> String? {
        switch link {
        case nil: return nil
        case .connecting: return "relay: connecting"
        case .connected(let relay, let version):
            return short ? "relay: connected" : "relay: connected (\(version.isEmpty ? relay : relay + " " + version))"
        case .reconnecting(let at, let why):
            let wait = "relay: reconnecting in \(max(0, Int((at - now).rounded(.up))))s"
            return short ? wait : wait + " (\(why))"
        case .permissionDenied: return short ? "relay: denied" : "relay: permission denied, log only"
        case .incompatible(let why, _): return short ? "relay: not understood" : "relay: \(why)"
        }
    }

    /// A message's place in the relay's queue, for the list's RELAY column.
    public func queueLabel(_ id: String, now: Double) -> String {
        guard isConnected else { return "" }
        guard let e = entries[id] else { return "-" }
        if let queue = e.queue {
            // Postfix: which queue, and why the first recipient still waiting waits.
            // (Exim's word for it is frozen.)
            if e.held { return queue == "frozen" ? "frozen" : "hold" }
            guard let why = e.recipients.first(where: { $0.lastReply != nil })?.lastReply else { return queue }
            if let code = why.code { return "\(queue) \(code)\(why.enhanced.map { " \($0)" } ?? "")" }
            return "\(queue): \(why.text)"
        }
        if e.held { return "held" }
        if e.inProgress { return "sending" }
        let wait = e.nextAttempt - snapshotAt - (now - receivedAt)
        return wait <= 0 ? "due" : "in \(Format.age(wait))"
    }
}
