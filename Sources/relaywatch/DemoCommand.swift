import ArgumentParser
import Dispatch
import Foundation
import RelayDemo
import RelayScenarios
import RelayWatch
import RelayWatchCurses

/// `relaywatch demo`: the built-in relay (what `relaywatch` with no arguments runs), or with
/// `--scenario NAME` a recorded situation, such as the KB822105 miscount that mailrelayd itself
/// never commits, opened in the monitor.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the built-in demo relay, or open a recorded scenario (--scenario kb822105) in the monitor.",
        discussion: "`relaywatch scenario` lists the scenarios."
    )

    @Option(name: .long, help: "Open this recorded scenario instead of running the demo relay.")
    var scenario: String?

    @Option(name: .long, help: "Theme name or file.")
    var theme: String?

    @Flag(name: .customLong("no-monitor"), help: "Run only the demo relay, printing its log and socket paths, until SIGTERM or SIGINT (to point another relaywatch or a script at it).")
    var noMonitor = false

    func run() throws {
        if noMonitor { return try DemoCommand.runHeadless() }
        guard isatty(0) != 0, isatty(1) != 0 else {
            writeError("relaywatch: the monitor needs a terminal")
            throw ExitCode(2)
        }
        var options = MonitorOptions.forThisProcess(logPath: nil, socketPath: nil)
        options.theme = theme
        guard let name = scenario else { throw ExitCode(try DemoCommand.runDemo(options)) }
        guard let s = Scenario.all.first(where: { $0.name == name }) else {
            throw ValidationError("no scenario named \(name); known: \(Scenario.all.map(\.name).joined(separator: ", "))")
        }
        // The recorded log goes to a private temporary file the monitor follows, removed on quit.
        let directory = try DemoRelay.temporaryDirectory(prefix: "relaywatch-scenario")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/\(name).log"
        try Data(s.log.utf8).write(to: URL(fileURLWithPath: path))
        options.logPath = path
        // Short enough for 80 columns; `relaywatch scenario` describes each one in full.
        options.banner = "recorded scenario \(name) · Enter opens a message · ? keys"
        throw ExitCode(CursesMonitor.run(options))
    }

    /// Starts the demo relay, runs the monitor on it, and stops it all when the monitor ends.
    static func runDemo(_ base: MonitorOptions) throws -> Int32 {
        let demo: DemoRelay
        do {
            demo = try blocking { try await DemoRelay.start() }
        } catch {
            writeError("relaywatch: cannot start the built-in demo: \(error)")
            return 1
        }
        var options = base
        options.logPath = demo.logPath
        options.socketPath = demo.controlPath
        // Fits 80 columns. The KB822105 miscount (`relaywatch demo --scenario kb822105`) is in
        // the README and `relaywatch demo --help`.
        options.banner = "BUILT-IN DEMO · a real relay: relaywatch --log FILE --socket PATH"
        let status = CursesMonitor.run(options)
        blocking { await demo.stop() }
        return status
    }
}

extension DemoCommand {
    /// The demo relay without the monitor: its paths on stdout, then it runs until a signal.
    static func runHeadless() throws {
        // Blocked before any thread starts (threads inherit the mask), then taken with sigwait.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let demo: DemoRelay
        do {
            demo = try blocking { try await DemoRelay.start() }
        } catch {
            writeError("relaywatch: cannot start the built-in demo: \(error)")
            throw ExitCode(1)
        }
        StandardStreams.out("log \(demo.logPath)\nsocket \(demo.controlPath)\nsmtp 127.0.0.1:\(demo.smtpPort)\n")
        var received: Int32 = 0
        sigwait(&signals, &received)
        blocking { await demo.stop() }
    }
}

/// Runs async work from the synchronous main thread (which is not one of the concurrency pool's).
func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, Error>!
    Task {
        do { result = .success(try await work()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result.get()
}

func blocking(_ work: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await work()
        done.signal()
    }
    done.wait()
}
