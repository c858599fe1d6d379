/// A generated MTA log: deterministic randomness (a 64-bit LCG: the same seed, the same log) and
/// the loop that writes it, a message, some noise and the retries due at a time, in chunks.
public protocol SeededLines {
    var state: UInt64 { get set }
    var written: Int { get }
    var out: [UInt8] { get set }
    mutating func message()
    mutating func noise()
    mutating func retryDue()
}

extension SeededLines {
    /// Generates `target` lines (a few more: a message is not cut), handing the bytes to `flush`
    /// every few megabytes and at the end (it may empty them).
    public mutating func generate(lines target: Int, flush: (inout [UInt8]) -> Void) {
        while written < target {
            message()
            noise()
            retryDue()
            if out.count > 4 << 20 { flush(&out) }
        }
        flush(&out)
    }

    /// The whole log in memory (for tests: a few hundred thousand lines at most).
    public mutating func text(lines target: Int) -> String {
        var all: [UInt8] = []
        generate(lines: target) { all += $0; $0.removeAll(keepingCapacity: true) }
        return String(decoding: all, as: UTF8.self)
    }

    public mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 33
    }

    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
