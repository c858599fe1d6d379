import ArgumentParser
import Foundation
import RelayCore
import RelayScenarios
import RelayWatch

/// The monitor's targets (issue "curses monitor"): first screen of a 1.3M-event log within 0.5 s,
/// the whole log within twice the report's time, a 10,000-recipient message view rendered into the
/// grid in under 5 ms, frames on time while 20,000 events/s arrive, and under 300 MB.
/// Headless: the same state, update and views as the curses loop, without a terminal.
struct MonitorBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "monitor",
                                                    abstract: "Time the monitor's loading and rendering (headless).")
    @Option(help: "Events in the generated log.") var events = 1_300_000
    @Option(help: "Where the generated log is kept.") var dir = ".build/bench"

    func run() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = "\(dir)/delivery-\(events).log"
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        if !FileManager.default.fileExists(atPath: log) {
            _ = try measure([me, "generate", "--events", String(events), log], stdout: nil)
        }
        // Each part in a child, so each peak memory figure is that part's own.
        let out = "\(dir)/monitor-bench.txt"
        let load = try measure([me, "monitor-child", "load", log], stdout: out)
        print(try String(contentsOfFile: out, encoding: .utf8), terminator: "")
        print(String(format: "  peak RSS while loading: %.1f MB (target < 300 MB)", Double(load.maxRSSKiB) / 1024))
        _ = try measure([me, "monitor-child", "render", log], stdout: out)
        print(try String(contentsOfFile: out, encoding: .utf8), terminator: "")
        _ = try measure([me, "monitor-child", "live", log], stdout: out)
        print(try String(contentsOfFile: out, encoding: .utf8), terminator: "")
        // A queue that never empties: the same log without its `done` events (every message in flight).
        let inFlight = "\(dir)/delivery-\(events)-in-flight.log"
        if !FileManager.default.fileExists(atPath: inFlight) {
            let text = try String(contentsOfFile: log, encoding: .utf8)
            let kept = text.split(separator: "\n").filter { !$0.contains("\"event\":\"done\"") }
            try (kept.joined(separator: "\n") + "\n").write(toFile: inFlight, atomically: false, encoding: .utf8)
        }
        _ = try measure([me, "monitor-child", "queue", inFlight], stdout: out)
        print(try String(contentsOfFile: out, encoding: .utf8), terminator: "")
    }
}

