import ArgumentParser
import Foundation
import RelayScenarios
import RelayCore
#if canImport(Glibc)
import Glibc
#endif

/// `relaywatch report --from exim` beside eximstats (shipped with Exim) and `grep -c` (the I/O
/// floor) on the same generated Exim main log, in the same run.
///
/// The target (issue "Exim source"): at least 10x eximstats on a 2M-line log, under 150 MB.
struct EximBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exim",
        abstract: "Generate an Exim main log (once) and time relaywatch report --from exim, eximstats and grep on it.")
    @OptionGroup var options: MTALogOptions
    @Option(help: "eximstats (default: on PATH, else the one Tests/run-all-tests extracts).") var eximstats: String?

    func run() throws {
        let log = try options.log("exim") { path in
            var g = EximLogGenerator(seed: 822_105)
            try g.write(lines: options.lines, to: path)
        }
        let extracted = FileManager.default.currentDirectoryPath + "/.build/peers/exim/usr/sbin/eximstats"
        let tool = eximstats ?? which("eximstats") ?? (FileManager.default.fileExists(atPath: extracted) ? extracted : nil)
        let anchor = tool.flatMap { t in which("perl").map { (name: "eximstats", argv: [$0, t, log]) } }
        try MTALogComparison(format: "exim", log: log, options: options, anchor: anchor,
                             anchorMissing: "(eximstats not found: run Tests/run-all-tests, which extracts Exim, or name it with --eximstats)",
                             target: 10, grepPattern: " => ").run()
    }
}
