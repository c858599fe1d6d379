#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RelayCore
import Synchronization

/// Appends delivery-log v1 events (see RelayCore's DeliveryLog article) through the same encoder
/// the monitor decodes with. Each ``write(_:)`` is one batch: encoded together, written with one
/// write(2), so a reader never sees half a batch's line order mixed with another's.
///
/// Rotation is by size, the way logrotate's `create` mode does it: rename `log` to `log.1` (and
/// `log.1` to `log.2`, ...), then open a new `log`. relaywatch's follower notices the new inode.
public final class DeliveryLogWriter: Sendable {
    struct State {
        var fd: Int32
        var size: Int
        var failed: String?
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 0
    }

    /// Called with each batch as written (its encoded lines and its events), in file order, under
    /// the writer's lock: it must only hand the batch on (to an event loop, a counter), never block.
    public typealias Subscriber = @Sendable (_ lines: [UInt8], _ events: [DeliveryEvent]) -> Void

    public let path: String
    let rotateSize: Int
    let keep: Int
    let state: Mutex<State>

    public init(path: String, rotateSize: Int, keep: Int) throws(ConfigError) {
        self.path = path
        self.rotateSize = rotateSize
        self.keep = keep
        let fd = DeliveryLogWriter.open(path)
        guard fd >= 0 else { throw ConfigError("cannot open the delivery log \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        fstat(fd, &st)
        state = Mutex(State(fd: fd, size: Int(st.st_size)))
    }

    deinit {
        state.withLock { close($0.fd) }
    }

    static func open(_ path: String) -> Int32 {
        Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
    }

    /// Writes a batch. A failed write (disk full) is remembered and reported by ``takeFailure()``;
    /// the relay keeps delivering, since the queue, not the log, is the record of what it owes.
    public func write(_ events: [DeliveryEvent]) {
        guard !events.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(events.count * 200)
        for e in events { LogEncoder.append(e, to: &bytes) }
        state.withLock { s in
            if s.size > 0, s.size + bytes.count > rotateSize { rotate(&s) }
            var done = 0
            while done < bytes.count {
                let n = bytes[done...].withUnsafeBytes { Glibc.write(s.fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    s.failed = "writing \(path): \(String(cString: strerror(errno)))"
                    break
                }
                done += n
            }
            s.size += done
            for subscriber in s.subscribers.values { subscriber(bytes, events) }
        }
    }

    /// Every batch written from now on goes to `subscriber` too (the control socket's `subscribe`,
    /// the stats counters). Returns a token for ``unsubscribe(_:)``.
    public func subscribe(_ subscriber: @escaping Subscriber) -> Int {
        state.withLock { s in
            s.nextSubscriber += 1
            s.subscribers[s.nextSubscriber] = subscriber
            return s.nextSubscriber
        }
    }

    public func unsubscribe(_ token: Int) {
        state.withLock { s in s.subscribers[token] = nil }
    }

    public func takeFailure() -> String? {
        state.withLock { s in defer { s.failed = nil }; return s.failed }
    }

    private func rotate(_ s: inout State) {
        for n in stride(from: keep - 1, through: 1, by: -1) {
            rename("\(path).\(n)", "\(path).\(n + 1)")
        }
        rename(path, "\(path).1")
        let fd = DeliveryLogWriter.open(path)
        guard fd >= 0 else {
            s.failed = "reopening \(path) after rotation: \(String(cString: strerror(errno)))"
            return
        }
        close(s.fd)
        s.fd = fd
        s.size = 0
    }
}
