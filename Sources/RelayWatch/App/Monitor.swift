import RelayCore

/// The monitor's whole state, and the one place it changes: `ingest` for log lines, `update`
/// for keys, mouse, resize and ticks (the Bubble Tea model: one loop, update then view).
/// Views read it; only the backend touches the terminal.
public struct Monitor: Sendable {
    public enum Screen: Sendable, Equatable {
        case list
        case message(String, Tab)
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
        case age, anomalies, recipients, queueID = "queue id"
    }

    /// Where the lines come from, for the header.
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

    public enum Effect: Sendable, Equatable {
        case none
        case quit
        /// The theme changed: the backend re-reads styles.
        case themeChanged
        /// Ask the relay (retry, hold, release) over the control socket.
        case control(ControlClient.PendingRequest)
    }

    /// An action waiting for the admin's y/n.
    public struct Confirmation: Sendable, Equatable {
        public var question: String
        public var request: ControlClient.PendingRequest
    }

    // MARK: state

    public private(set) var store = DeliveryStore(options: .init(keepAcceptedReplyText: true, dropFinished: false))
    public private(set) var summaries: [String: MessageSummary] = [:]
    private var dirty = Set<String>()
    private var lastDirty = ""
    private var finishedOrder: [String] = []
    /// Finished messages kept for the `f` toggle; older ones are forgotten.
    public var historyLimit = 5_000

    public var source = Source()
    public private(set) var screen: Screen = .list
    public private(set) var selectedID: String?
    public private(set) var listTop = 0
    public private(set) var detailTop = 0
    public private(set) var filter = MessageFilter("")
    public private(set) var editingFilter: String?
    public private(set) var anomaliesOnly = false
    public private(set) var sort: Sort = .age
    public private(set) var showFinished = false
    public private(set) var helpVisible = false
    public var themeNames: [String] = ["default"]
    public private(set) var themeIndex = 0
    public private(set) var status: (text: String, until: Double)?
    /// Warnings shown once (theme problems and the like).
    public var notices: [String] = []
    public private(set) var now: Double = 0
    public private(set) var width = 80
    public private(set) var height = 24
    /// Events per second over the last minute, newest last (the header's sparkline).
    public private(set) var rate: [Int] = Array(repeating: 0, count: 60)
    private var rateSecond = 0

    // MARK: the relay's control socket

    /// The live queue and the socket's state.
    public var live = LiveQueue()
    /// Every action (retry, hold, release) disabled: `--readonly`.
    public var readonly = false
    /// A line always on the status bar (the demo says what it is).
    public var banner: String?
    public internal(set) var confirming: Confirmation?
    /// Recipients marked with space, by message: positions in the message's recipient list.
    public internal(set) var marks: [String: Set<Int>] = [:]
    /// The recipient under the cursor in the message view's Recipients tab.
    public internal(set) var recipientCursor = 0

    public init() {}

    public var themeName: String { themeNames[themeIndex % max(1, themeNames.count)] }

    // MARK: log lines

    /// Applies one delivery-log line.
    public mutating func ingest(line bytes: UnsafeRawBufferPointer, number: Int, overlong: Bool) {
        if overlong {
            noteMalformed(number, "line longer than \(LogDecoder.maxLineLength) bytes")
            return
        }
        var unplacedNow = 0
        let applied = store.apply(line: bytes) { _ in unplacedNow += 1 }
        source.unplaced += unplacedNow
        switch applied {
        case .event, .finished:
            source.events += 1
            rate[rate.count - 1] += 1
            if let id = store.lastMessageID {
                // Consecutive events are mostly about one message: skip the set when it is the same.
                if id != lastDirty {
                    dirty.insert(id)
                    lastDirty = id
                }
                if case .finished = applied {
                    _ = store.takeFinished()
                    finishedOrder.append(id)
                    evictHistory()
                }
            }
        case .unknownEvent:
            source.events += 1
        case .blank:
            break
        case .malformed(let why):
            noteMalformed(number, why)
        }
    }

    private mutating func noteMalformed(_ number: Int, _ why: String) {
        source.malformed += 1
        source.lastMalformed = "line \(number): \(why)"
    }

    /// Forgets the oldest finished messages past the limit, a quarter of it at a time (so the
    /// order list is not shifted for every message that finishes).
    private mutating func evictHistory() {
        guard finishedOrder.count > historyLimit + historyLimit / 4 else { return }
        let drop = finishedOrder.count - historyLimit
        lastDirty = ""
        for id in finishedOrder.prefix(drop) where id != selectedID {
            store.remove(id)
            summaries[id] = nil
            dirty.remove(id)
        }
        finishedOrder.removeFirst(drop)
        reorder()
    }

