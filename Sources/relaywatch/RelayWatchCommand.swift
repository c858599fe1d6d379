import ArgumentParser
import Foundation
import RelayDemo
import RelayWatch
import RelayWatchCurses

@main
struct RelayWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relaywatch",
        abstract: "Watch an SMTP relay's deliveries and catch recipient miscounts (KB822105).",
        discussion: """
            With no arguments (and no config file naming a log or socket) relaywatch starts its \
            built-in demo: a real mailrelayd in this process delivering generated traffic to test \
            peers with recipient limits. `relaywatch --log FILE` follows a delivery log (v1, as \
            mailrelayd writes it); `--socket PATH` connects to mailrelayd's control socket for the \
            live queue and the actions (r retry, h hold, u release); `--postfix` watches this \
            host's Postfix. Defaults come from $XDG_CONFIG_HOME/relaywatch/config.toml (log, \
            socket, theme, readonly). `relaywatch report LOG...` checks a log and prints every \
            anomaly; it exits 0 when there is none, 1 when there is any, 2 on a usage error or an \
            unreadable file. The monitor's options: relaywatch help watch.
            """,
        subcommands: [Watch.self, Report.self, Convert.self, ScenarioCommand.self, DemoCommand.self],
        // The monitor is what `relaywatch` runs. It is a subcommand of its own so that its options
        // (--journal, --since) and report's of the same name do not meet: ArgumentParser lets a
        // parent's options follow a subcommand's name and takes them first.
        defaultSubcommand: Watch.self
    )
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

