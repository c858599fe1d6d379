import RelayCore

/// Something the admin asks the relay to do from the keyboard.
public enum RelayAction: Sendable, Equatable {
    /// Try the message now: every recipient still waiting, or only `rcpts`.
    case retry(msg: String, rcpts: [String]?)
    case hold(msg: String)
    case release(msg: String)

    public var msg: String {
        switch self {
        case .retry(let m, _), .hold(let m), .release(let m): m
        }
    }

    /// "retry", "hold", "release": for the status line.
    public var verb: String {
        switch self {
        case .retry: "retry"
        case .hold: "hold"
        case .release: "release"
        }
    }
}

/// What the relay said to an action.
public struct RelayAnswer: Sendable, Equatable {
    public var action: RelayAction
    public var ok: Bool
    /// Why it refused (or a note on success), in the relay's words.
    public var detail: String?
    /// The relay's error code ("in-progress", "held", ...) or a command's exit status.
    public var code: String?
    /// The recipients a retry covers, when the relay says.
    public var rcpts: [String]?

    public init(action: RelayAction, ok: Bool, detail: String? = nil, code: String? = nil, rcpts: [String]? = nil) {
        self.action = action
        self.ok = ok
        self.detail = detail
        self.code = code
        self.rcpts = rcpts
    }
}

/// The link to the relay's live side, for the header and for deciding whether actions can go.
public enum RelayLink: Sendable, Equatable {
    case connecting
    /// Connected: the relay's name and version.
    case connected(relay: String, version: String)
    /// Lost, or never reached: tried again at `at`.
    case reconnecting(at: Double, why: String)
    /// The relay (or the system) refuses this user; the log view goes on read-only.
    case permissionDenied(String, retryAt: Double)
    /// The relay answers, but not in a way this relaywatch understands (a protocol version).
    case incompatible(String, retryAt: Double)
}

/// The relay's queue at one moment.
public struct QueueSnapshot: Sendable, Equatable {
    public var entries: [QueueEntry]
    /// When the relay took it (the relay's clock) and when it arrived (ours).
    public var relayNow: Double
    public var receivedAt: Double
    /// Messages the monitor has not seen are entered from it: the source's events do not come
    /// from a log file, so the queue may hold messages that started before we connected.
    public var entersUnknown: Bool
    /// A delta (protocol v2): `entries` are only the messages that changed, and these left the
    /// queue. nil: `entries` is the whole queue.
    public var removed: [String]?
    /// The whole queue, sent after the relay dropped events for us: what it says settles the
    /// messages whose events were missed.
    public var resync = false

    public init(entries: [QueueEntry], relayNow: Double, receivedAt: Double, entersUnknown: Bool,
                removed: [String]? = nil, resync: Bool = false) {
        self.entries = entries
        self.relayNow = relayNow
        self.receivedAt = receivedAt
        self.entersUnknown = entersUnknown
        self.removed = removed
        self.resync = resync
    }
}

/// What a kind of relay lets the monitor see and do. The views never ask which relay it is; they
/// ask this, and say plainly what cannot be seen rather than showing empty columns.
public struct SourceTraits: Sendable, Equatable {
    /// "mailrelayd", "Postfix", "Exim".
    public var name: String
    /// The log pairs each RCPT's reply with its position in the pipelined group.
    public var logsRcptPositions: Bool
    /// The log has the replies to accepted RCPTs (not only the refusals).
    public var logsAcceptedReplies: Bool
    /// A retry can name single recipients (else the relay retries whole messages).
    public var retriesChosenRecipients: Bool
    /// Messages can be held and released.
    public var canHold: Bool

    public init(name: String, logsRcptPositions: Bool, logsAcceptedReplies: Bool, retriesChosenRecipients: Bool, canHold: Bool) {
        self.name = name
        self.logsRcptPositions = logsRcptPositions
        self.logsAcceptedReplies = logsAcceptedReplies
        self.retriesChosenRecipients = retriesChosenRecipients
        self.canHold = canHold
    }

    /// mailrelayd's delivery log and control socket: every reply by position, recipients retried
    /// one by one.
    public static let mailrelayd = SourceTraits(name: "mailrelayd", logsRcptPositions: true, logsAcceptedReplies: true,
                                                retriesChosenRecipients: true, canHold: true)

    /// What this source cannot see, one sentence each, for the message view.
    public var blindSpots: [String] {
        var out: [String] = []
        if !logsRcptPositions { out.append("\(name) logs no RCPT positions") }
        if !logsAcceptedReplies { out.append("\(name) logs no replies to accepted RCPTs") }
        return out
    }
}

/// A relay's live side as the monitor's runtime drives it: the link, the queue, pushed events,
/// and the actions. mailrelayd's control socket is one (``MailrelaydSource``); a Postfix or Exim
/// host, with its queue tools run as argument vectors, is another. Polled from the runtime's one
/// thread; nothing here may block.
public protocol RelaySource: AnyObject {
    var traits: SourceTraits { get }
    /// The link's state now (the runtime gives it to the monitor at start).
    var link: RelayLink { get }
    /// Descriptors whose readiness means "poll me"; the runtime waits on them.
    var descriptors: [Int32] { get }
    /// Connects when due, reads what arrived, times out what is late: everything as messages.
    func poll(now: Double) -> [Msg]
    /// Starts an action. Its answer comes back from a later ``poll(now:)`` as ``Msg/relayAnswer(_:)``
    /// (or at once, in the returned messages, when it cannot be sent).
    func perform(_ action: RelayAction, now: Double) -> [Msg]
}
