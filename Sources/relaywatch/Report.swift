import ArgumentParser
import Foundation
import RelayCore
import RelayWatch

extension LogFormat: ExpressibleByArgument {
    /// The names `--from` takes (journal is chosen with --journal).
    public static var allValueStrings: [String] { ["auto", "mailrelayd", "postfix", "exim"] }
}

/// What `report` and `convert` share: which logs, in which format, and reading them.
struct LogSelection: ParsableArguments {
    @Option(name: .long, help: "Who wrote the log: auto (detect from the first line), mailrelayd, postfix or exim.")
    var from: LogFormat = .auto

    @Flag(name: .long, help: "Read Postfix's lines from the systemd journal (journalctl) instead of files.")
    var journal = false

    @Option(name: .long, parsing: .unconditional, help: "With --journal: only records since this time (as journalctl's --since takes it: -1h, today, \"2026-11-29 08:00\").")
    var since: String?

    @Argument(help: "Log files, oldest first (- for stdin; gzip is detected by content).")
    var files: [String] = []

    func validate() throws {
        if journal {
            if !files.isEmpty { throw ValidationError("--journal reads the journal; name no files with it") }
            if from == .mailrelayd || from == .exim { throw ValidationError("--journal reads Postfix's records; it does not go with --from \(from.rawValue)") }
        } else {
            if files.isEmpty { throw ValidationError("name at least one log file (- for stdin), or --journal") }
            if since != nil { throw ValidationError("--since goes with --journal (for files, cut the file or use the monitor's --since)") }
        }
        if from == .journal { throw ValidationError("use --journal to read the journal") }
    }

    var format: LogFormat { journal ? .journal : from }

    /// Opens every input before reading any: a typo in the third name should not cost a long
    /// read of the first two. For the journal, starts journalctl.
    func open(command: String) throws -> (inputs: [LogInput], child: ChildProcess?) {
        if journal {
            do {
                let child = try ChildProcess(JournalQuery.argv(follow: false, since: since), nonBlocking: false)
                return ([LogInput(fileDescriptor: child.stdoutFD, name: "journal")], child)
            } catch {
                writeError("relaywatch \(command): \(error)")
                throw ExitCode(2)
            }
        }
        var inputs: [LogInput] = []
        for path in files {
            do {
                inputs.append(try LogInput(path: path))
            } catch {
                writeError("relaywatch \(command): \(error)")
                throw ExitCode(2)
            }
        }
        return (inputs, nil)
    }

    /// journalctl's own failure (no journal, no permission), said once it has ended.
    func journalFailed(_ child: ChildProcess?, command: String) -> Bool {
        guard let child else { return false }
        child.readErrors()
        child.reap(block: true)
        if let failure = child.failure {
            writeError("relaywatch \(command): \(failure)")
            return true
        }
        // It may have ended well and still have something to say ("No journal files were found").
        if let note = child.firstErrorLine { writeError("relaywatch \(command): journalctl: \(note)") }
        return false
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check delivery logs for recipient miscounts and other anomalies.",
        discussion: """
            Reads each FILE in order as one log (rotated files oldest first; gzip is detected by \
            content; - is stdin): mailrelayd's delivery log, Postfix's mail log (syslog or \
            maillog_file lines; --journal reads it from the systemd journal) or Exim's main log, \
            told apart by the first line unless --from names it. Malformed lines are \
            reported on stderr with their line numbers and skipped. Exit status: 0 no anomaly, \
            1 anomalies found, 2 usage error or unreadable file.
            """
    )

    @Flag(name: .long, help: "Print one JSON object instead of the text report.")
    var json = false

    @Option(name: .long, help: "Cores to read with (default: every core, up to 8). 1 reads in one pass on one core.")
    var jobs: Int?

    @OptionGroup var logs: LogSelection

    func validate() throws {
        if let jobs, jobs < 1 || jobs > 64 { throw ValidationError("--jobs takes 1 to 64 (found \(jobs))") }
    }

    func run() throws {
        let (inputs, child) = try logs.open(command: "report")
        var builder = ReportBuilder(format: logs.format, reference: Timestamp(seconds: Date().timeIntervalSince1970),
                                    utcOffset: LogTranslator.localUTCOffset())
        if let jobs { builder.jobs = jobs }
        var readFailed = false
        for input in inputs {
            do {
                try builder.read(input)
            } catch {
                writeError("relaywatch report: \(error) (the events before it were read)")
                readFailed = true
            }
        }
        if logs.journalFailed(child, command: "report") { readFailed = true }
        builder.finish()
        for m in builder.malformedSamples {
            writeError("\(StandardStreams.printable(m.file)):\(m.line): malformed line skipped: \(StandardStreams.printable(m.reason))")
        }
        if builder.malformed > builder.malformedSamples.count {
            writeError("... and \(builder.malformed - builder.malformedSamples.count) more malformed lines")
        }
        let names = logs.journal ? ["journal"] : logs.files
        let text = json ? ReportRenderer.json(builder) : ReportRenderer.text(builder, inputs: names)
        StandardStreams.out(text)
        if readFailed { throw ExitCode(2) }
        throw ExitCode(builder.anomalyCount > 0 ? 1 : 0)
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write another MTA's log as delivery-log v1 (what mailrelayd writes).",
        discussion: """
            Reads Postfix's mail log (or, with --journal, the systemd journal) and writes the \
            delivery events it gives to stdout, one JSON object a line, for `relaywatch --log` or \
            other tools. Postfix logs no RCPT positions, no accepted RCPT replies and no tally, so \
            the output has none: each recipient's reply rides on its outcome. Lines that cannot be \
            read are reported on stderr and skipped. Exit status: 0, or 2 on an unreadable input.
            """
    )

    @OptionGroup var logs: LogSelection

    func run() throws {
        let (inputs, child) = try logs.open(command: "convert")
        var converter = LogConverter(format: logs.format, reference: Timestamp(seconds: Date().timeIntervalSince1970),
                                     utcOffset: LogTranslator.localUTCOffset())
        var failed = false
        for input in inputs {
            do {
                try converter.read(input) { StandardStreams.out(bytes: $0) }
            } catch {
                writeError("relaywatch convert: \(error) (the lines before it were converted)")
                failed = true
            }
        }
        if logs.journalFailed(child, command: "convert") { failed = true }
        for m in converter.problemSamples { writeError("\(StandardStreams.printable(m.file)):\(m.line): \(StandardStreams.printable(m.reason))") }
        if converter.problems > converter.problemSamples.count {
            writeError("... and \(converter.problems - converter.problemSamples.count) more lines that could not be read")
        }
        if failed { throw ExitCode(2) }
    }
}
