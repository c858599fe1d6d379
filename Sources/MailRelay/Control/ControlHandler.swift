import Foundation
import NIOCore
import NIOPosix
import RelayCore

/// One control client: checks its uid (SO_PEERCRED), then answers its requests one at a time, in
/// order, each with exactly one response. After `subscribe` it also forwards every delivery-log
/// batch as the log writer wrote it. A client too slow to keep up is never waited for: once its
/// socket buffer is full the batches are counted, not queued, and when it drains it is told how
/// many it missed (`overflow`) and sent the queue as it is now (`snapshot`) to start again from.
final class ControlHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SMTPLine
    typealias OutboundOut = ByteBuffer

    private let service: ControlService
    private var context: ChannelHandlerContext?
    private var authorized = false
    private var closed = false
    /// Lines not yet answered: those before the uid check, and those behind a running request.
    private var waiting: [SMTPLine] = []
    private var busy = false
    private var errorsInARow = 0
    private var rate = RequestRate()
    private var subscription: Int?
    private var dropped = 0
    private var resyncing = false
    private var heldDuringResync: [ByteBuffer] = []

    init(service: ControlService) { self.service = service }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        service.stats.controlClients.add(1, ordering: .relaxed)
        guard let provider = context.channel as? SocketOptionProvider else { return refuse("cannot tell who you are") }
        let credentials: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: PeerCredentials.option)
        credentials.whenComplete { [self] result in
            guard !closed else { return }
            switch result {
            case .success(let who) where service.access.allows(uid: who.uid):
                authorized = true
                drain()
            case .success(let who):
                refuse("uid \(who.uid) may not use this relay's control socket (root, the relay's user and its control_group may)")
            case .failure(let error):
                refuse("cannot tell who you are: \(error)")
            }
        }
        context.fireChannelActive()
    }

    private func refuse(_ why: String) {
        closeWith(ControlError(.permissionDenied, why))
    }

    /// The last word to a client the relay will not serve any further, then the connection closes.
    private func closeWith(_ error: ControlError) {
        send(ControlResponse.failure(.none, error))
        context?.close(promise: nil)
        closed = true
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        service.stats.controlClients.subtract(1, ordering: .relaxed)
        if let subscription { service.log.unsubscribe(subscription) }
        subscription = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        guard waiting.count < ControlProtocol.maxPendingRequests else {
            return closeWith(ControlError(.tooManyPending, "\(waiting.count) requests sent and not yet answered; closing"))
        }
        waiting.append(unwrapInboundIn(data))
        drain()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func drain() {
        while authorized, !busy, !closed, !waiting.isEmpty {
            handle(waiting.removeFirst())
        }
    }

    private func handle(_ line: SMTPLine) {
        if line.overlong {
            return garbage(.none, ControlProtocol.requestTooLong)
        }
        let request: ControlRequest, op: ControlOp
        switch ControlProtocol.readRequest(Array(line.bytes.readableBytesView)) {
        case .blank: return
        case .unusable(let id, let error): return garbage(id, error)
        case .request(let r, let o): (request, op) = (r, o)
        }
        guard rate.allow(at: Double(NIODeadline.now().uptimeNanoseconds) / 1e9) else {
            return garbage(request.id, ControlError(.rateLimited, "more than \(Int(ControlProtocol.requestsPerSecond)) requests a second; this one was not run"))
        }
        errorsInARow = 0
        switch op {
        case .hello:
            send(service.hello(request))
        case .subscribe:
            subscribe(request.id)
        default:
            busy = true
            let loop = context!.eventLoop
            Task { [service] in
                let response = await service.perform(request, op)
                loop.execute { [self] in
                    busy = false
                    send(response)
                    drain()
                }
            }
        }
    }

    /// An unusable line: answered, and after too many in a row the connection is closed (a
    /// client speaking some other protocol should not keep a descriptor forever).
    private func garbage(_ id: ControlID, _ error: ControlError) {
        errorsInARow += 1
        send(ControlResponse.failure(id, error))
        if errorsInARow >= ControlProtocol.maxConsecutiveErrors {
            closeWith(ControlError(.tooManyErrors, "\(errorsInARow) unusable lines in a row; closing"))
        }
    }

    private func send<T: Encodable>(_ value: T) {
        guard let context, !closed else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: ControlProtocol.encode(value))), promise: nil)
    }

    // MARK: subscribe

    private func subscribe(_ id: ControlID) {
        guard subscription == nil else {
            return send(ControlResponse.failure(id, ControlError(.alreadySubscribed, "this connection is already subscribed")))
        }
        send(ControlResponse(id: id))
        let loop = context!.eventLoop
        // The writer calls this under its lock, in file order; hopping to the event loop keeps
        // that order and leaves the writer at once.
        subscription = service.log.subscribe { [self] lines, events in
            loop.execute { self.push(lines, count: events.count) }
        }
    }

    private func push(_ lines: [UInt8], count: Int) {
        guard let context, !closed else { return }
        if resyncing {
            heldDuringResync.append(context.channel.allocator.buffer(bytes: lines))
            return
        }
        if dropped > 0 || !context.channel.isWritable {
            dropped += count
            return
        }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: lines)), promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, dropped > 0, !resyncing { resync() }
        context.fireChannelWritabilityChanged()
    }

    /// The client caught up after missing events: say how many, then give it the queue as it is.
    private func resync() {
        send(OverflowNotice(dropped: dropped))
        dropped = 0
        resyncing = true
        let loop = context!.eventLoop
        Task { [service] in
            let notice = await service.snapshotNotice()
            loop.execute { [self] in
                send(notice)
                resyncing = false
                guard let context, !closed else { return }
                for buffer in heldDuringResync { context.write(wrapOutboundOut(buffer), promise: nil) }
                heldDuringResync = []
                context.flush()
            }
        }
    }
}

/// The listening control socket.
struct ControlServer {
    let channel: Channel
    let path: String
    let inode: ino_t?

    static func start(config: RelayConfig, service: ControlService, group: EventLoopGroup) async throws -> ControlServer {
        let path = config.controlPath
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            // A subscriber's unread events may fill this much before it counts as slow.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(LineDecoder(limit: ControlProtocol.maxRequestLine)),
                        ControlHandler(service: service),
                    ])
                }
            }
        let channel = try await ControlSocket.bind(path: path, group: service.access.gid, bootstrap: bootstrap)
        return ControlServer(channel: channel, path: path, inode: ControlSocket.inode(path))
    }

    func stop() async {
        try? await channel.close()
        if let inode { ControlSocket.remove(path, inode: inode) }
    }
}

/// Linux's `struct ucred` (pid, uid, gid), which Glibc's module does not export without _GNU_SOURCE.
struct PeerCredentials: Sendable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    /// SO_PEERCRED on Linux.
    static let option: SocketOptionName = 17
}
