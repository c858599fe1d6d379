import ArgumentParser
import Dispatch
import Foundation
import Logging

/// `mailrelayd`: the command line. Reads the configuration, applies the flags over it, runs the
/// relay until SIGTERM or SIGINT, then stops it gracefully.
@available(macOS 10.15, *)
public struct MailRelayCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mailrelayd",
        abstract: "An SMTP smarthost relay that re-sends too-many recipients instead of bouncing them.",
        discussion: """
            Listens for SMTP from the allowed client networks, queues each message durably, and \
            delivers it to the configured next hops, writing the delivery log that relaywatch reads. \
            See README.md for the configuration file.
            """
    )

    @Option(name: .long, help: "Configuration file (TOML).")
    var config: String?

    @Option(name: .long, help: "Address to listen on, host:port (default 127.0.0.1:2525).")
    var listen: String?

    @Option(name: .customLong("next-hop"), help: "Default next hop, host:port.")
    var nextHop: String?

    @Option(name: .long, help: "Spool directory (the queue).")
    var spool: String?

    @Option(name: .long, help: "Delivery log file (default: <spool>/delivery.log).")
    var log: String?

    @Option(name: .long, help: "Control socket (default: <spool>/control.sock).")
    var control: String?

    @Option(name: .long, help: "Name used in the greeting, EHLO, Received: and DSNs.")
    var hostname: String?

    @Flag(name: .shortAndLong, help: "Log diagnostics at debug level.")
    var verbose = false

    public init() {}

    /// The configuration file with the flags applied over it.
    public func resolvedConfig() throws -> RelayConfig {
        var c = RelayConfig()
        if let path = config {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read the configuration file \(path)")
            }
            do {
                c = try RelayConfig.parse(text, file: path)
            } catch {
                throw ValidationError(error.description)
            }
        }
        if let listen {
            guard let hp = HostPort(parsing: listen, anyPort: true) else { throw ValidationError("--listen: expected host:port, found \(listen)") }
            c.listen = hp
        }
        if let nextHop {
            guard let hp = HostPort(parsing: nextHop) else { throw ValidationError("--next-hop: expected host:port, found \(nextHop)") }
            c.defaultRoute.nextHop = hp
        }
        if let spool { c.spool = spool }
        if let log { c.log = log }
        if let hostname { c.hostname = hostname }
        if let control { c.control = control }
        return c
    }

    public func run() async throws {
        let config = try resolvedConfig()
        // A file-size limit (RLIMIT_FSIZE) reached must be a write error the spool turns into a
        // 452 for the client, not a signal that kills the relay with messages in flight.
        signal(SIGXFSZ, SIG_IGN)
        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "mailrelayd")
        let relay: Relay
        do {
            relay = try await Relay.start(config, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        await TerminationSignal.wait()
        await relay.stop()
    }
}

/// Waits for SIGTERM or SIGINT (each kept from its default action and taken by a Dispatch source).
enum TerminationSignal {
    static func wait() async {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            // The first signal ends the wait; later ones land in a stream nobody reads.
            s.setEventHandler { continuation.yield() }
            s.resume()
            sources.append(s)
        }
        for await _ in stream { break }
        withExtendedLifetime(sources) {}
    }
}
