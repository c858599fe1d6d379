#if canImport(Glibc)
import Glibc
#endif
import RelayCore

/// relaywatch's end of the control socket: a non-blocking Unix socket the monitor's loop polls
/// between frames, so a relay that is gone, slow or refusing never freezes the screen. It says
/// hello, checks the protocol version, subscribes (when asked to) and takes a snapshot; when the
/// relay goes away it reconnects by itself with back-off (1, 2, 4 ... 30 s).
public final class ControlClient {
    public enum State: Equatable, Sendable {
        case connecting
        /// Connected and speaking protocol v1.
        case connected(relay: String, version: String)
        case reconnecting(at: Double, why: String)
        /// The socket's mode or the relay's uid check refused us; tried again now and then.
        case permissionDenied(String, retryAt: Double)
        case versionMismatch(Int, retryAt: Double)
    }

    /// What a poll brought.
    public enum Incoming {
        case stateChanged(State)
        case response(ControlResponse, for: PendingRequest)
        /// The relay's queue as it is now (a snapshot answer or a resync after an overflow).
        case snapshot([QueueEntry], now: Double)
        /// A delivery-log v1 line pushed by `subscribe`.
        case event([UInt8])
        case overflow(dropped: Int)
        case problem(String)
    }

    /// A request the caller made, to pair its response with.
    public struct PendingRequest: Sendable, Equatable {
        public var op: ControlOp
        public var msg: String?
        public var rcpts: [String]?
    }

    public let path: String
    /// Push delivery events (when the monitor has no log file to read them from).
    public let subscribe: Bool
    public private(set) var state: State = .connecting
    public private(set) var fd: Int32 = -1
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var nextID = 0
    private var pending: [Int: PendingRequest] = [:]
    private var failures = 0
    private var snapshotOutstanding = false
    private var lastSnapshot = 0.0
    /// When the socket connected: a relay that does not answer hello in time is given up on.
    private var connectedAt = 0.0
    static let helloTimeout = 10.0
    /// Seconds between snapshots while connected (the queue's schedule and held flags change
    /// without log lines, and a log-only view needs the live queue refreshed).
    public var snapshotInterval = 2.0

    public init(path: String, subscribe: Bool) {
        self.path = path
        self.subscribe = subscribe
    }

    deinit { if fd >= 0 { close(fd) } }

