import Foundation
import MailRelay
import NIOCore
import NIOPosix
import Synchronization

/// A receiving SMTP server that accepts and discards, enforcing a recipient limit per transaction
/// with the reply a chosen server gives past it. The same session code as mailrelayd's listener,
/// so it pipelines and answers like a real server; for the benchmark, the demo's peers and the tests.
/// It counts what arrives and when each message (by Message-ID) last received recipients.
public final class SinkPeer: Sendable {
    struct Tally {
        var messages = 0
        var recipients = 0
        var lastArrival: [String: Double] = [:]
    }

    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    let tally: SinkTally
    public let port: Int

    /// - Parameters:
    ///   - limit: recipients accepted per transaction.
    ///   - tooMany: the reply to the ones past it, e.g. "552 5.5.3 Too many recipients".
    ///   - policy: the peer's own refusals of single recipients (unknown users, greylisting).
    public static func start(limit: Int, tooMany: String, port: Int = 0, policy: RecipientPolicy? = nil) async throws -> SinkPeer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let tally = SinkTally()
        var config = RelayConfig()
        config.hostname = "sink.test"
        config.listen = HostPort(host: "127.0.0.1", port: port)
        config.maxRecipients = limit
        config.maxConnections = 1000
        config.maxMessageSize = 100 << 20
        let channel = try await SMTPServer.bind(config: config, group: group, intake: SinkIntake(tally: tally), tooManyReply: tooMany,
                                              recipientPolicy: policy)
        return SinkPeer(group: group, channel: channel, tally: tally)
    }

    private init(group: MultiThreadedEventLoopGroup, channel: Channel, tally: SinkTally) {
        self.group = group
        self.channel = channel
        self.tally = tally
        self.port = channel.localAddress?.port ?? 0
    }

    /// Messages and recipients received from a non-null sender (DSNs are counted apart).
    public var received: (messages: Int, recipients: Int) { tally.state.withLock { ($0.messages, $0.recipients) } }

    /// Message-ID → the time its last part arrived.
    public var lastArrivals: [String: Double] { tally.state.withLock { $0.lastArrival } }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// The counts, shared by the peer and its connections' intake.
final class SinkTally: Sendable {
    let state = Mutex(SinkPeer.Tally())
}

struct SinkIntake: MessageIntake {
    let tally: SinkTally

    func accept(_ message: IncomingMessage, client: String) async -> String {
        let now = Date().timeIntervalSince1970
        guard !message.sender.isEmpty else { return "250 2.0.0 Ok: DSN discarded" }
        let id = MessageHeader.messageID(in: message.body)
        tally.state.withLock { t in
            t.messages += 1
            t.recipients += message.recipients.count
            if let id { t.lastArrival[id] = now }
        }
        return "250 2.0.0 Ok: queued"
    }
}