    /// Re-derives the summaries of messages that changed. Called once per frame, not per line.
    public mutating func refresh() {
        lastDirty = ""
        guard !dirty.isEmpty else { return }
        for id in dirty {
            if let m = store.message(id) { summaries[id] = MessageSummary(m, peers: store.peers) } else { summaries[id] = nil }
        }
        dirty.removeAll(keepingCapacity: true)
        reorder()
    }

    // MARK: what the list shows

    /// The list's rows as queue ids, in order: in-flight messages, then (with `f`) finished ones.
    /// Kept, not computed per frame: a queue of 40,000 messages must not be sorted for every key.
    public private(set) var order: [String] = []
    /// Messages in flight, recipients by state (too-many apart), and findings; kept with `order`.
    public private(set) var totals = (inFlight: 0, delivered: 0, deferred: 0, bounced: 0, tooMany: 0, anomalies: 0)

    /// Rebuilds `order` and `totals` after summaries, the filter or the sort changed.
    private mutating func reorder() {
        var t = (inFlight: 0, delivered: 0, deferred: 0, bounced: 0, tooMany: 0, anomalies: 0)
        // Integer keys, so the sort compares numbers and reaches the id only on a tie.
        var entries: [(done: Bool, k1: Int64, k2: Int64, id: String)] = []
        entries.reserveCapacity(summaries.count)
        for s in summaries.values {
            if !s.done { t.inFlight += 1 }
            t.delivered += s.delivered
            t.deferred += s.transient
            t.bounced += s.permanent
            t.tooMany += s.tooMany
            t.anomalies += s.anomalies.count
            guard (showFinished || !s.done) && (!anomaliesOnly || !s.anomalies.isEmpty) else { continue }
            if !filter.isEmpty, !filter.matches(s, addresses: { store.message(s.id).map { Array($0.recipients) } ?? [] }) { continue }
            let age = s.firstSeen.microseconds
            switch sort {
            case .age: entries.append((s.done, age, 0, s.id))
            case .anomalies: entries.append((s.done, -Int64(s.anomalies.count), age, s.id))
            case .recipients: entries.append((s.done, -Int64(s.recipients), 0, s.id))
            case .queueID: entries.append((s.done, 0, 0, s.id))
            }
        }
        entries.sort { a, b in
            if a.done != b.done { return !a.done }
            if a.k1 != b.k1 { return a.k1 < b.k1 }
            if a.k2 != b.k2 { return a.k2 < b.k2 }
            return a.id < b.id
        }
        order = entries.map(\.id)
        totals = t
    }

    // MARK: update

    public mutating func update(_ event: AppEvent) -> Effect {
        switch event {
        case .resize(let w, let h):
            width = max(1, w)
            height = max(1, h)
            return .none
        case .tick(let t):
            advanceClock(t)
            return .none
        case .mouse(let m):
            return mouse(m)
        case .key(let k):
            return key(k)
        }
    }

    private mutating func advanceClock(_ t: Double) {
        now = t
        // Start-up warnings (a theme's mistakes) are said once, on the status line, for a while.
        if !notices.isEmpty {
            say(notices.joined(separator: " · "), for: 15)
            notices = []
        }
        let second = Int(t)
        if rateSecond == 0 { rateSecond = second }
        if second > rateSecond {
            let shift = min(rate.count, second - rateSecond)
            rate.removeFirst(shift)
            rate.append(contentsOf: Array(repeating: 0, count: shift))
            rateSecond = second
        }
        if let s = status, s.until < t { status = nil }
    }

    public mutating func say(_ text: String, for seconds: Double = 5) {
        status = (text, now + seconds)
    }

    private mutating func mouse(_ m: Mouse) -> Effect {
        switch m {
        case .wheelUp: if !moveCursor(-3) { move(-3) }
        case .wheelDown: if !moveCursor(3) { move(3) }
        case .click(_, let y):
            if case .list = screen {
                let row = y - Layout.listFirstRow + listTop
                if row >= 0, row < order.count {
                    if selectedID == order[row] { open(order[row]) } else { selectedID = order[row] }
                }
            }
        }
        return .none
    }

