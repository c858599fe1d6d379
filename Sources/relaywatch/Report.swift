import ArgumentParser
import RelayWatch
#if canImport(Glibc)
import Glibc
#endif

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check delivery logs for recipient miscounts and other anomalies.",
        discussion: """
            Reads each FILE in order as one log (rotated files oldest first; gzip is detected by \
            content; - is stdin). Malformed lines are reported on stderr with their line numbers \
            and skipped. Exit status: 0 no anomaly, 1 anomalies found, 2 usage error or unreadable file.
            """
    )

    @Flag(name: .long, help: "Print one JSON object instead of the text report.")
    var json = false

    @Argument(help: "Delivery log files (- for stdin).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one log file (- for stdin)") }
    }

    func run() throws {
        // Open everything first: a typo in the third name should not cost a long read of the first two.
        var inputs: [LogInput] = []
        for path in files {
            do {
                inputs.append(try LogInput(path: path))
            } catch {
                writeError("relaywatch report: \(error)")
                throw ExitCode(2)
            }
        }
        var builder = ReportBuilder()
        var readFailed = false
        for input in inputs {
            do {
                try builder.read(input)
            } catch {
                writeError("relaywatch report: \(error) (the events before it were read)")
                readFailed = true
            }
        }
        builder.finish()
        for m in builder.malformedSamples {
            writeError("\(m.file):\(m.line): malformed line skipped: \(m.reason)")
        }
        if builder.malformed > builder.malformedSamples.count {
            writeError("... and \(builder.malformed - builder.malformedSamples.count) more malformed lines")
        }
        let text = json ? ReportRenderer.json(builder) : ReportRenderer.text(builder, inputs: files)
        StandardStreams.out(text)
        if readFailed { throw ExitCode(2) }
        throw ExitCode(builder.anomalyCount > 0 ? 1 : 0)
    }
}
