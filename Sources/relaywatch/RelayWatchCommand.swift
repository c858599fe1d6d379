import ArgumentParser
import Foundation
import RelayWatch
import RelayWatchCurses

@main
struct RelayWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relaywatch",
        abstract: "Watch an SMTP relay's deliveries and catch recipient miscounts (KB822105).",
        discussion: """
            `relaywatch --log FILE` opens the full-screen monitor on a delivery log (v1, as \
            mailrelayd writes it) and follows it live. `relaywatch report LOG...` checks a log \
            and prints every anomaly; it exits 0 when there is none, 1 when there is any, 2 on a \
            usage error or an unreadable file.
            """,
        subcommands: [Report.self, ScenarioCommand.self]
    )

    @Option(name: .long, help: "Delivery log to watch (followed across rotation and truncation).")
    var log: String?

    @Option(name: .long, help: "Theme name (default, light, high-contrast, monochrome, or one of yours) or a theme file's path.")
    var theme: String?

    @Option(name: .long, help: "Start with the last N lines of the log instead of all of it.")
    var tail: Int?

    @Option(name: .long, help: "Only events from the last DURATION (e.g. 90s, 15m, 2h, 1d).")
    var since: String?

    func validate() throws {
        if let tail, tail < 1 { throw ValidationError("--tail takes a number of lines, 1 or more") }
        if let since, Duration.seconds(since) == nil {
            throw ValidationError("--since takes a duration such as 90s, 15m, 2h or 1d, not \"\(since)\"")
        }
        if log == nil, tail != nil || since != nil || theme != nil {
            throw ValidationError("--theme, --tail and --since go with --log FILE")
        }
    }

    func run() throws {
        guard let log else {
            print(RelayWatchCommand.helpMessage())
            print("\nTry it without a relay: relaywatch scenario kb822105 > kb.log; relaywatch --log kb.log")
            return
        }
        guard isatty(0) != 0, isatty(1) != 0 else {
            writeError("relaywatch: the monitor needs a terminal; for a log on a pipe use `relaywatch report`")
            throw ExitCode(2)
        }
        var options = MonitorOptions(logPath: log)
        if let tail { options.start = .tail(tail) }
        if let since, let seconds = Duration.seconds(since) { options.since = Date().timeIntervalSince1970 - seconds }
        options.theme = theme
        options.environment = ProcessInfo.processInfo.environment
        options.themeFolders = ThemeLoader.searchFolders(environment: options.environment,
                                                         executable: Bundle.main.executablePath ?? CommandLine.arguments[0])
        let status = MonitorLoop.run(options)
        throw ExitCode(status)
    }

    /// ArgumentParser exits 64 on a usage error; relaywatch promises 2 (0 none, 1 anomalies, 2 error)
    /// so cron jobs and CI can tell "the relay miscounts" from "you called me wrong".
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            writeError(fullMessage(for: error))
            Foundation.exit(2)
        }
    }
}

/// "90s", "15m", "2h", "1d" (or plain seconds) as seconds.
enum Duration {
    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let last = text.last else { return nil }
        if let unit = units[last], let n = Double(text.dropLast()), n >= 0 { return n * unit }
        if let n = Double(text), n >= 0 { return n }
        return nil
    }
}

func writeError(_ text: String) { StandardStreams.error(text) }