    private mutating func key(_ k: Key) -> Effect {
        if helpVisible {
            helpVisible = false
            return k == .interrupt ? .quit : .none
        }
        if let text = editingFilter { return filterKey(k, text) }
        if let pending = confirming { return confirmKey(k, pending) }
        switch k {
        case .char("r"): return askRetry(markedOnly: false)
        case .char("R"): return askRetry(markedOnly: true)
        case .char("h"): return act(.hold)
        case .char("u"): return act(.release)
        case .char(" "): toggleMark()
        case .interrupt: return .quit
        case .char("q"), .escape:
            if case .message = screen {
                screen = .list
                detailTop = 0
                return .none
            }
            if k == .escape {
                if !filter.isEmpty {
                    filter = MessageFilter("")
                    reorder()
                    say("filter cleared")
                }
                return .none
            }
            return .quit
        case .up, .char("k"): if !moveCursor(-1) { move(-1) }
        case .down, .char("j"): if !moveCursor(1) { move(1) }
        case .pageUp: if !moveCursor(-pageSize) { move(-pageSize) }
        case .pageDown: if !moveCursor(pageSize) { move(pageSize) }
        case .home, .char("g"): if !moveCursor(-Int.max / 2) { move(-Int.max / 2) }
        case .end, .char("G"): if !moveCursor(Int.max / 2) { move(Int.max / 2) }
        case .enter:
            if case .list = screen, let id = selectedID ?? order.first { open(id) }
        case .tab, .right:
            if case .message(let id, let tab) = screen {
                screen = .message(id, Tab(rawValue: (tab.rawValue + 1) % Tab.allCases.count)!)
                detailTop = 0
            }
        case .backTab, .left:
            if case .message(let id, let tab) = screen {
                screen = .message(id, Tab(rawValue: (tab.rawValue + Tab.allCases.count - 1) % Tab.allCases.count)!)
                detailTop = 0
            }
        case .char("/"): editingFilter = filter.source
        case .char("a"):
            anomaliesOnly.toggle()
            reorder()
            say(anomaliesOnly ? "showing messages with anomalies only" : "showing all messages")
        case .char("f"):
            showFinished.toggle()
            reorder()
            say(showFinished ? "showing finished messages too" : "hiding finished messages")
        case .char("s"):
            let all = Sort.allCases
            sort = all[(all.firstIndex(of: sort)! + 1) % all.count]
            reorder()
            say("sorted by \(sort.rawValue)")
        case .char("t"):
            themeIndex = (themeIndex + 1) % max(1, themeNames.count)
            say("theme \(themeName)")
            return .themeChanged
        case .char("?"): helpVisible = true
        default: break
        }
        return .none
    }

    private mutating func filterKey(_ k: Key, _ text: String) -> Effect {
        switch k {
        case .interrupt: return .quit
        case .escape: editingFilter = nil
        case .enter:
            filter = MessageFilter(text)
            editingFilter = nil
            listTop = 0
            reorder()
            if let first = order.first { selectedID = first }
            say(filter.isEmpty ? "filter cleared" : "filter: \(text)")
        case .backspace: editingFilter = String(text.dropLast())
        case .char(let c): editingFilter = text + String(c)
        default: break
        }
        return .none
    }

    private mutating func open(_ id: String) {
        selectedID = id
        screen = .message(id, .recipients)
        detailTop = 0
        recipientCursor = 0
    }

    /// Scrolls the message view so the recipient cursor stays in sight.
    mutating func keepCursorVisible() {
        let rows = max(1, detailRows - 1)
        if recipientCursor < detailTop { detailTop = recipientCursor }
        if recipientCursor >= detailTop + rows { detailTop = recipientCursor - rows + 1 }
    }

    var pageSize: Int { max(1, height - Layout.listFirstRow - 2) }

    /// Moves the selection (list) or the scroll position (message view).
    private mutating func move(_ delta: Int) {
        switch screen {
        case .list:
            guard !order.isEmpty else { return }
            let current = order.firstIndex { $0 == selectedID } ?? 0
            let next = max(0, min(order.count - 1, current.addingReportingOverflow(delta).partialValue))
            selectedID = order[next]
            if next < listTop { listTop = next }
            if next >= listTop + pageSize { listTop = next - pageSize + 1 }
        case .message:
            detailTop = max(0, min(detailMaxTop(), detailTop.addingReportingOverflow(delta).partialValue))
        }
    }

    /// Keeps the selection on the same message while rows come and go, and in view.
    public mutating func settleSelection() {
        guard case .list = screen else { return }
        guard !order.isEmpty else { listTop = 0; return }
        let index = order.firstIndex { $0 == selectedID } ?? min(order.count - 1, max(0, listTop))
        selectedID = order[index]
        if index < listTop { listTop = index }
        if index >= listTop + pageSize { listTop = index - pageSize + 1 }
        listTop = max(0, min(listTop, max(0, order.count - pageSize)))
    }

    /// Rows of content the message view shows (below its title and tab rows, above the footer).
    var detailRows: Int { max(1, height - 5) }

    /// How far the message view can scroll: its content's length less what fits.
    func detailMaxTop() -> Int {
        guard case .message(let id, let tab) = screen, let m = store.message(id), let s = summaries[id] else { return 0 }
        switch tab {
        case .recipients: return max(0, m.recipients.count - (detailRows - 1))
        case .transcript: return max(0, MessageView.Transcript(m, peers: store.peers).count - detailRows)
        case .anomalies: return max(0, MessageView.anomalies(s, width: width).count - detailRows)
        }
    }
}

/// Screen rows shared by the update step (mouse clicks) and the views.
enum Layout {
    static let headerRows = 1
    /// The list's column titles are on row 1; messages start on row 2.
    static let listFirstRow = 2
}
