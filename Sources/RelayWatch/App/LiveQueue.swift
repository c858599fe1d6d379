import RelayCore

/// What the relay's control socket says, beside what the log says: the connection's state for the
/// header, and the queue as of the last snapshot (held flags, next attempts, per-recipient state).
public struct LiveQueue: Sendable {
    /// The control client's state; nil when no socket was given (log only, no actions).
    public var link: ControlClient.State?
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

    public mutating func replace(_ list: [QueueEntry], at relayNow: Double, received: Double) {
        entries = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        snapshotAt = relayNow
        receivedAt = received
    }

    /// The link for the header: short, and honest about what works.
    public func label(now: Double) -> String? {
        switch link {
        case nil: return nil
        case .connecting: return "relay: connecting"
        case .connected(let relay, let version): return "relay: connected (\(relay) \(version))"
        case .reconnecting(let at, let why):
            return "relay: reconnecting in \(max(0, Int((at - now).rounded(.up))))s (\(why))"
        case .permissionDenied: return "relay: permission denied, log only"
        case .versionMismatch(let v, _): return "relay: protocol v\(v) not understood (relaywatch speaks v\(ControlProtocol.version))"
        }
    }

    /// A message's place in the relay's queue, for the list's RELAY column.
    public func queueLabel(_ id: String, now: Double) -> String {
        guard isConnected else { return "" }
        guard let e = entries[id] else { return "-" }
        if e.held { return "held" }
        if e.inProgress { return "sending" }
        let wait = e.nextAttempt - snapshotAt - (now - receivedAt)
        return wait <= 0 ? "due" : "in \(Format.age(wait))"
    }
}
