import ArgumentParser
import Foundation
import RelayCore

/// The two readers of the delivery-log decoder side by side, in one process on lines already in
/// memory (no I/O, no store): the structural fast path against the byte-level reader alone, each
/// pass timed, the best of `runs` kept, the two alternated so the machine's drift hits both.
struct DecoderBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decoder", abstract: "Time the structural and the byte-level log reader on the same lines.")
    @Option(help: "The log to read (its first 64 MB).") var log = ".build/bench/delivery-1300000.log"
    @Option(help: "Passes of each reader (the best is reported).") var runs = 7

    func run() throws {
        let data = try FileHandle(forReadingFrom: URL(fileURLWithPath: log)).read(upToCount: 64 << 20) ?? Data()
        let bytes = [UInt8](data)
        var lines: [Range<Int>] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            lines.append(start..<i)
            start = i + 1
        }
        print("decoder: \(lines.count) lines, \(String(format: "%.1f", Double(start) / 1e6)) MB in memory, best of \(runs)")
        var best = [Double.infinity, Double.infinity]
        var counts = [0, 0]
        bytes.withUnsafeBytes { all in
            for _ in 0..<runs {
                for (k, byteLevel) in [false, true].enumerated() {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    var n = 0
                    for r in lines where LogDecoder.check(UnsafeRawBufferPointer(rebasing: all[r]), byteLevel: byteLevel) { n += 1 }
                    best[k] = min(best[k], Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                    counts[k] = n
                }
            }
        }
        for (k, name) in ["structural fast path", "byte-level reader"].enumerated() {
            print(name.padding(toLength: 24, withPad: " ", startingAt: 0)
                  + String(format: "%7.3f s  %6.0f MB/s  %5.0f ns/line  (%d events)", best[k], Double(start) / 1e6 / best[k],
                           best[k] * 1e9 / Double(lines.count), counts[k]))
        }
    }
}
