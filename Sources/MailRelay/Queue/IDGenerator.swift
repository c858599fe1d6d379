import Foundation
import Synchronization

/// Queue, session and transaction ids. Queue ids are the arrival time in microseconds (base 36,
/// so they sort by age the way Postfix's long queue ids do) plus a per-process counter, unique
/// across restarts without a stored sequence. Session and transaction ids carry a prefix drawn at
/// start so ids from two runs of the relay never meet in one log.
final class IDGenerator: Sendable {
    private let counter = Atomic<Int>(0)
    private let run: String

    init() {
        run = String(UInt32.random(in: 0..<(36 * 36 * 36 * 36)), radix: 36, uppercase: true)
    }

    func message() -> String {
        let us = Int(Date().timeIntervalSince1970 * 1_000_000)
        let n = counter.add(1, ordering: .relaxed).newValue % (36 * 36)
        let tail = String(n, radix: 36, uppercase: true)
        return String(us, radix: 36, uppercase: true) + String(repeating: "0", count: 2 - tail.count) + tail
    }

    func session() -> String { "s\(run)-\(counter.add(1, ordering: .relaxed).newValue)" }
    func transaction() -> String { "t\(run)-\(counter.add(1, ordering: .relaxed).newValue)" }
}
