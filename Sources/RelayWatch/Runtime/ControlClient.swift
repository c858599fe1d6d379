#if canImport(Glibc)
import Glibc
#endif
import RelayCore
import RelaySockets

/// mailrelayd's control socket as a relay source: a non-blocking Unix socket the runtime polls
/// between frames, so a relay that is gone, slow or refusing never freezes the screen. It says
/// hello, checks the protocol version, subscribes (when there is no log to read events from) and
/// takes a snapshot every few seconds; when the relay goes away it reconnects by itself with
/// back-off (1, 2, 4 ... 30 s). Lines are cut by RelayCore's ``LineSplitter``, bounded: a relay
/// that sends a line without end is cut off, not buffered.
public final class ControlClient: RelaySource {
    /// A request sent, to pair its response with.
    struct Pending {
        var op: ControlOp
        var action: RelayAction?
    }

    public let path: String
    /// Push delivery events (when the monitor has no log file to read them from).
    public let subscribe: Bool
    public let traits = SourceTraits.mailrelayd
    public private(set) var link: RelayLink = .connecting
    public private(set) var fd: Int32 = -1
    private var splitter: LineSplitter
    private var output: [UInt8] = []
    private var nextID = 0
    private var pending: [Int: Pending] = [:]
    private var failures = 0
    private var snapshotOutstanding = false
    private var lastSnapshot = 0.0
    /// The protocol version agreed in hello; v2 relays send snapshot deltas.
    public private(set) var agreedVersion = 1
    /// The queue version of the last snapshot applied (v2): the next request asks for the
    /// changes since, and an answer older than it (overtaken by a pushed snapshot) is skipped.
    private var queueVersion: Int64?
    /// When the socket connected: a relay that does not answer hello in time is given up on.
    private var connectedAt = 0.0
    static let helloTimeout = 10.0
    /// The longest line taken from the relay. A snapshot of a large queue is one line, so this
    /// is generous; past it the relay is not making sense and the connection is cut.
    public let maxLineLength: Int
    /// Seconds between snapshots while connected (the queue's schedule and held flags change
    /// without log lines, and a log-only view needs the live queue refreshed).
    public var snapshotInterval = 2.0

    public init(path: String, subscribe: Bool, maxLineLength: Int = 64 << 20) {
        self.path = path
        self.subscribe = subscribe
        self.maxLineLength = maxLineLength
        splitter = LineSplitter(maxLineLength: maxLineLength)
    }

    deinit { if fd >= 0 { close(fd) } }

    public var isConnected: Bool {
        if case .connected = link { return true }
        return false
    }

    public var descriptors: [Int32] { fd >= 0 ? [fd] : [] }

    /// Connects when due, writes what is queued, reads what arrived. Never blocks.
    public func poll(now: Double) -> [Msg] {
        var out = Output()
        switch link {
        case .reconnecting(let at, _), .permissionDenied(_, let at), .incompatible(_, let at):
            if now >= at { connect(now: now, into: &out) }
        case .connecting:
            if fd < 0 { connect(now: now, into: &out) } else if now - connectedAt > ControlClient.helloTimeout {
                lost("no answer to hello in \(Int(ControlClient.helloTimeout))s", now: now, into: &out)
            }
        case .connected:
            if !snapshotOutstanding, now - lastSnapshot >= snapshotInterval { requestSnapshot(now) }
        }
        if fd >= 0 {
            flush(now: now, into: &out)
            read(now: now, into: &out)
            // What the answers just read queued (the subscribe after hello, a snapshot after an
            // action) leaves now, not at the next turn: the view shows "connected" this turn, and
            // until the subscribe reaches the relay it pushes nothing.
            if !output.isEmpty { flush(now: now, into: &out) }
        }
        return out.messages()
    }

    public func perform(_ action: RelayAction, now: Double) -> [Msg] {
        guard isConnected else {
            return [.relayAnswer(RelayAnswer(action: action, ok: false, detail: "not connected to the relay; nothing was sent"))]
        }
        switch action {
        case .retry(let msg, let rcpts): enqueue(.init(op: .retry, action: action), msg: msg, rcpts: rcpts)
        case .hold(let msg): enqueue(.init(op: .hold, action: action), msg: msg)
        case .release(let msg): enqueue(.init(op: .release, action: action), msg: msg)
        }
        return []
    }

    func requestSnapshot(_ now: Double) {
        guard isConnected, !snapshotOutstanding else { return }
        snapshotOutstanding = true
        lastSnapshot = now
        enqueue(.init(op: .snapshot), since: agreedVersion >= 2 ? queueVersion : nil)
    }

    private func enqueue(_ request: Pending, msg: String? = nil, rcpts: [String]? = nil, since: Int64? = nil) {
        nextID += 1
        pending[nextID] = request
        let version = request.op == .hello ? ControlProtocol.version : nil
        output += ControlProtocol.encode(ControlRequest(id: .int(nextID), op: request.op, msg: msg, rcpts: rcpts,
                                                        protocol: version, since: since))
    }

    /// Whether a snapshot at this queue version is news (v1 relays have no versions: always).
    private func takes(_ version: Int64?) -> Bool {
        guard let version else { return true }
        if let queueVersion, version < queueVersion { return false }
        queueVersion = version
        return true
    }

    /// What one poll brought, in order: pushed event lines are batched, and a batch is closed
    /// before any other message so nothing overtakes an event.
    struct Output {
        private var list: [Msg] = []
        private var events = LineBatch()

        mutating func event(_ line: [UInt8]) { events.append(line) }

        mutating func append(_ m: Msg) {
            closeBatch()
            list.append(m)
        }

        private mutating func closeBatch() {
            guard !events.isEmpty else { return }
            list.append(.relayEvents(events))
            events = LineBatch()
        }