struct MonitorChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "monitor-child", shouldDisplay: false)
    @Argument var part: String
    @Argument var log: String

    func run() throws {
        switch part {
        case "load": try load()
        case "render": render()
        case "queue": try queue()
        default: try live()
        }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// The loop's loading path: 8 MB per pass, a refresh and a frame after each.
    func load() throws {
        let start = Self.now()
        var report = ReportBuilder()
        try report.read(try LogInput(path: log))
        report.finish()
        let reportTime = Self.now() - start

        var m = Monitor()
        _ = m.update(.resize(width: 160, height: 50))
        let follower = LogFollower(path: log)
        let t0 = Self.now()
        var firstFrame: Double?
        while true {
            let read = follower.poll(budget: 8 << 20) { n, bytes, overlong in m.ingest(line: bytes, number: n, overlong: overlong) }
            m.source.catchingUp = follower.state == .catchingUp
            m.refresh()
            m.settleSelection()
            _ = Render.frame(m)
            if firstFrame == nil { firstFrame = Self.now() - t0 }
            if !read { break }
        }
        let total = Self.now() - t0
        print(String(format: "monitor, loading %@ (%d events):", log, m.source.events))
        print(String(format: "  first screen after %.3f s (target < 0.5 s)", firstFrame ?? 0))
        print(String(format: "  whole log in %.2f s; relaywatch report takes %.2f s on it: %.2fx (target < 2x)",
                     total, reportTime, total / reportTime))
    }

    /// A 10,000-recipient message's views rendered into a 160x50 grid.
    func render() {
        let b = Scenario.kb822105Pattern(msg: "BIG", recipients: 10_000)
        var m = Monitor()
        var n = 0
        var bytes = b.bytes
        bytes.withUnsafeMutableBytes { raw in
            var splitter = LineSplitter()
            splitter.feed(UnsafeRawBufferPointer(raw)) { number, line, overlong in
                n = number
                m.ingest(line: line, number: number, overlong: overlong)
            }
        }
        _ = m.update(.resize(width: 160, height: 50))
        _ = m.update(.key(.char("f")))
        m.refresh()
        m.settleSelection()
        _ = m.update(.key(.enter))
        var results: [String] = []
        for (name, keys) in [("recipients", [Key]()), ("recipients, scrolled to the middle", Array(repeating: Key.pageDown, count: 110)),
                             ("transcript", [Key.tab]), ("anomalies", [Key.tab])] {
            for k in keys { _ = m.update(.key(k)) }
            let frames = 50
            let t0 = Self.now()
            for _ in 0..<frames { _ = Render.frame(m) }
            results.append(String(format: "  %@: %.2f ms a frame", name, (Self.now() - t0) * 1000 / Double(frames)))
        }
        print("monitor, a 10,000-recipient message (\(n) events) at 160x50 (target < 5 ms a frame):")
        for r in results { print(r) }
    }

    /// Every message in flight (a queue that never empties): a frame of the list, and moving in it.
    func queue() throws {
        var m = Monitor()
        _ = m.update(.resize(width: 160, height: 50))
        let follower = LogFollower(path: log)
        while follower.poll(budget: 64 << 20, { n, bytes, overlong in m.ingest(line: bytes, number: n, overlong: overlong) }) {}
        m.refresh()
        m.settleSelection()
        let frames = 20
        let t0 = Self.now()
        for i in 0..<frames {
            _ = m.update(.key(i % 2 == 0 ? .pageDown : .down))
            m.settleSelection()
            _ = Render.frame(m)
        }
        let keyFrame = (Self.now() - t0) * 1000 / Double(frames)
        // A frame after news about one message: its summary and the list order are redone.
        let t1 = Self.now()
        for (i, id) in m.order.prefix(frames).enumerated() {
            var line = "{\"v\":1,\"ts\":\"2026-11-29T12:00:00.000000Z\",\"event\":\"\(i % 2 == 0 ? "hold" : "release")\",\"msg\":\"\(id)\"}"
            line.withUTF8 { m.ingest(line: UnsafeRawBufferPointer($0), number: 0, overlong: false) }
            m.refresh()
            m.settleSelection()
            _ = Render.frame(m)
        }
        let newsFrame = (Self.now() - t1) * 1000 / Double(frames)
        print("monitor, \(m.summaries.count) messages in flight, list at 160x50:")
        print(String(format: "  %.1f ms a frame with a key, %.1f ms with news of a message (a frame is 33 ms)", keyFrame, newsFrame))
    }

    /// Frames while 20,000 events a second arrive: each 1/30 s, 667 new lines, a key, a frame.
    func live() throws {
        var generator = LoadGenerator(seed: 99)
        var buffer: [UInt8] = []
        var chunks: [[UInt8]] = []
        generator.generate(events: 100_000, into: &buffer) { b in chunks.append(b); b.removeAll() }
        var lines: [[UInt8]] = []
        for chunk in chunks {
            chunk.withUnsafeBytes { raw in
                var s = LineSplitter()
                s.feed(raw) { _, line, _ in lines.append(Array(line)) }
            }
        }
        var m = Monitor()
        _ = m.update(.resize(width: 160, height: 50))
        var worst = 0.0, total = 0.0, frames = 0
        var next = 0
        let perFrame = 20_000 / 30
        while next < lines.count {
            let t0 = Self.now()
            for line in lines[next..<min(lines.count, next + perFrame)] {
                line.withUnsafeBytes { m.ingest(line: $0, number: next, overlong: false) }
            }
            next += perFrame
            _ = m.update(.key(frames % 2 == 0 ? .down : .up))
            m.refresh()
            m.settleSelection()
            _ = Render.frame(m)
            let dt = Self.now() - t0
            worst = max(worst, dt)
            total += dt
            frames += 1
        }
        print("monitor, live at 20,000 events/s (\(frames) frames of \(perFrame) events, a key each, 160x50):")
        print(String(format: "  %.1f ms a frame on average, %.1f ms at worst (a frame is 33 ms)", total * 1000 / Double(frames), worst * 1000))
    }
}
