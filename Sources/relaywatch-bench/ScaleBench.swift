import ArgumentParser
import Foundation

/// The report on the benchmark's log and on one ten times its size (about 2.6 GB): the time
/// should grow with the log and the memory should not (a message is analysed and dropped as soon
/// as it is done; only messages in flight are held, and a part's lines kept for the merge).
struct ScaleBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scale", abstract: "Time the report on the log and on one ten times larger: linear time, flat memory.")
    @Option(help: "Events in the smaller log.") var events = 1_300_000
    @Option(help: "How many times larger the second log is.") var factor = 10
    @Option(help: "Where to keep the generated logs.") var dir = ".build/bench"
    @Option(help: "Runs of each (the best is reported).") var runs = 3

    func run() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        var rows: [(events: Int, size: Int, m: Measure)] = []
        for n in [events, events * factor] {
            let log = "\(dir)/delivery-\(n).log"
            if !FileManager.default.fileExists(atPath: log) {
                print("generating \(log) ...")
                _ = try measure([me, "generate", "--events", String(n), log], stdout: nil)
            }
            let size = (try FileManager.default.attributesOfItem(atPath: log)[.size] as? NSNumber)?.intValue ?? 0
            let m = try best(runs) { try measure(reportCommand(me, log, jobs: 2), stdout: "/dev/null", okStatus: [0, 1]) }
            rows.append((n, size, m))
        }
        print("events        size       time     MB/s   peak RSS")
        for r in rows {
            print(String(format: "%10d  %7.0f MB  %6.2f s  %6.0f  %6.1f MB", r.events, Double(r.size) / 1e6, r.m.seconds,
                         Double(r.size) / 1e6 / r.m.seconds, Double(r.m.maxRSSKiB) / 1024))
        }
        let (small, large) = (rows[0], rows[1])
        print(String(format: "\n%.1fx the bytes took %.1fx the time; peak RSS %.1f MB against %.1f MB",
                     Double(large.size) / Double(small.size), large.m.seconds / small.m.seconds,
                     Double(large.m.maxRSSKiB) / 1024, Double(small.m.maxRSSKiB) / 1024))
        print("(relaywatch report --json on 2 cores, best of \(runs), wall clock; the larger log may not fit in the page cache)")
    }
}
