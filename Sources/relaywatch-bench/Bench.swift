import ArgumentParser
import Foundation
import RelayCore
import RelayScenarios
import RelayWatch
#if canImport(Glibc)
import Glibc
#endif

/// The report's speed and memory beside jq's on the same file, in the same run.
///
/// The target (issue "Core"): on a 1.3M-event, ~290 MB log, `relaywatch report` at least 10x faster
/// than `jq` selecting the failed replies, with peak memory under 150 MB. Figures, not a pass/fail
/// test: timings belong to the machine they were taken on.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relaywatch-bench",
        abstract: "Benchmark relaywatch report against jq on a generated delivery log.",
        subcommands: [Run.self, DecoderBench.self, ScaleBench.self, MonitorBench.self, MonitorLoadBench.self, SnapshotBench.self, RelayBench.self, PostfixBench.self, EximBench.self, Generate.self, ReportChild.self, MonitorChild.self],
        defaultSubcommand: Run.self
    )
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a generated delivery log.")
    @Option(help: "Events to generate.") var events = 1_300_000
    @Option(help: "Seed for the generator.") var seed: UInt64 = 822_105
    @Argument(help: "Output file.") var output: String

    func run() throws {
        let stats = try writeLog(events: events, seed: seed, to: output)
        print("wrote \(output): \(stats.events) events, \(stats.messages) messages, \(stats.recipients) recipients, \(stats.failedReplies) failed replies")
    }
}

func writeLog(events: Int, seed: UInt64, to path: String) throws -> LoadGenerator.Stats {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ValidationError("\(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var generator = LoadGenerator(seed: seed)
    var buffer: [UInt8] = []
    var failed = false
    generator.generate(events: events, into: &buffer) { buf in
        buf.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { failed = true; return }
                off += n
            }
        }
        buf.removeAll(keepingCapacity: true)
    }
    if failed { throw ValidationError("\(path): write failed: \(String(cString: strerror(errno)))") }
    return generator.stats
}