        mutating func messages() -> [Msg] {
            closeBatch()
            return list
        }
    }

    // MARK: connection

    private func connect(now: Double, into out: inout Output) {
        // A local connect finishes (or fails) at once; only afterwards is the socket non-blocking.
        switch UnixSocket.connect(path) {
        case .failure(let e):
            if e.errno == EACCES || e.errno == EPERM {
                return set(.permissionDenied("permission denied: \(path) is not open to this user", retryAt: now + 30), into: &out)
            }
            if e.errno == ENAMETOOLONG { return lost("the socket path is too long", now: now, into: &out) }
            return lost(e.errno == ENOENT ? "no socket at \(path)" : String(cString: strerror(e.errno)), now: now, into: &out)
        case .success(let s):
            _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
            fd = s
        }
        connectedAt = now
        splitter = LineSplitter(maxLineLength: maxLineLength)
        output = []
        pending = [:]
        snapshotOutstanding = false
        queueVersion = nil
        agreedVersion = 1
        set(.connecting, into: &out)
        enqueue(.init(op: .hello))
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        pending = [:]
        snapshotOutstanding = false
    }

    /// The relay went away (or was never there): try again after a back-off that doubles.
    private func lost(_ why: String, now: Double, into out: inout Output) {
        disconnect()
        failures += 1
        let delay = min(30.0, Double(1 << min(5, failures - 1)))
        set(.reconnecting(at: now + delay, why: why), into: &out)
    }

    private func set(_ l: RelayLink, into out: inout Output) {
        guard l != link else { return }
        link = l
        out.append(.relayLink(l))
    }

    private func flush(now: Double, into out: inout Output) {
        while !output.isEmpty, fd >= 0 {
            let n = output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { output.removeFirst(n); continue }
            if n < 0, errno == EAGAIN || errno == EINTR { return }
            return lost("the relay closed the connection", now: now, into: &out)
        }
    }

    private func read(now: Double, into out: inout Output) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        // A budget per poll, so a flood of events cannot starve the keyboard.
        for _ in 0..<16 {
            guard fd >= 0 else { return }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { break }
                return lost(String(cString: strerror(errno)), now: now, into: &out)
            }
            if n == 0 { return lost("the relay closed the connection", now: now, into: &out) }
            var cut = false
            chunk.withUnsafeBytes { raw in
                splitter.feed(UnsafeRawBufferPointer(rebasing: raw.prefix(n))) { _, line, overlong in
                    if overlong { cut = true }
                    if !cut, fd >= 0 { handle(Array(line), now: now, into: &out) }
                }
            }
            if cut || splitter.discardingOverlongLine {
                return lost("the relay sent a line longer than \(maxLineLength >> 20) MiB; connection cut", now: now, into: &out)
            }
        }
    }

    private func handle(_ line: [UInt8], now: Double, into out: inout Output) {
        switch ControlProtocol.classify(line) {
        case .event:
            out.event(line)
        case .overflow(let n):
            out.append(.relayDropped(n))
        case .snapshot(let notice):
            // Pushed after an overflow: always the whole queue, and always taken (it is what the
            // missed events are settled from).
            if let v = notice.queueVersion { queueVersion = max(queueVersion ?? v, v) }
            out.append(.relayQueue(QueueSnapshot(entries: notice.messages, relayNow: notice.now, receivedAt: now,
                                                 entersUnknown: subscribe, resync: true)))
        case .garbage(let why):
            out.append(.relayProblem("the relay sent a line relaywatch cannot read (\(why))"))
        case .response(let r):
            guard case .int(let n) = r.id, let request = pending.removeValue(forKey: n) else {
                // An answer to nothing we asked: the relay refusing the connection itself.
                if r.error?.code == ControlErrorCode.permissionDenied.rawValue {
                    disconnect()
                    set(.permissionDenied("permission denied: \(r.error?.message ?? "")", retryAt: now + 30), into: &out)
                } else if let e = r.error {
                    out.append(.relayProblem("relay: \(e.message)"))
                }
                return
            }
            switch request.op {
            case .hello:
                guard r.ok, let agreed = r.protocol, ControlProtocol.versions.contains(agreed) else {
                    disconnect()
                    let speaks = ControlProtocol.versions.map { "v\($0)" }.joined(separator: " and ")
                    let why = "protocol v\(r.protocol ?? 0) not understood (relaywatch speaks \(speaks))"
                    set(.incompatible(why, retryAt: now + 30), into: &out)
                    return
                }
                failures = 0
                agreedVersion = agreed
                set(.connected(relay: r.relay ?? "relay", version: r.version ?? "?"), into: &out)
                if subscribe { enqueue(.init(op: .subscribe)) }
                requestSnapshot(now)
            case .snapshot:
                snapshotOutstanding = false
                // A delta names the version it is from; one from a version other than ours (the
                // relay restarted, or forgot that far back) comes as the whole queue instead.
                if let messages = r.messages, takes(r.queueVersion) {
                    out.append(.relayQueue(QueueSnapshot(entries: messages, relayNow: r.now ?? now, receivedAt: now, entersUnknown: subscribe,
                                                         removed: r.since != nil ? (r.removed ?? []) : nil)))
                }
            case .subscribe:
                if !r.ok { out.append(.relayProblem("subscribe refused: \(r.error?.message ?? "")")) }
            default:
                guard let action = request.action else { return }
                out.append(.relayAnswer(RelayAnswer(action: action, ok: r.ok, detail: r.error?.message, code: r.error?.code, rcpts: r.rcpts)))
                // The queue changed: see it now rather than at the next periodic snapshot.
                requestSnapshot(now)
            }
        }
    }
}
