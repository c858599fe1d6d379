#if canImport(Glibc)
import Glibc
#endif

/// Small byte-level helpers for reading other programs' log lines in place (Postfix's, Exim's):
/// a line is parsed without building a String until a value is kept.
extension Sequence where Element == UInt8 {
    /// Nothing but spaces, tabs and carriage returns (or nothing at all): a blank line in any
    /// of the logs and listings read here.
    /// (Inlinable so each caller gets it specialised: the adapters ask it of every line, and
    /// through the generic Sequence it cost Postfix's reader 4%.)
    @inlinable public var isBlankLine: Bool { allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }
}

// The three small tests below are @inlinable, not only @inline(__always): the adapters live in
// other modules, where a public function is otherwise called, not inlined (about 40 instructions
// a call on Exim's lines, which ask them a few times each), and inlined, a compare with a short
// literal needs no call to memcmp either.
extension UnsafeRawBufferPointer {
    /// Whether the bytes at `at` are `literal`.
    @inlinable @inline(__always) public func has(_ literal: StaticString, at: Int) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard at >= 0, at + n <= count else { return false }
        return memcmp(baseAddress! + at, literal.utf8Start, n) == 0
    }

    /// Whether the bytes of `r` are exactly `literal` (a whole field, not a prefix of one).
    @inlinable @inline(__always) public func isWord(_ literal: StaticString, _ r: Range<Int>) -> Bool {
        r.count == literal.utf8CodeUnitCount && has(literal, at: r.lowerBound)
    }

    /// The value of a `key=value` field: the rest of `r` when it starts with `key` (which ends
    /// in its `=`), else nil.
    @inlinable @inline(__always) public func value(of key: StaticString, _ r: Range<Int>) -> Range<Int>? {
        let n = key.utf8CodeUnitCount
        guard r.count >= n, has(key, at: r.lowerBound) else { return nil }
        return r.lowerBound + n..<r.upperBound
    }

    /// The first place in `from..<to` holding `x` or `y` (`to` when there is none), eight bytes
    /// at a time. (The zero-byte test's lowest flagged byte is exact: a false alarm can only sit
    /// above a true one. So the lowest flag of either test is a true hit.)
    @inlinable public func first(_ x: UInt8, or y: UInt8, from: Int, to: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let px = ones &* UInt64(x), py = ones &* UInt64(y)
        var j = from
        while j + 8 <= to {
            let v = loadUnaligned(fromByteOffset: j, as: UInt64.self)
            let a = v ^ px, b = v ^ py
            let hit = (((a &- ones) & ~a) | ((b &- ones) & ~b)) & highs
            if hit != 0 { return j + hit.trailingZeroBitCount / 8 }
            j += 8
        }
        while j < to {
            if self[j] == x || self[j] == y { return j }
            j += 1
        }
        return to
    }

    /// The first place at or after `from` (and before `to`) where `literal` starts.
    public func find(_ literal: StaticString, from: Int, to: Int? = nil) -> Int? {
        let n = literal.utf8CodeUnitCount
        let end = Swift.min(to ?? count, count)
        // memchr looks for one byte of the literal, then the whole is compared. A literal that
        // starts with a space (" H=", " C=\"") is looked for by its second byte: a log line has
        // a space every few bytes, and each was a compare.
        let k = n >= 2 && literal.utf8Start[0] == 0x20 ? 1 : 0
        let probe = literal.utf8Start[k]
        var i = from
        while i + n <= end {
            guard let p = memchr(baseAddress! + i + k, Int32(probe), end - n + 1 - i) else { return nil }
            let j = UnsafeRawPointer(p) - baseAddress! - k
            if memcmp(baseAddress! + j, literal.utf8Start, n) == 0 { return j }
            i = j + 1
        }
        return nil
    }

    /// The last place before `to` (and at or after `from`) where `literal` starts.
    public func findLast(_ literal: StaticString, from: Int, to: Int) -> Int? {
        let n = literal.utf8CodeUnitCount
        var j = to - n
        while j >= from {
            if memcmp(baseAddress! + j, literal.utf8Start, n) == 0 { return j }
            j -= 1
        }
        return nil
    }

    public func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: self[r]), as: UTF8.self)
    }

    /// Digits at `from` as a number, and where they end.
    public func number(at from: Int) -> (Int, Int)? {
        var i = from, v = 0
        while i < count, self[i] &- 0x30 < 10, i - from < 18 { v = v * 10 + Int(self[i] &- 0x30); i += 1 }
        return i > from ? (v, i) : nil
    }

    public func equals(_ r: Range<Int>, _ other: [UInt8]) -> Bool {
        guard r.count == other.count else { return false }
        return other.withUnsafeBytes { o in r.isEmpty || memcmp(baseAddress! + r.lowerBound, o.baseAddress!, r.count) == 0 }
    }
}

extension UnsafeRawBufferPointer {
    /// Nothing but ASCII: every byte below 0x80 (eight at a time).
    var isASCII: Bool {
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= count {
            high |= loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            high |= UInt64(self[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// Calls `body` with these bytes as `String(decoding:as:)` reads them: the bytes themselves
    /// when they are ASCII (nearly every address and reason), else the repaired String's. What
    /// keeps an address or a reason as bytes (the drafts, the ledger) names it as its String does.
    func withRepairedUTF8<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if isASCII { return body(self) }
        var s = String(decoding: self, as: UTF8.self)
        return s.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}