/// The report, run in a child process so its peak RSS is its own (not the generator's).
struct ReportChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report-child", shouldDisplay: false)
    @Argument var file: String
    @Option(help: "Cores to read with.") var jobs = ReportBuilder.defaultJobs
    @Option(help: "Stop after this stage: split, scan, scan or decode (scan-bytes, decode-bytes: with the byte-level reader alone) or full (for profiling).") var stage = "full"

    func run() throws {
        if stage != "full" {
            var splitter = LineSplitter()
            var events = 0, bytes = 0
            let decode = stage == "decode", check = stage == "scan", byteLevel = stage == "decode-bytes", checkBytes = stage == "scan-bytes"
            try LogInput(path: file).forEachChunk { chunk in
                splitter.feed(chunk) { _, line, _ in
                    bytes += line.count
                    if decode, case .event = LogDecoder.decode(line) { events += 1 }
                    if byteLevel, case .event = LogDecoder.decodeByteLevel(line) { events += 1 }
                    if check, LogDecoder.check(line) { events += 1 }
                    if checkBytes, LogDecoder.check(line, byteLevel: true) { events += 1 }
                }
            }
            StandardStreams.out("{\"events\":\(events),\"bytes\":\(bytes)}\n")
            return
        }
        var builder = ReportBuilder()
        builder.jobs = jobs
        try builder.read(try LogInput(path: file))
        builder.finish()
        StandardStreams.out(ReportRenderer.json(builder))
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate the log (once) and time relaywatch report, jq and wc on it.")
    @Option(help: "Events in the generated log.") var events = 1_300_000
    @Option(help: "Where to keep the generated log.") var dir = ".build/bench"
    @Option(help: "Runs of each tool (the best is reported).") var runs = 3

    func run() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = "\(dir)/delivery-\(events).log"
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        if !FileManager.default.fileExists(atPath: log) {
            print("generating \(log) ...")
            _ = try measure([me, "generate", "--events", String(events), log], stdout: nil)
        }
        let size = (try FileManager.default.attributesOfItem(atPath: log)[.size] as? NSNumber)?.intValue ?? 0
        print("log: \(log), \(String(format: "%.1f", Double(size) / 1e6)) MB; jq, wc and gzip use one core")
        print("report: \(reportBuild(me))\n")

        var rows: [(String, Measure)] = []
        // Exit status 1 (anomalies found) is a normal outcome for the report.
        let one = try best(runs) { try measure(reportCommand(me, log, jobs: 1), stdout: "\(dir)/report.json", okStatus: [0, 1]) }
        rows.append(("relaywatch report, 1 core", one))
        let two = try best(runs) { try measure(reportCommand(me, log, jobs: 2), stdout: "\(dir)/report.json", okStatus: [0, 1]) }
        rows.append(("relaywatch report, 2 cores", two))

        let reportJSON = try String(contentsOfFile: "\(dir)/report.json", encoding: .utf8)
        let eventCount = (try? JSONSerialization.jsonObject(with: Data(reportJSON.utf8)) as? [String: Any])?["events"] as? Int ?? 0

        var jqTime: Double?
        if let jq = which("jq") {
            let m = try best(runs) { try measure([jq, "-c", "select(.event == \"reply\" and .code >= 400)", log], stdout: "/dev/null") }
            rows.append(("jq: select failed replies", m))
            jqTime = m.seconds
        } else {
            print("(jq is not installed: apt-get install jq to compare)")
        }
        var wcTime: Double?
        if let wc = which("wc") {
            let m = try best(runs) { try measure([wc, "-l", log], stdout: "/dev/null") }
            rows.append(("wc -l (I/O floor)", m))
            wcTime = m.seconds
        }
        // gzip: inflating on one core, parsing on the other; gzip -dc alone is the floor.
        var gzipRows: (Measure, Measure)?
        if let gzip = which("gzip") {
            let gz = log + ".gz"
            if !FileManager.default.fileExists(atPath: gz) { _ = try measure([gzip, "-1", "-k", log], stdout: nil) }
            let report = try best(runs) { try measure(reportCommand(me, gz, jobs: 2), stdout: "/dev/null", okStatus: [0, 1]) }
            let floor = try best(runs) { try measure([gzip, "-dc", gz], stdout: "/dev/null") }
            rows.append(("relaywatch report, .gz", report))
            rows.append(("gzip -dc (inflate floor)", floor))
            gzipRows = (report, floor)
        }

        print("tool                          time      events/s      MB/s   peak RSS")
        for (name, m) in rows {
            let eps = Double(eventCount) / m.seconds
            print(name.padding(toLength: 28, withPad: " ", startingAt: 0)
                  + String(format: "%7.2f s  %11.0f  %8.0f  %6.1f MB", m.seconds, eps, Double(size) / 1e6 / m.seconds, Double(m.maxRSSKiB) / 1024))
        }
        print()
        if let jqTime {
            print(String(format: "relaywatch report on 2 cores is %.1fx jq's speed (target: 25x), on 1 core %.1fx", jqTime / two.seconds, jqTime / one.seconds))
        }
        print(String(format: "2 cores take %.2f of 1 core's time; peak RSS %.1f MB (target: < 150 MB)", two.seconds / one.seconds,
                     Double(max(one.maxRSSKiB, two.maxRSSKiB)) / 1024))
        if let wcTime { print(String(format: "relaywatch report on 2 cores takes %.0fx the time of wc -l", two.seconds / wcTime)) }
        if let (report, floor) = gzipRows {
            print(String(format: "on the gzip file: %.2f s against gzip -dc's %.2f s (%.2fx the inflate floor)", report.seconds, floor.seconds, report.seconds / floor.seconds))
        }
        print("report found \(eventCount) events; its JSON is in \(dir)/report.json")
        print("(time: best of \(runs) runs, wall clock, timed alone; peak RSS: each tool's own VmHWM, sampled every 2 ms in one more run)")
    }
}

