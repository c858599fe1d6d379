import Foundation
import Logging
import MailRelay
import RelayPeers
import RelaySockets

/// `relaywatch` with no arguments: a real mailrelayd in this process, on 127.0.0.1 with free
/// ports and a temporary spool, delivering to the demo's peers the traffic the generator submits.
/// ``stop()`` ends all of it and removes the temporary directory.
public final class DemoRelay: Sendable {
    public let directory: String
    public let logPath: String
    public let controlPath: String
    public let smtpPort: Int
    let relay: Relay
    let peers: DemoPeers
    let traffic: DemoTraffic

    public struct Options: Sendable {
        /// Seconds between submitted messages (on average).
        public var interval: Double = 1.5
        public var greylistDelay: Double = 4
        public init() {}
    }

    public static func start(_ options: Options = Options()) async throws -> DemoRelay {
        let directory = try temporaryDirectory(prefix: "relaywatch-demo")
        do {
            let peers = try await DemoPeers.start(greylistDelay: options.greylistDelay)
            let relay: Relay
            do {
                relay = try await Relay.start(config(directory: directory, peers: peers), logger: Logger(label: "demo") { _ in SwiftLogNoOpLogHandler() })
            } catch {
                await peers.stop()
                throw error
            }
            let traffic = DemoTraffic(port: relay.listenAddress.port, interval: options.interval)
            traffic.start()
            return DemoRelay(directory: directory, relay: relay, peers: peers, traffic: traffic)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private init(directory: String, relay: Relay, peers: DemoPeers, traffic: DemoTraffic) {
        self.directory = directory
        self.relay = relay
        self.peers = peers
        self.traffic = traffic
        logPath = relay.config.logPath
        controlPath = relay.controlPath
        smtpPort = relay.listenAddress.port
    }

    /// Traffic first (no new messages), then the relay (its deliveries end), then the peers, then
    /// the files.
    public func stop() async {
        await traffic.stop()
        await relay.stop()
        await peers.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A new private (0700) directory in $TMPDIR (else /tmp), named `prefix.XXXXXX`: the demo's
    /// spool, and the file a recorded scenario is opened from.
    public static func temporaryDirectory(prefix: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/\(prefix).XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw ConfigError("cannot create a temporary directory in \(base): \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// The demo's relay: short back-off and lifetime so retries and expiry show within a minute.
    static func config(directory: String, peers: DemoPeers) -> RelayConfig {
        var c = RelayConfig()
        c.hostname = "relay.demo"
        c.listen = HostPort(host: "127.0.0.1", port: 0)
        c.spool = directory + "/spool"
        c.log = directory + "/delivery.log"
        c.control = directory + "/control.sock"
        c.backoff = [5, 10, 20]
        c.queueLifetime = 30
        c.connectTimeout = 5
        c.replyTimeout = 30
        c.idleConnectionTime = 5
        let strict = HostPort(host: "127.0.0.1", port: peers.strict.port)
        let greylisting = HostPort(host: "127.0.0.1", port: peers.greylisting.port)
        c.defaultRoute = Route(nextHop: greylisting, connections: 2)
        c.routes = [
            "limit552.example": Route(nextHop: strict, connections: 2),
            // The legacy reading of 552 (Postfix, Exim, OpenSMTPD): what a monitor must catch.
            "legacy552.example": Route(nextHop: strict, connections: 2, rcpt552: .permanent),
            "limit452.example": Route(nextHop: greylisting, connections: 2),
            "unreachable.example": Route(nextHop: HostPort(host: "127.0.0.1", port: LoopbackPort.unused()), connections: 1),
        ]
        return c
    }
}
