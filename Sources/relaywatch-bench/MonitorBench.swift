import ArgumentParser
import Foundation
import RelayCore
import RelayScenarios
import RelayWatch

/// The monitor's targets: first screen of a 1.3M-event log within 0.5 s, the whole log within
/// twice the report's time, a 10,000-recipient message's views (runs collapsed and expanded, the
/// transcript, the destinations) rendered into the grid in under 5 ms, frames on time while
/// 20,000 events/s arrive, and under 300 MB. Headless: the same runtime, state, update and views
/// as `relaywatch`, on a test terminal.
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

    /// A monitor fed the lines of `text`, at 160x50, as the runtime would feed it.
    static func monitor(_ bytes: [UInt8]) -> Monitor {
        var m = Monitor()
        _ = m.update(.resize(width: 160, height: 50))
        var batch = LineBatch()
        bytes.withUnsafeBytes { raw in
            var splitter = LineSplitter()
            splitter.feed(raw) { number, line, overlong in batch.append(line, number: number, overlong: overlong) }
        }
        _ = m.update(.logLines(batch))
        return m
    }

    /// The real runtime on a test terminal: the follower's 8 MB a turn, a frame at most every
    /// 1/30 s, until the whole log is in.
    func load() throws {
        let start = Self.now()
        var report = ReportBuilder()
        try report.read(try LogInput(path: log))
        report.finish()
        let reportTime = Self.now() - start

        let size = (try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        let terminal = TestTerminal(width: 160, height: 50)
        var options = MonitorOptions(logPath: log)
        options.catchSignals = false
        let t0 = Self.now()
        let runtime = MonitorRuntime(options: options, terminal: terminal)
        var firstFrame: Double?
        while true {
            runtime.step(wait: false)
            if firstFrame == nil, terminal.frames > 0, runtime.monitor.source.events > 0 { firstFrame = Self.now() - t0 }
            if runtime.monitor.source.bytesRead >= size, !runtime.monitor.source.catchingUp { break }
        }
        let total = Self.now() - t0
        print(String(format: "monitor, loading %@ (%d events):", log, runtime.monitor.source.events))
        print(String(format: "  first screen after %.3f s (target < 0.5 s)", firstFrame ?? 0))
        print(String(format: "  whole log in %.2f s; relaywatch report takes %.2f s on it: %.2fx (target < 2x)",
                     total, reportTime, total / reportTime))
    }

    /// A 10,000-recipient message's views rendered into a 160x50 grid: grouped runs collapsed and
    /// expanded, the transcript, and the destinations view.
    func render() {
        let b = Scenario.kb822105Pattern(msg: "BIG", recipients: 10_000)
        var m = Self.monitor(b.bytes)
        _ = m.update(.key(.enter))
        var results: [String] = []
        func time(_ name: String, _ keys: [Key]) {
            for k in keys { _ = m.update(.key(k)) }
            let frames = 50
            let t0 = Self.now()
            for _ in 0..<frames { _ = Render.frame(m) }
            results.append(String(format: "  %@: %.2f ms a frame", name, (Self.now() - t0) * 1000 / Double(frames)))
        }
        time("recipients, as it opens (runs collapsed)", [])
        // The 9,900 too-many recipients' run, expanded, and the middle of it.
        time("recipients, the big run expanded, scrolled to its middle", [.end, .enter] + Array(repeating: Key.pageDown, count: 110))
        time("transcript", [.tab])
        time("transcript, the big run expanded, scrolled to its middle", [.end, .up, .up, .up, .up, .enter] + Array(repeating: Key.pageDown, count: 110))
        time("anomalies", [.tab])
        time("destinations", [.escape, .char("d")])
        // What a key costs when it changes the rows: expanding the 9,900 again.
        _ = m.update(.key(.escape))
        _ = m.update(.key(.enter))
        _ = m.update(.key(.end))
        let t0 = Self.now()
        for _ in 0..<10 {
            _ = m.update(.key(.enter))
            _ = Render.frame(m)
            _ = m.update(.key(.left))
            _ = Render.frame(m)
        }
        results.append(String(format: "  expanding or collapsing the 9,900-recipient run, with its frame: %.2f ms", (Self.now() - t0) * 1000 / 20))
        print("monitor, a 10,000-recipient message at 160x50 (target < 5 ms a frame):")
        for r in results { print(r) }
    }

    /// Every message in flight (a queue that never empties): a frame of the list, moving in it,
    /// and the destinations view over all of it.
    func queue() throws {
        var m = Monitor()
        _ = m.update(.resize(width: 160, height: 50))
        let follower = LogFollower(path: log)
        while true {
            var batch = LineBatch()
            let read = follower.poll(budget: 64 << 20) { n, bytes, overlong in batch.append(bytes, number: n, overlong: overlong) }
            _ = m.update(.logLines(batch))
            if !read { break }
        }
        let frames = 20
        let t0 = Self.now()
        for i in 0..<frames {
            _ = m.update(.key(i % 2 == 0 ? .pageDown : .down))
            _ = Render.frame(m)
        }
        let keyFrame = (Self.now() - t0) * 1000 / Double(frames)
        // A frame after news about one message: its summary and the list order are redone.
        let t1 = Self.now()
        for (i, id) in m.order.prefix(frames).enumerated() {
            var batch = LineBatch()
            batch.append(Array("{\"v\":1,\"ts\":\"2026-11-29T12:00:00.000000Z\",\"event\":\"\(i % 2 == 0 ? "hold" : "release")\",\"msg\":\"\(id)\"}".utf8))
            _ = m.update(.logLines(batch))
            _ = Render.frame(m)
        }
        let newsFrame = (Self.now() - t1) * 1000 / Double(frames)
        let t2 = Self.now()
        _ = m.update(.key(.char("d")))
        let opened = (Self.now() - t2) * 1000
        let t3 = Self.now()
        for i in 0..<frames {
            _ = m.update(.key(i % 2 == 0 ? .down : .up))
            _ = Render.frame(m)
        }
        let destinationFrame = (Self.now() - t3) * 1000 / Double(frames)
        print("monitor, \(m.summaries.count) messages in flight, at 160x50:")
        print(String(format: "  list: %.1f ms a frame with a key, %.1f ms with news of a message (a frame is 33 ms)", keyFrame, newsFrame))
        print(String(format: "  destinations (%d rows): %.1f ms to open, %.1f ms a frame with a key", m.destinationRows.count, opened, destinationFrame))
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
            var batch = LineBatch()
            for line in lines[next..<min(lines.count, next + perFrame)] { batch.append(line, number: next) }
            let t0 = Self.now()
            _ = m.update(.logLines(batch))
            next += perFrame
            _ = m.update(.key(frames % 2 == 0 ? .down : .up))
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
