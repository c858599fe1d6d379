import ArgumentParser
import Foundation
import RelayScenarios
#if canImport(Glibc)
import Glibc
#endif

/// What the Postfix and Exim benchmarks share: generate the log once, time the report, the
/// MTA's own summariser and grep on the same file in the same run, and print them side by side
/// with the ratio to the target.
/// The options the Postfix and Exim benchmarks both take.
struct MTALogOptions: ParsableArguments {
    @Option(help: "Lines in the generated log.") var lines = 2_000_000
    @Option(help: "Where to keep the generated log.") var dir = ".build/bench"
    @Option(help: "Runs of each tool (the best is reported).") var runs = 3

    /// The generated `format` log's path; `generate` writes it unless it is there already.
    func log(_ format: String, generate: (String) throws -> Void) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = "\(dir)/\(format)-\(lines).log"
        if !FileManager.default.fileExists(atPath: log) {
            print("generating \(log) ...")
            try generate(log)
        }
        return log
    }
}

struct MTALogComparison {
    var format: String           // "postfix", "exim"
    var log: String
    var options: MTALogOptions
    var lines: Int { options.lines }
    var dir: String { options.dir }
    var runs: Int { options.runs }
    /// The summariser's argument vector (nil: not installed, with the advice to print).
    var anchor: (name: String, argv: [String])?
    var anchorMissing: String
    var target: Double
    var grepPattern: String

    func run() throws {
        let size = (try FileManager.default.attributesOfItem(atPath: log)[.size] as? NSNumber)?.intValue ?? 0
        print("log: \(log), \(lines) lines, \(String(format: "%.1f", Double(size) / 1e6)) MB\n")
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let sibling = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("relaywatch").path
        guard access(sibling, X_OK) == 0 else { throw ValidationError("build relaywatch beside the bench (swift build -c release)") }
        let json = "\(dir)/\(format)-report.json"
        var rows: [(String, Measure)] = []
        let single = try best(runs) { try measure(reportCommand(me, log, jobs: 1, from: format), stdout: json, okStatus: [0, 1]) }
        rows.append(("relaywatch report --from \(format), 1 core", single))
        let report = try best(runs) { try measure(reportCommand(me, log, jobs: 2, from: format), stdout: json, okStatus: [0, 1]) }
        rows.append(("relaywatch report --from \(format)", report))
        var anchorTime: Measure?
        if let anchor {
            // One run: it is the slow one, and its time does not depend on the cache by much.
            let m = try best(1) { try measure(anchor.argv, stdout: "/dev/null") }
            rows.append((anchor.name, m))
            anchorTime = m
        } else {
            print(anchorMissing)
        }
        if let grep = which("grep") {
            // To a file: GNU grep stops at the first match when its output is /dev/null.
            rows.append(("grep -c '\(grepPattern)' (I/O floor)", try best(runs) { try measure([grep, "-c", grepPattern, log], stdout: "\(dir)/grep.out") }))
        }
        print("tool                                       time     lines/s      MB/s   peak RSS")
        for (name, m) in rows {
            print(name.padding(toLength: 41, withPad: " ", startingAt: 0)
                  + String(format: "%6.2f s  %10.0f  %8.0f  %6.1f MB", m.seconds, Double(lines) / m.seconds,
                           Double(size) / 1e6 / m.seconds, Double(m.maxRSSKiB) / 1024))
        }
        if let anchorTime, let anchor {
            print(String(format: "\nrelaywatch report --from %@ on 2 cores is %.1fx %@'s speed (target: %.0fx), on 1 core %.1fx; peak RSS %.1f MB (target: < 150 MB)",
                         format, anchorTime.seconds / report.seconds, anchor.name, target, anchorTime.seconds / single.seconds,
                         Double(max(report.maxRSSKiB, single.maxRSSKiB)) / 1024))
        }
        let text = (try? String(contentsOfFile: json, encoding: .utf8)) ?? ""
        if let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
            print("report: \(o["messages"] ?? 0) messages, \((o["anomalies"] as? [Any])?.count ?? 0) findings, \(o["malformed"] ?? 0) malformed lines")
        }
        print("(time: best of \(runs) runs (\(anchor?.name ?? "the summariser"): one), wall clock, timed alone; peak RSS: each tool's own VmHWM, sampled in one more run)")
    }
}

/// A generated log's bytes, written in chunks of a few megabytes.
struct GeneratedLogFile {
    let fd: Int32

    init(_ path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ValidationError("\(path): \(String(cString: strerror(errno)))") }
    }

    func flush(_ out: inout [UInt8]) {
        out.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { return }
                off += n
            }
        }
        out.removeAll(keepingCapacity: true)
    }

    func close() { _ = Glibc.close(fd) }
}

extension SeededLines {
    /// Writes `target` lines (a few more: a message is not cut) to a file, in chunks.
    mutating func write(lines target: Int, to path: String) throws {
        let file = try GeneratedLogFile(path)
        defer { file.close() }
        out.reserveCapacity(8 << 20)
        generate(lines: target) { file.flush(&$0) }
    }
}
