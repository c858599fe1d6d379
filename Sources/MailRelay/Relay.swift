import Foundation
import Logging
import NIOCore
import NIOPosix
import RelayCore

/// A running mailrelayd: the SMTP listener, the queue manager and the delivery log, started
/// together and stopped together.
public final class Relay: Sendable {
    public let config: RelayConfig
    let spool: Spool
    let log: DeliveryLogWriter
    let ids = IDGenerator()
    let limits: PeerLimits
    let queue: QueueManager
    let group: MultiThreadedEventLoopGroup
    let listener: Channel
    let control: ControlServer
    let logger: Logger

    /// The address the SMTP listener is bound to (the port is real when the config asked for 0).
    public var listenAddress: HostPort {
        HostPort(host: config.listen.host, port: listener.localAddress?.port ?? config.listen.port)
    }

    /// Opens the spool and the log, resumes the queue and starts listening.
    public static func start(_ config: RelayConfig, logger: Logger) async throws -> Relay {
        // A configuration mistake is refused before anything is opened or started.
        var controlGroup: gid_t?
        if let name = config.controlGroup {
            guard let gid = ControlAccess.groupID(name) else { throw ConfigError("control_group: no group named \(name)") }
            controlGroup = gid
        }
        let spool = try Spool(directory: config.spool)
        let log = try DeliveryLogWriter(path: config.logPath, rotateSize: config.logRotateSize, keep: config.logKeep)
        let queued = try spool.loadAll()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: min(4, System.coreCount))
        let relay = try await Relay(config: config, spool: spool, log: log, group: group, controlGroup: controlGroup, logger: logger)
        await relay.queue.start(resuming: queued)
        logger.info("mailrelayd listening on \(relay.listenAddress), spool \(config.spool), delivery log \(log.path), control socket \(relay.control.path)")
        return relay
    }

    private init(config: RelayConfig, spool: Spool, log: DeliveryLogWriter, group: MultiThreadedEventLoopGroup, controlGroup: gid_t?,
                 logger: Logger) async throws {
        self.config = config
        self.spool = spool
        self.log = log
        self.group = group
        self.logger = logger
        limits = PeerLimits(spool: spool, lifetime: config.peerLimitLifetime)
        let ids = self.ids
        queue = QueueManager(config: config, spool: spool, log: log, ids: ids, limits: limits, group: group, logger: logger)
        let intake = Intake(config: config, spool: spool, log: log, ids: ids, queue: queue, logger: logger)
        let connections = ConnectionCounter(limit: config.maxConnections)
        let counters = RelayCounters(smtp: connections)
        _ = log.subscribe { _, events in counters.count(events) }
        do {
            listener = try await SMTPServer.bind(config: config, group: group, intake: intake, counter: connections)
        } catch {
            try? await group.shutdownGracefully()
            throw ConfigError("cannot listen on \(config.listen): \(error)")
        }
        let service = ControlService(config: config, queue: queue, log: log, stats: counters, access: ControlAccess(group: controlGroup))
        do {
            control = try await ControlServer.start(config: config, service: service, group: group)
        } catch {
            try? await listener.close()
            try? await group.shutdownGracefully()
            if let e = error as? ConfigError { throw e }
            throw ConfigError("cannot create the control socket \(config.controlPath): \(error)")
        }
    }

    /// The control socket's path.
    public var controlPath: String { control.path }

    /// SIGTERM: stop accepting, let running transactions finish, close. Queued mail stays queued.
    public func stop() async {
        logger.info("stopping: no new connections, finishing deliveries in progress")
        try? await listener.close()
        await control.stop()
        await queue.drain()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }
}

/// Takes a received message into the queue: the Received: header, a queue id, the durable commit,
/// the `queued` event, then the answer.
struct Intake: MessageIntake {
    let config: RelayConfig
    let spool: Spool
    let log: DeliveryLogWriter
    let ids: IDGenerator
    let queue: QueueManager
    let logger: Logger

    func accept(_ message: IncomingMessage, client: String) async -> String {
        let id = ids.message()
        let now = Timestamp.now
        var body = Array(receivedHeader(id: id, message: message, client: client, now: now).utf8)
        body += message.body
        let m = QueuedMessage(id: id, sender: message.sender, size: body.count, messageID: MessageHeader.messageID(in: message.body),
                              received: now.seconds, nextAttempt: now.seconds, eightBit: message.eightBit,
                              recipients: message.recipients.map { QueuedRecipient(address: $0) })
        do {
            try await spool.enqueue(m, body: body)
        } catch {
            logger.error("cannot queue a message from \(client): \(error)")
            if Spool.isOutOfSpace(error) { return "452 4.3.1 Insufficient system storage" }
            return "451 4.3.0 Temporary local problem: the queue cannot be written; try again later"
        }
        log.write([DeliveryEvent(ts: .now, msg: id, .queued(Queued(from: m.sender, rcpts: message.recipients, size: m.size, messageID: m.messageID)))])
        await queue.add(m)
        return "250 2.0.0 Ok: queued as \(id)"
    }

    func receivedHeader(id: String, message: IncomingMessage, client: String, now: Timestamp) -> String {
        let forClause = message.recipients.count == 1 ? "\r\n\tfor <\(message.recipients[0])>" : ""
        return "Received: from \(message.clientName) ([\(client)])\r\n\tby \(config.hostname) (mailrelayd) with \(message.eightBit ? "ESMTP (8BITMIME)" : "ESMTP") id \(id)\(forClause);\r\n\t\(now.rfc5322)\r\n"
    }
}

/// Reading a received message's header section.
package enum MessageHeader {
    /// The Message-ID header's value, if the header section has one.
    package static func messageID(in body: [UInt8]) -> String? {
        var start = 0
        while start < body.count {
            var end = start
            while end < body.count, body[end] != 0x0A { end += 1 }
            let lineEnd = end > start && body[end - 1] == 0x0D ? end - 1 : end
            if lineEnd == start { return nil }  // the empty line ends the headers
            let line = body[start..<lineEnd]
            if line.count > 11, String(decoding: line.prefix(11), as: UTF8.self).lowercased() == "message-id:" {
                let value = String(decoding: line.dropFirst(11), as: UTF8.self).trimmingCharacters(in: .whitespaces)
                return value.isEmpty ? nil : value
            }
            start = end + 1
        }
        return nil
    }
}