/// The monitor: `relaywatch [options]`.
struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The monitor (what relaywatch runs when no other command is named).")

    @Option(name: .long, help: "Delivery log to watch (followed across rotation and truncation).")
    var log: String?

    @Option(name: .long, help: "mailrelayd's control socket: the live queue, and retry/hold/release from the keyboard.")
    var socket: String?

    @Flag(name: .long, help: "Disable every action on the relay.")
    var readonly = false

    @Option(name: .long, help: "Theme name (default, light, high-contrast, monochrome, or one of yours) or a theme file's path.")
    var theme: String?

    @Option(name: .long, help: "Finished messages kept in memory (default 5000; unacknowledged findings kept past it, up to as many again).")
    var keep: Int?

    @Option(name: .long, help: "Start with the last N lines of the log instead of all of it.")
    var tail: Int?

    @Option(name: .long, parsing: .unconditional, help: "Only events from the last DURATION (e.g. 90s, 15m, 2h, 1d).")
    var since: String?

    @Option(name: .long, help: "Config file (default: $XDG_CONFIG_HOME/relaywatch/config.toml).")
    var config: String?

    @Flag(name: .long, help: "Watch this host's Postfix: its mail log, postqueue -j as the live queue, postqueue/postsuper behind r, h and u.")
    var postfix = false

    @Option(name: .long, help: "With --postfix: the mail log (default: Postfix's maillog_file, /var/log/mail.log or /var/log/maillog; else the journal).")
    var maillog: String?

    @Flag(name: .long, help: "With --postfix: read Postfix's lines from the systemd journal (journalctl --follow).")
    var journal = false

    @Option(name: .customLong("postfix-config"), help: "With --postfix: Postfix's configuration directory (postqueue/postsuper -c DIR).")
    var postfixConfig: String?

    @Option(name: .long, help: "With --postfix or --exim: seconds between queue listings (default 3).")
    var queueInterval: Double?

    @Flag(name: .long, help: "Watch this host's Exim: its main log, exim -bp as the live queue, exim -M/-Mf/-Mt behind r, h and u.")
    var exim = false

    @Option(name: .long, help: "With --exim: the main log (default: Exim's log_file_path, /var/log/exim4/mainlog, /var/log/exim/main.log).")
    var mainlog: String?

    @Option(name: .customLong("exim-binary"), help: "With --exim: the exim binary (default exim4, else exim).")
    var eximBinary: String?

    @Option(name: .customLong("exim-config"), help: "With --exim: a configuration file for exim -C.")
    var eximConfig: String?

    func validate() throws {
        if let keep, keep < 1 { throw ValidationError("--keep takes a number of finished messages, 1 or more") }
        if let tail, tail < 1 { throw ValidationError("--tail takes a number of lines, 1 or more") }
        if let since, Duration.seconds(since) == nil {
            throw ValidationError("--since takes a duration such as 90s, 15m, 2h or 1d, not \"\(since)\"")
        }
        if !postfix, maillog != nil || journal || postfixConfig != nil {
            throw ValidationError("--maillog, --journal and --postfix-config go with --postfix")
        }
        if !exim, mainlog != nil || eximBinary != nil || eximConfig != nil {
            throw ValidationError("--mainlog, --exim-binary and --exim-config go with --exim")
        }
        if postfix, exim { throw ValidationError("--postfix and --exim each watch one MTA: choose one") }
        if exim, log != nil || socket != nil {
            throw ValidationError("--exim reads Exim's own log and queue: use --mainlog FILE, not --log or --socket")
        }
        if !postfix, !exim, queueInterval != nil { throw ValidationError("--queue-interval goes with --postfix or --exim") }
        if postfix, log != nil || socket != nil {
            throw ValidationError("--postfix reads Postfix's own log and queue: use --maillog FILE, not --log or --socket")
        }
        if journal, maillog != nil { throw ValidationError("--journal and --maillog each name where the log is: choose one") }
        if let queueInterval, queueInterval < 0.5 { throw ValidationError("--queue-interval takes seconds, 0.5 or more") }
        if log == nil, !postfix, !exim, tail != nil || since != nil {
            throw ValidationError("--tail and --since go with --log FILE, --postfix or --exim")
        }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let file = try loadConfig(environment)
        let logPath = log ?? file.log
        let socketPath = socket ?? file.socket
        // Another MTA's log named as a delivery log: say what to run instead (before anything else).
        if !postfix, !exim, let logPath {
            switch LogFormat.ofFile(logPath) {
            case .postfix?:
                writeError("relaywatch: \(logPath) is a Postfix log; watch it with relaywatch --postfix --maillog \(logPath)")
                throw ExitCode(2)
            case .exim?:
                writeError("relaywatch: \(logPath) is an Exim main log; watch it with relaywatch --exim --mainlog \(logPath)")
                throw ExitCode(2)
            default: break
            }
        }
        guard isatty(0) != 0, isatty(1) != 0 else {
            writeError("relaywatch: the monitor needs a terminal; for a log on a pipe use `relaywatch report`")
            throw ExitCode(2)
        }
        var options = MonitorOptions.forThisProcess(logPath: logPath, socketPath: socketPath)
        options.readonly = readonly || file.readonly == true
        options.theme = theme ?? file.theme
        if let n = keep ?? file.keep { options.keepFinished = n }
        if let tail { options.start = .tail(tail) }
        if let since, let seconds = Duration.seconds(since) { options.since = Date().timeIntervalSince1970 - seconds }
        if postfix {
            var p = PostfixOptions(configDirectory: postfixConfig)
            if let queueInterval { p.queueInterval = queueInterval }
            options.postfix = p
            switch journal ? nil : (maillog ?? PostfixLogLocation.find(configDirectory: postfixConfig)) {
            case let path?:
                options.logPath = path
                options.format = .postfix
            case nil:
                options.format = .journal
            }
            throw ExitCode(CursesMonitor.run(options))
        }
        if exim {
            var e = EximOptions(binary: eximBinary ?? EximLogLocation.binary(), configFile: eximConfig)
            if let queueInterval { e.queueInterval = queueInterval }
            options.exim = e
            options.logPath = mainlog ?? EximLogLocation.find(e)
            options.format = .exim
            throw ExitCode(CursesMonitor.run(options))
        }
        if logPath == nil, socketPath == nil {
            throw ExitCode(try DemoCommand.runDemo(options))
        }
        throw ExitCode(CursesMonitor.run(options))
    }

    /// The config file named by --config (which must exist), else the XDG one (if it exists).
    func loadConfig(_ environment: [String: String]) throws -> WatchConfig {
        guard let path = config ?? WatchConfig.path(environment: environment) else { return WatchConfig() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            if config != nil { throw ValidationError("cannot read the config file \(path)") }
            return WatchConfig()
        }
        do { return try WatchConfig.parse(text, file: path) } catch { throw ValidationError("\(error)") }
    }
}

extension MonitorOptions {
    /// Options that see this process's environment and find themes beside this executable.
    static func forThisProcess(logPath: String?, socketPath: String?) -> MonitorOptions {
        var options = MonitorOptions(logPath: logPath, socketPath: socketPath)
        options.environment = ProcessInfo.processInfo.environment
        options.themeFolders = ThemeLoader.searchFolders(environment: options.environment,
                                                         executable: Bundle.main.executablePath ?? CommandLine.arguments[0])
        return options
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