struct Measure {
    var seconds: Double
    var maxRSSKiB: Int
}

/// Whether ``measure(_:stdout:okStatus:)`` samples the child's peak RSS while it runs.
nonisolated(unsafe) var samplingRSS = true

/// The best wall time of `runs` runs that are only timed, with the peak RSS of one more run that
/// samples it. Sampling /proc every 2 ms wakes the benchmark 500 times a second on a machine
/// whose two cores the two-core report fills, and the report's slower part decides its wall
/// time: the timed runs should not pay for the figure of memory.
func best(_ runs: Int, _ body: () throws -> Measure) throws -> Measure {
    var result: Measure?
    samplingRSS = false
    defer { samplingRSS = true }
    for _ in 0..<max(1, runs) {
        let m = try body()
        if result == nil || m.seconds < result!.seconds { result = m }
    }
    samplingRSS = true
    result!.maxRSSKiB = try body().maxRSSKiB
    return result!
}

/// Runs a command with stdout to a file; wall time and the child's own peak RSS (wait4).
/// `stdout`: a file for the child's output, or nil to share ours.
func measure(_ argv: [String], stdout path: String?, okStatus: Set<Int32> = [0]) throws -> Measure {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let path { posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    var pid: pid_t = 0
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    let start = DispatchTime.now()
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
    guard rc == 0 else { throw ValidationError("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
    // Peak RSS: the child's own high-water mark (VmHWM), sampled while it runs. (wait4's
    // ru_maxrss cannot go below the parent's RSS at the spawn, which would hide small figures.)
    var status: Int32 = 0
    var usage = rusage()
    var peakKiB = 0
    while true {
        let r = wait4(pid, &status, samplingRSS ? WNOHANG : 0, &usage)
        if r == pid { break }
        if r < 0 && errno != EINTR { break }
        guard samplingRSS else { continue }
        peakKiB = max(peakKiB, highWaterKiB(pid))
        usleep(2_000)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let exited = (status & 0x7f) == 0
    let code = (status >> 8) & 0xff
    guard exited, okStatus.contains(code) else { throw ValidationError("\(argv.joined(separator: " ")) failed (status \(status))") }
    return Measure(seconds: seconds, maxRSSKiB: peakKiB > 0 ? peakKiB : usage.ru_maxrss)
}

/// VmHWM from /proc/PID/status, in KiB (0 when unreadable).
func highWaterKiB(_ pid: pid_t) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
    return 0
}

func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if access(p, X_OK) == 0 { return p }
    }
    return nil
}

/// Which report the figures are of: the relaywatch beside the benchmark and how its Swift runtime
/// is linked (`swift build -c release --static-swift-stdlib` puts the runtime and Foundation in
/// the binary, which starts in about half the time), or the benchmark's own copy of the code.
func reportBuild(_ me: String) -> String {
    let sibling = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("relaywatch").path
    guard access(sibling, X_OK) == 0 else { return "the report code in this benchmark binary (no relaywatch beside it)" }
    let ldd = Process()
    ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
    ldd.arguments = [sibling]
    let out = Pipe()
    ldd.standardOutput = out
    ldd.standardError = FileHandle.nullDevice
    guard (try? ldd.run()) != nil else { return sibling }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    ldd.waitUntilExit()
    return sibling + (text.contains("libswiftCore.so")
        ? ", Swift runtime and Foundation as shared libraries"
        : ", Swift runtime and Foundation linked in (--static-swift-stdlib)")
}

/// `relaywatch report --json --jobs N LOG`: the real binary when `swift build -c release` built it
/// beside the benchmark, otherwise the same report code run in the benchmark binary.
func reportCommand(_ me: String, _ log: String, jobs: Int, from: String? = nil) -> [String] {
    let sibling = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("relaywatch").path
    let format = from.map { ["--from", $0] } ?? []
    return access(sibling, X_OK) == 0
        ? [sibling, "report", "--json", "--jobs", String(jobs)] + format + [log]
        : [me, "report-child", "--jobs", String(jobs), log]
}
