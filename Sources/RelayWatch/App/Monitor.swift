import RelayCore

/// The monitor's whole state. It changes in one place, ``update(_:)``, which takes every input as
/// a ``Msg`` and returns what the runtime must do as ``Effect``s (the Bubble Tea model: one loop,
/// update then view). Views read it; only the runtime touches the terminal, files and sockets.
public struct Monitor: Sendable {
    public enum Screen: Sendable, Equatable {
        case list
        case message(String, Tab)
        case destinations

        var kind: ScreenKind {
            switch self {
            case .list: .list
            case .message: .message
            case .destinations: .destinations
            }
        }
    }

    public enum Tab: Int, Sendable, CaseIterable {
        case recipients, transcript, anomalies

        var title: String {
            switch self {
            case .recipients: "Recipients"
            case .transcript: "Transcript"
            case .anomalies: "Anomalies"
            }
        }
    }

    public enum Sort: String, Sendable, CaseIterable {
        case age, findings, recipients, queueID = "queue id"
    }

    /// What the list shows when no filter is typed.
    public enum View: Sendable, Equatable {
        /// In flight, then finished messages with findings not yet acknowledged, then (while
        /// rows are left) the most recently finished, dimmed.
        case standard
        /// Every message in memory (`f`).
        case everything
        /// Only messages with findings, finished or not, acknowledged or not (`a`).
        case findings
    }

    /// Where the log lines come from, for the header.
    public struct Source: Sendable {
        public var label = ""
        public var state = "starting"
        public var bytesRead = 0
        public var bytesTotal = 0
        public var catchingUp = false
        public var malformed = 0
        public var lastMalformed: String?
        public var unplaced = 0
        public var events = 0

        /// Loading what was in the file at start, with a size to show progress against.
        public var showsProgress: Bool { catchingUp && bytesTotal > 0 }
    }

    /// How the monitor starts: what it watches and how it may act.
    public struct Settings: Sendable {
        /// The log's path (or another name for where events come from), for the header.
        public var label = ""
        /// No log: the relay is the only source (its events are pushed).
        public var live = false
        public var readonly = false
        /// A line always on the status bar (the demo says what it is).
        public var banner: String?
        public var traits = SourceTraits.mailrelayd
        /// The relay link at start; nil when there is no relay to act on (a log alone).
        public var link: RelayLink?
        public var themeNames = ["default"]
        public var theme = "default"
        /// Only events at or after this time (seconds since the epoch).
        public var since: Double?
        /// Warnings to say once at start (a theme's mistakes).
        public var notices: [String] = []
        /// Finished messages kept in memory; flagged ones not yet acknowledged are kept past it.
        public var historyLimit = 5_000

        public init() {}
    }

    /// An action waiting for the admin's y/n.
    public struct Confirmation: Sendable, Equatable {
        public var question: String
        public var action: RelayAction
    }

    /// The open message: its rows, and where the cursor and the scroll are in each tab.
    struct DetailState: Sendable {
        var rows: MessageDetail
        var cursor = [0, 0, 0]
        var top = [0, 0, 0]
        var expandedRecipients = Set<Int>()
        var expandedTranscript = Set<MessageDetail.RunID>()
    }

    // MARK: the model

    public internal(set) var store = DeliveryStore(options: .init(keepAcceptedReplyText: true, dropFinished: false))
    public internal(set) var summaries: [String: MessageSummary] = [:]
    var dirty = Set<String>()
    var lastDirty = ""
    /// Finished messages, oldest first, and each one's place in that order.
    var finishedOrder: [String] = []
    var finishedSeq: [String: Int] = [:]
    var nextFinishedSeq = 0
    /// Messages with any finding (kept with the summaries, so history upkeep does not copy a
    /// summary to ask).
    var flaggedIDs = Set<String>()
    /// Messages whose findings the admin has seen (`x`, `X`).
    public internal(set) var acknowledged = Set<String>()
    public internal(set) var historyLimit = 5_000
    /// Flagged messages dropped from memory because too many were left unacknowledged.
    public internal(set) var forgottenFindings = 0
    /// Finished messages dropped from memory past the history limit, findings or not.
    public internal(set) var agedOut = 0

