import ArgumentParser
import Foundation
import RelayScenarios
import RelayCore
import RelayWatch
#if canImport(Glibc)
import Glibc
#endif

/// `relaywatch report --from postfix` beside pflogsumm (Debian's Postfix log summariser) and
/// `grep -c status=` (the I/O floor) on the same generated Postfix log, in the same run.
///
/// The target (issue "Postfix source"): at least 20x pflogsumm on a 2M-line log, peak RSS under
/// 150 MB. Figures, not a pass/fail test.
struct PostfixBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "postfix",
        abstract: "Generate a Postfix mail log (once) and time relaywatch report --from postfix, pflogsumm and grep on it.")
    @OptionGroup var options: MTALogOptions

    func run() throws {
        let log = try options.log("postfix") { path in
            var g = PostfixLogGenerator(seed: 822_105)
            try g.write(lines: options.lines, to: path)
        }
        let anchor = which("pflogsumm").map { (name: "pflogsumm", argv: [$0, log]) }
        try MTALogComparison(format: "postfix", log: log, options: options, anchor: anchor,
                             anchorMissing: "(pflogsumm is not installed: apt-get install pflogsumm to compare)",
                             target: 20, grepPattern: "status=").run()
    }
}