    public var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }

    /// Connects when due, writes what is queued, reads what arrived. Never blocks.
    public func poll(now: Double) -> [Incoming] {
        var out: [Incoming] = []
        switch state {
        case .reconnecting(let at, _), .permissionDenied(_, let at), .versionMismatch(_, let at):
            if now >= at { connect(now: now, into: &out) }
        case .connecting:
            if fd < 0 { connect(now: now, into: &out) } else if now - connectedAt > ControlClient.helloTimeout {
                lost("no answer to hello in \(Int(ControlClient.helloTimeout))s", now: now, into: &out)
            }
        case .connected:
            if !snapshotOutstanding, now - lastSnapshot >= snapshotInterval { requestSnapshot(now) }
        }
        guard fd >= 0 else { return out }
        flush(now: now, into: &out)
        read(now: now, into: &out)
        return out
    }

    /// Sends a request (retry, hold, release); its answer comes back from ``poll(now:)``.
    public func send(_ request: PendingRequest) {
        guard isConnected else { return }
        enqueue(request)
    }

    public func requestSnapshot(_ now: Double) {
        guard isConnected, !snapshotOutstanding else { return }
        snapshotOutstanding = true
        lastSnapshot = now
        enqueue(PendingRequest(op: .snapshot))
    }

    private func enqueue(_ request: PendingRequest) {
        nextID += 1
        pending[nextID] = request
        output += ControlProtocol.encode(ControlRequest(id: .int(nextID), op: request.op, msg: request.msg, rcpts: request.rcpts))
    }

    // MARK: connection

    private func connect(now: Double, into out: inout [Incoming]) {
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { return lost("socket: \(String(cString: strerror(errno)))", now: now, into: &out) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(s)
            return lost("the socket path is too long", now: now, into: &out)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        // A local connect finishes (or fails) at once; only afterwards is the socket non-blocking.
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(s)
            if e == EACCES || e == EPERM {
                return set(.permissionDenied("permission denied: \(path) is not open to this user", retryAt: now + 30), into: &out)
            }
            return lost(e == ENOENT ? "no socket at \(path)" : String(cString: strerror(e)), now: now, into: &out)
        }
        _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
        fd = s
        connectedAt = now
        input = []
        output = []
        pending = [:]
        snapshotOutstanding = false
        set(.connecting, into: &out)
        enqueue(PendingRequest(op: .hello))
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        pending = [:]
        snapshotOutstanding = false
    }

    /// The relay went away (or was never there): try again after a back-off that doubles.
    private func lost(_ why: String, now: Double, into out: inout [Incoming]) {
        disconnect()
        failures += 1
        let delay = min(30.0, Double(1 << min(5, failures - 1)))
        set(.reconnecting(at: now + delay, why: why), into: &out)
    }

    private func set(_ s: State, into out: inout [Incoming]) {
        guard s != state else { return }
        state = s
        out.append(.stateChanged(s))
    }

    private func flush(now: Double, into out: inout [Incoming]) {
        while !output.isEmpty, fd >= 0 {
            let n = output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { output.removeFirst(n); continue }
            if n < 0, errno == EAGAIN || errno == EINTR { return }
            return lost("the relay closed the connection", now: now, into: &out)
        }
    }

    private func read(now: Double, into out: inout [Incoming]) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        // A budget per poll, so a flood of events cannot starve the keyboard.
        for _ in 0..<64 {
            guard fd >= 0 else { return }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { break }
                return lost(String(cString: strerror(errno)), now: now, into: &out)
            }
            if n == 0 {
                splitLines(now: now, into: &out)
                if fd >= 0 { lost("the relay closed the connection", now: now, into: &out) }
                return
            }
            input += chunk[..<n]
            splitLines(now: now, into: &out)
        }
    }

    private func splitLines(now: Double, into out: inout [Incoming]) {
        var start = 0
        while fd >= 0, let lf = input[start...].firstIndex(of: 0x0A) {
            let line = Array(input[start..<lf])
            start = lf + 1
            handle(line, now: now, into: &out)
        }
        input.removeFirst(min(start, input.count))
    }

    private func handle(_ line: [UInt8], now: Double, into out: inout [Incoming]) {
        switch ControlProtocol.classify(line) {
        case .event:
            out.append(.event(line))
        case .overflow(let n):
            out.append(.overflow(dropped: n))
        case .snapshot(let entries):
            out.append(.snapshot(entries, now: now))
        case .garbage(let why):
            out.append(.problem("the relay sent a line relaywatch cannot read (\(why))"))
        case .response(let r):
            guard case .int(let n) = r.id, let request = pending.removeValue(forKey: n) else {
                // An answer to nothing we asked: the relay refusing the connection itself.
                if r.error?.code == ControlErrorCode.permissionDenied.rawValue {
                    disconnect()
                    set(.permissionDenied("permission denied: \(r.error?.message ?? "")", retryAt: now + 30), into: &out)
                } else if let e = r.error {
                    out.append(.problem("relay: \(e.message)"))
                }
                return
            }
            switch request.op {
            case .hello:
                guard r.ok, r.protocol == ControlProtocol.version else {
                    disconnect()
                    set(.versionMismatch(r.protocol ?? 0, retryAt: now + 30), into: &out)
                    return
                }
                failures = 0
                set(.connected(relay: r.relay ?? "relay", version: r.version ?? "?"), into: &out)
                if subscribe { enqueue(PendingRequest(op: .subscribe)) }
                requestSnapshot(now)
            case .snapshot:
                snapshotOutstanding = false
                if let messages = r.messages { out.append(.snapshot(messages, now: r.now ?? now)) }
            case .subscribe:
                if !r.ok { out.append(.problem("subscribe refused: \(r.error?.message ?? "")")) }
            default:
                out.append(.response(r, for: request))
            }
        }
    }
}