    public internal(set) var source = Source()
    public internal(set) var traits = SourceTraits.mailrelayd
    /// The live queue and the relay link.
    public internal(set) var live = LiveQueue()
    /// Every action (retry, hold, release) disabled: `--readonly`.
    public internal(set) var readonly = false
    public internal(set) var banner: String?
    var since: Double?

    // MARK: what is on screen

    public internal(set) var screen: Screen = .list
    public internal(set) var selectedID: String?
    public internal(set) var listTop = 0
    /// The list's rows as queue ids, in order. Kept, not computed per frame: a queue of 40,000
    /// messages must not be sorted for every key.
    public internal(set) var order: [String] = []
    /// Rows from here on are finished messages with nothing to look at: drawn dimmed.
    public internal(set) var dimmedFrom = 0
    /// Messages in flight, recipients by state (too-many apart), and findings not yet
    /// acknowledged; kept with `order`.
    public internal(set) var totals = Totals()
    public internal(set) var filter = MessageFilter("")
    public internal(set) var editingFilter: String?
    public internal(set) var view = View.standard
    public internal(set) var sort: Sort = .age
    /// The help's scroll position while it is open.
    public internal(set) var helpTop: Int?
    public internal(set) var themeNames: [String] = ["default"]
    public internal(set) var themeIndex = 0
    public internal(set) var status: (text: String, until: Double)?
    /// Warnings still to be said (theme problems and the like).
    var notices: [String] = []
    public internal(set) var now: Double = 0
    public internal(set) var width = 80
    public internal(set) var height = 24
    /// Events per second over the last minute, newest last (the header's sparkline).
    public internal(set) var rate: [Int] = Array(repeating: 0, count: 60)
    var rateSecond = 0
    public internal(set) var confirming: Confirmation?
    /// Recipients marked with space, by message: their numbers in the message's recipient list.
    public internal(set) var marks: [String: Set<Int>] = [:]
    var detail: DetailState?
    /// Each message's recipients by destination, worked out when first asked for and dropped
    /// when the message changes: only the destinations view and `dest:` filters need them.
    var destinationTallies: [String: [DestinationTally]] = [:]
    /// The destinations view's rows (kept while it is open) and its cursor.
    public internal(set) var destinationRows: [DestinationRow] = []
    public internal(set) var destinationCursor = 0
    public internal(set) var destinationTop = 0

    public struct Totals: Sendable, Equatable {
        public var inFlight = 0, delivered = 0, deferred = 0, bounced = 0, tooMany = 0
        /// Findings in messages not acknowledged, and how many messages were acknowledged.
        public var anomalies = 0, acknowledgedMessages = 0
    }

    public init(_ settings: Settings = Settings()) {
        source.label = settings.label
        if settings.live { source.state = "live" }
        readonly = settings.readonly
        banner = settings.banner
        traits = settings.traits
        live.link = settings.link
        themeNames = settings.themeNames.isEmpty ? ["default"] : settings.themeNames
        if !themeNames.contains(settings.theme) { themeNames.insert(settings.theme, at: 0) }
        themeIndex = themeNames.firstIndex(of: settings.theme) ?? 0
        since = settings.since
        notices = settings.notices
        historyLimit = settings.historyLimit
    }

    public var themeName: String { themeNames[themeIndex % max(1, themeNames.count)] }

    public var layout: Layout { Layout(width: width, height: height) }

    /// Rows of messages the list shows at once.
    var pageSize: Int { max(1, layout.listRows.height) }

    // MARK: the open message, for the views and the tests

    /// The row under the cursor in the open message's current tab.
    public var cursorRow: Int {
        guard case .message(_, let tab) = screen, let d = detail else { return 0 }
        return d.cursor[tab.rawValue]
    }

    /// The first row shown in the open message's current tab.
    public var detailTop: Int {
        guard case .message(_, let tab) = screen, let d = detail else { return 0 }
        return d.top[tab.rawValue]
    }

    /// The recipients (by number) of the row under the cursor in the Recipients tab.
    public var cursorRecipients: [Int]? {
        guard case .message(_, .recipients) = screen, let d = detail, d.cursor[0] < d.rows.recipientRows.count else { return nil }
        return d.rows.recipients(of: d.rows.recipientRows[d.cursor[0]])
    }
}
