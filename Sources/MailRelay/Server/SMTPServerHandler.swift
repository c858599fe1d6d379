import NIOCore
import NIOPosix
import Synchronization

/// Where a received message goes: the relay queues it durably and says what to answer.
package protocol MessageIntake: Sendable {
    /// "250 2.0.0 Ok: queued as ID" only once the message is on disk; a 4xx when it cannot be.
    func accept(_ message: IncomingMessage, client: String) async -> String
}

/// One client connection: feeds lines to a ``ServerSession`` and writes its replies, flushing once
/// per read so a pipelined group's replies leave in one packet. While a message is being committed,
/// later lines are held (never dropped) and processed after its reply, keeping replies in order.
final class SMTPServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SMTPLine
    typealias OutboundOut = ByteBuffer

    private var session: ServerSession
    private let intake: any MessageIntake
    private let connections: ConnectionCounter
    private let dataTimeout: TimeAmount
    private var held: [SMTPLine] = []
    private var committing = false
    private var closed = false
    private var counted = false
    private var lastRead = NIODeadline.now()
    private var client = ""

    init(session: ServerSession, intake: any MessageIntake, connections: ConnectionCounter, dataTimeout: TimeAmount) {
        self.session = session
        self.intake = intake
        self.connections = connections
        self.dataTimeout = dataTimeout
    }

    func channelActive(context: ChannelHandlerContext) {
        client = context.remoteAddress?.ipAddress ?? "unknown"
        let host = session.limits.hostname
        if session.refused {
            send(context, "554 5.7.1 \(host) Access denied: \(client) may not relay through this host")
        } else if !connections.enter() {
            send(context, "421 4.7.0 \(host) Too many connections, try again later")
            close(context)
            return
        } else {
            counted = true
            send(context, "220 \(host) ESMTP mailrelayd")
        }
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted { connections.leave(); counted = false }
        closed = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        lastRead = .now()
        guard !closed else { return }
        if committing || !held.isEmpty {
            held.append(line)
            // A client that keeps pipelining while we commit: stop reading, the kernel buffers.
            if held.count == 10_000 { updateReading(context) }
            return
        }
        process(context, line)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, !committing else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // The command timeout drives the idle handler; inside DATA the longer data timeout applies.
        if session.inData, NIODeadline.now() - lastRead < dataTimeout { return }
        send(context, "421 4.4.2 \(session.limits.hostname) Error: timeout exceeded")
        context.flush()
        close(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        close(context)
    }

    private func process(_ context: ChannelHandlerContext, _ line: SMTPLine) {
        for action in session.receive(line) {
            switch action {
            case .reply(let text):
                send(context, text)
            case .close:
                context.flush()
                close(context)
                return
            case .commit(let message):
                committing = true
                context.flush()
                let intake = self.intake, client = self.client
                let promise = context.eventLoop.makePromise(of: String.self)
                promise.completeWithTask { await intake.accept(message, client: client) }
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                promise.futureResult.whenSuccess { reply in
                    let (handler, context) = loopBound.value
                    handler.committed(context, reply)
                }
            }
        }
    }

    private func committed(_ context: ChannelHandlerContext, _ reply: String) {
        committing = false
        guard !closed else { return }
        send(context, reply)
        while !held.isEmpty, !committing, !closed {
            process(context, held.removeFirst())
        }
        context.flush()
        updateReading(context)
    }

    /// A client that does not read its replies: its commands are not read either until it does,
    /// so the replies waiting in memory stay within the channel's write high-water mark (64 KiB)
    /// however many commands it pipelines.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        updateReading(context)
        context.fireChannelWritabilityChanged()
    }

    /// Reads while the client reads its replies and fewer than 10,000 lines wait behind a commit.
    private func updateReading(_ context: ChannelHandlerContext) {
        let read = context.channel.isWritable && held.count < 10_000
        context.channel.setOption(ChannelOptions.autoRead, value: read).whenComplete { _ in }
    }

    private func send(_ context: ChannelHandlerContext, _ reply: String) {
        var buffer = context.channel.allocator.buffer(capacity: reply.utf8.count + 2)
        buffer.writeString(reply)
        buffer.writeStaticString("\r\n")
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func close(_ context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        context.close(promise: nil)
    }
}

/// Connections in use, shared by every connection's handler.
package final class ConnectionCounter: Sendable {
    let limit: Int
    let count = Atomic<Int>(0)
    /// Every connection since start, refused ones included.
    let total = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    func enter() -> Bool {
        total.add(1, ordering: .relaxed)
        if count.add(1, ordering: .relaxed).newValue > limit {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() { count.subtract(1, ordering: .relaxed) }
}

/// Binds the listening socket and builds each connection's pipeline.
package enum SMTPServer {
    package static func bind(config: RelayConfig, group: EventLoopGroup, intake: any MessageIntake,
                     tooManyReply: String = "452 4.5.3 Too many recipients",
                     counter: ConnectionCounter? = nil, recipientPolicy: RecipientPolicy? = nil) async throws -> Channel {
        var limits = ServerSession.Limits(config: config)
        limits.tooManyReply = tooManyReply
        limits.recipientPolicy = recipientPolicy
        let counter = counter ?? ConnectionCounter(limit: config.maxConnections)
        let networks = config.clientNetworks
        let lineLimit = max(config.maxCommandLine, ServerSession.decoderLimit)
        let commandTimeout = TimeAmount.milliseconds(Int64(config.commandTimeout * 1000))
        let dataTimeout = TimeAmount.milliseconds(Int64(config.dataTimeout * 1000))
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let address = channel.remoteAddress?.ipAddress ?? ""
                    let allowed = networks.contains { $0.contains(address) }
                    let session = ServerSession(limits: limits, refused: !allowed)
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: commandTimeout),
                        ByteToMessageHandler(LineDecoder(limit: lineLimit)),
                        SMTPServerHandler(session: session, intake: intake, connections: counter, dataTimeout: dataTimeout),
                    ])
                }
            }
            .bind(host: config.listen.host, port: config.listen.port)
            .get()
    }
}
