import NIOCore
import NIOPosix
import RelayCore

/// A reply from a next hop with its lines kept (EHLO's keywords are its lines).
package struct PeerReply: Sendable {
    package var reply: SMTPReply
    package var lines: [String]
}

/// Why talking to a next hop stopped. Each carries the replies that did arrive, so the caller can
/// still pair them with their commands by position and log them.
enum PeerFailure: Error, CustomStringConvertible {
    case connect(String)
    case timeout(received: [PeerReply])
    case closed(received: [PeerReply])
    /// A reply that is not `ddd[ -]text`, or replies the client did not ask for.
    case outOfStep(String, received: [PeerReply])

    var received: [PeerReply] {
        switch self {
        case .connect: []
        case .timeout(let r), .closed(let r), .outOfStep(_, let r): r
        }
    }

    var description: String {
        switch self {
        case .connect(let why): "connect failed: \(why)"
        case .timeout(let r): "timed out waiting for a reply (after \(r.count) of the expected replies)"
        case .closed(let r): "connection closed by the peer (after \(r.count) of the expected replies)"
        case .outOfStep(let why, _): "peer out of step: \(why)"
        }
    }
}

/// Collects replies and hands them to whoever asked, in order, by count: the client pairs
/// replies with commands by position only (RFC 2920 §3.1), never by code or text.
final class ReplyCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SMTPLine

    private var assembler = ReplyAssembler()
    /// Replies nobody has asked for yet (the greeting, or a peer answering more than it was asked).
    private var unclaimed: [PeerReply] = []
    private var waiting: (count: Int, got: [PeerReply], promise: EventLoopPromise<[PeerReply]>, timer: Scheduled<Void>?)?
    private var failure: PeerFailure?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        let step = line.bytes.withUnsafeReadableBytes { assembler.take($0, overlong: line.overlong) }
        let reply: PeerReply
        switch step {
        case .more: return
        case .reply(let r): reply = r
        case .malformed(let why):
            fail(.outOfStep(why, received: waiting?.got ?? []))
            context.close(promise: nil)
            return
        }
        guard var w = waiting else {
            unclaimed.append(reply)
            return
        }
        w.got.append(reply)
        if w.got.count == w.count {
            waiting = nil
            w.timer?.cancel()
            w.promise.succeed(w.got)
        } else {
            waiting = w
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed(received: waiting?.got ?? []))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(.closed(received: waiting?.got ?? []))
        context.close(promise: nil)
    }

    private func fail(_ f: PeerFailure) {
        if failure == nil { failure = f }
        if let w = waiting {
            waiting = nil
            w.timer?.cancel()
            w.promise.fail(f)
        }
    }

    /// Waits for `count` replies (on the event loop), failing after `timeout`.
    func expect(_ count: Int, timeout: TimeAmount, on loop: EventLoop, closing channel: Channel) -> EventLoopFuture<[PeerReply]> {
        let promise = loop.makePromise(of: [PeerReply].self)
        if let failure {
            promise.fail(failure)
            return promise.futureResult
        }
        let got = Array(unclaimed.prefix(count))
        unclaimed.removeFirst(got.count)
        if got.count == count {
            promise.succeed(got)
            return promise.futureResult
        }
        let timer = loop.scheduleTask(in: timeout) { [weak self] in
            guard let self, let w = self.waiting else { return }
            self.waiting = nil
            self.failure = .timeout(received: w.got)
            w.promise.fail(PeerFailure.timeout(received: w.got))
            channel.close(promise: nil)
        }
        waiting = (count, got, promise, timer)
        return promise.futureResult
    }

    /// True when the peer sent replies nobody asked for: it is out of step with our commands.
    var hasUnclaimed: Bool { !unclaimed.isEmpty }
}

extension PeerReply {
    /// A multi-line reply as one ``SMTPReply``: the code and enhanced code from the first line,
    /// the texts joined by a space (the delivery log's convention).
    static func join(_ lines: [String]) -> SMTPReply {
        let first = SMTPReply(parsing: lines[0]) ?? SMTPReply(code: Int(lines[0].prefix(3)) ?? 0, text: "")
        guard lines.count > 1 else { return first }
        var texts = [first.text]
        for l in lines.dropFirst() {
            var t = Substring(l.dropFirst(4))
            if let e = first.enhanced, t.hasPrefix(e.description + " ") { t = t.dropFirst(e.description.count + 1) }
            texts.append(String(t))
        }
        return SMTPReply(code: first.code, enhanced: first.enhanced, text: texts.joined(separator: " "))
    }
}

