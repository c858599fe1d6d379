import Foundation
import NIOCore
import RelayCore
import Synchronization

/// What the control socket's ops do, apart from the wire: each request becomes one response.
/// `subscribe` is the handler's business (it owns the connection); the rest is here.
struct ControlService: Sendable {
    let config: RelayConfig
    let queue: QueueManager
    let log: DeliveryLogWriter
    let stats: RelayCounters
    let access: ControlAccess

    /// The version answered is the newest both sides speak: a client that names none is a v1
    /// client, and gets v1's answer (it checks the number).
    func hello(_ request: ControlRequest) -> ControlResponse {
        var r = ControlResponse(id: request.id)
        let asked = request.protocol ?? 1
        r.protocol = min(max(asked, ControlProtocol.versions.lowerBound), ControlProtocol.version)
        r.protocols = Array(ControlProtocol.versions)
        r.relay = "mailrelayd"
        r.version = MailRelayVersion.string
        r.hostname = config.hostname
        r.log = log.path
        return r
    }

    func perform(_ request: ControlRequest, _ op: ControlOp) async -> ControlResponse {
        let id = request.id
        do throws(ControlError) {
            switch op {
            case .hello:
                return hello(request)
            case .snapshot:
                let now = Date().timeIntervalSince1970
                let view = await queue.snapshot(now: now, since: request.since)
                var r = ControlResponse(id: id)
                r.now = now
                r.messages = view.entries
                r.queueVersion = view.version
                if let since = view.since {
                    r.since = since
                    r.removed = view.removed
                }
                return r
            case .stats:
                var r = ControlResponse(id: id)
                r.stats = await stats.current(queue: queue.counts())
                return r
            case .retry:
                let msg = try need(request.msg)
                var r = ControlResponse(id: id)
                r.msg = msg
                r.rcpts = try await queue.retryNow(msg, recipients: request.rcpts)
                return r
            case .hold, .release:
                let msg = try need(request.msg)
                if op == .hold { try await queue.hold(msg) } else { try await queue.release(msg) }
                var r = ControlResponse(id: id)
                r.msg = msg
                return r
            case .subscribe:
                return .failure(id, ControlError(.internalError, "subscribe is handled by the connection"))
            }
        } catch {
            return .failure(id, error)
        }
    }

    func snapshotNotice() async -> SnapshotNotice {
        let now = Date().timeIntervalSince1970
        let view = await queue.snapshot(now: now)
        return SnapshotNotice(now: now, messages: view.entries, queueVersion: view.version)
    }

    private func need(_ msg: String?) throws(ControlError) -> String {
        guard let msg, !msg.isEmpty else { throw ControlError(.badRequest, "this op needs \"msg\": the queue id") }
        return msg
    }
}

/// The relay's counters: delivery events folded as the log writer writes them, plus the SMTP
/// listener's and the control socket's connection counts.
final class RelayCounters: Sendable {
    let folded = Mutex(RelayStats())
    let started = Date().timeIntervalSince1970
    let smtp: ConnectionCounter
    let controlClients = Atomic<Int>(0)

    init(smtp: ConnectionCounter) { self.smtp = smtp }

    func count(_ events: [DeliveryEvent]) {
        folded.withLock { s in for e in events { s.count(e) } }
    }

    func current(queue: RelayStats.Queue) -> RelayStats {
        var s = folded.withLock { $0 }
        s.uptime = Date().timeIntervalSince1970 - started
        s.connections.current = smtp.count.load(ordering: .relaxed)
        s.connections.total = smtp.total.load(ordering: .relaxed)
        s.connections.control = controlClients.load(ordering: .relaxed)
        s.queue = queue
        return s
    }
}