/// One SMTP session to a next hop: connect, greeting, EHLO (HELO if refused), then transactions.
final class PeerConnection: @unchecked Sendable {
    let channel: Channel
    let collector: ReplyCollector
    let peer: String
    let sessionID: String
    private(set) var ehloKeywords: [String] = []
    let replyTimeout: TimeAmount
    /// Set once the session can no longer be trusted for another transaction.
    private(set) var broken = false
    var transactions = 0

    var pipelining: Bool { hasKeyword("PIPELINING") }
    var eightBitMIME: Bool { hasKeyword("8BITMIME") }
    /// The peer's SIZE limit, 0 when it gave none.
    var sizeLimit: Int? {
        guard let k = ehloKeywords.first(where: { $0.uppercased().hasPrefix("SIZE") }) else { return nil }
        return Int(k.dropFirst(4).filter { $0 != " " }) ?? 0
    }

    private func hasKeyword(_ name: String) -> Bool {
        ehloKeywords.contains { $0.uppercased() == name || $0.uppercased().hasPrefix(name + " ") }
    }

    private init(channel: Channel, collector: ReplyCollector, peer: String, sessionID: String, replyTimeout: TimeAmount) {
        self.channel = channel
        self.collector = collector
        self.peer = peer
        self.sessionID = sessionID
        self.replyTimeout = replyTimeout
    }

    /// How opening a session ended, when it did not fail outright.
    enum Opening {
        case ready(PeerConnection)
        /// The greeting, or HELO after EHLO, was refused: the peer's own words, for the deferral.
        case refused(PeerReply)
    }

    /// Connects and says EHLO (HELO if EHLO is refused). Throws ``PeerFailure``.
    static func open(to hop: HostPort, hostname: String, sessionID: String, group: EventLoopGroup,
                     connectTimeout: Double, replyTimeout: Double) async throws -> Opening {
        let collector = ReplyCollector()
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(Int64(connectTimeout * 1000)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandlers([ByteToMessageHandler(LineDecoder(limit: 4096)), collector])
                    }
                }
                .connect(host: hop.host, port: hop.port)
                .get()
        } catch {
            throw PeerFailure.connect("\(hop): \(error)")
        }
        let conn = PeerConnection(channel: channel, collector: collector, peer: hop.description, sessionID: sessionID,
                                  replyTimeout: .milliseconds(Int64(replyTimeout * 1000)))
        do {
            let greeting = try await conn.send(nil, expecting: 1)[0]
            guard greeting.reply.code == 220 else {
                conn.close()
                return .refused(greeting)
            }
            var hello = try await conn.send(conn.text("EHLO \(hostname)\r\n"), expecting: 1)[0]
            if hello.reply.code == 250 {
                conn.ehloKeywords = Array(hello.lines.dropFirst())
            } else {
                hello = try await conn.send(conn.text("HELO \(hostname)\r\n"), expecting: 1)[0]
                guard hello.reply.code == 250 else {
                    conn.close()
                    return .refused(hello)
                }
            }
            return .ready(conn)
        } catch {
            conn.close()
            throw error
        }
    }

    func text(_ s: String) -> ByteBuffer {
        channel.allocator.buffer(string: s)
    }

    /// Writes `bytes` (if any) and waits for `count` replies. Checks first that the peer has not
    /// sent replies nobody asked for; if it has, the session is out of step and ends here.
    func send(_ bytes: ByteBuffer?, expecting count: Int) async throws -> [PeerReply] {
        let collector = self.collector, channel = self.channel, timeout = replyTimeout
        let future: EventLoopFuture<[PeerReply]> = channel.eventLoop.flatSubmit {
            if bytes != nil, collector.hasUnclaimed {
                return channel.eventLoop.makeFailedFuture(PeerFailure.outOfStep("replies arrived that no command asked for", received: []))
            }
            let f = collector.expect(count, timeout: timeout, on: channel.eventLoop, closing: channel)
            if let bytes { channel.writeAndFlush(bytes, promise: nil) }
            return f
        }
        do {
            return try await future.get()
        } catch {
            broken = true
            throw error
        }
    }

    /// Whether more replies came than commands were sent: checked after a transaction's last reply.
    func outOfStep() async -> Bool {
        let collector = self.collector
        return (try? await channel.eventLoop.submit { collector.hasUnclaimed }.get()) ?? true
    }

    func markBroken() { broken = true }

    /// QUIT without waiting long for 221, then close.
    func quit() async {
        if !broken, channel.isActive {
            _ = try? await send(text("QUIT\r\n"), expecting: 1)
        }
        close()
    }

    func close() {
        broken = true
        channel.close(promise: nil)
    }
}
