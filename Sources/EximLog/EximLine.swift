import RelayCore

/// The prefix of an Exim main log line: `2026-11-29 08:00:00[.123][ +0100][ [pid]] ` (the fraction
/// with `+millisec`, the zone with `log_timezone`, the pid with `+pid`), then, for lines about a
/// message, its id and the rest.
public struct EximLine {
    public var ts: Timestamp
    /// The message id, when the line is about one: `1xYTMj-0005XL-1B` (Exim 4.x, 16 characters)
    /// or `1xYTMj-00000005XL-1Bx` style 23-character ids (4.97 and later).
    public var id: Range<Int>?
    /// The text after the id (or after the prefix, for a line about no message).
    public var text: Range<Int>

    /// The last line's date, hour and minute (its first 16 bytes) and when that minute began
    /// (local time): a log has many lines to the minute, so most lines read only their seconds.
    public typealias MinuteCache = RelayCore.MinuteCache

    /// Times without a zone are the host's: `utcOffset` seconds east of UTC.
    public static func parse(_ b: UnsafeRawBufferPointer, utcOffset: Int = 0) -> EximLine? {
        var cache = MinuteCache()
        return parse(b, utcOffset: utcOffset, cache: &cache)
    }

    /// As ``parse(_:utcOffset:)``, remembering the line's minute for the next line.
    public static func parse(_ b: UnsafeRawBufferPointer, utcOffset: Int = 0, cache: inout MinuteCache) -> EximLine? {
        let n = b.count
        guard n >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == 0x20,
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
        func num(_ at: Int, _ count: Int) -> Int? {
            var v = 0
            for i in at..<(at + count) {
                guard b[i] &- 0x30 < 10 else { return nil }
                v = v * 10 + Int(b[i] &- 0x30)
            }
            return v
        }
        let minute = cache.start(of: UnsafeRawPointer(b.baseAddress!)) { _ in
            guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2),
                  (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60 else { return nil }
            return Timestamp(year: y, month: mo, day: d, hour: h, minute: mi, second: 0).microseconds
        }
        guard let minute, let s = num(17, 2), s <= 60 else { return nil }
        var i = 19
        var micros = 0
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 100_000
            let start = i
            while i < n, b[i] &- 0x30 < 10 { micros += Int(b[i] &- 0x30) * scale; scale /= 10; i += 1 }
            guard i > start else { return nil }
        }
        var offset = utcOffset
        // " +0100" / " -0500"
        if i + 6 <= n, b[i] == 0x20, b[i + 1] == UInt8(ascii: "+") || b[i + 1] == UInt8(ascii: "-"),
           let oh = num(i + 2, 2), let om = num(i + 4, 2), i + 6 == n || b[i + 6] == 0x20 {
            offset = (oh * 3600 + om * 60) * (b[i + 1] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        }
        guard i < n, b[i] == 0x20 else { return i == n ? nil : nil }
        i += 1
        // " [1234] " with +pid
        if i < n, b[i] == UInt8(ascii: "["), let close = b.find("] ", from: i, to: min(n, i + 12)) {
            i = close + 2
        }
        let local = minute + Int64(s) * 1_000_000 + Int64(micros)
        let ts = Timestamp(microseconds: local - Int64(offset) * 1_000_000)
        if let end = Self.idEnd(b, from: i) {
            let textStart = end < n && b[end] == 0x20 ? end + 1 : end
            return EximLine(ts: ts, id: i..<end, text: textStart..<n)
        }
        return EximLine(ts: ts, id: nil, text: i..<n)
    }

    /// Where a message id starting at `i` ends: six base-62 characters, a dash, six (4.x) or
    /// eleven (4.97+) more, a dash, two (4.x) or four (4.97+), then a space or the end.
    static func idEnd(_ b: UnsafeRawBufferPointer, from i: Int) -> Int? {
        // Asked of every line: the two forms are told apart by where the second dash is (in the
        // longer form that place is one of the eleven), so each line is checked against one.
        guard i >= 0, i + 16 <= b.count, alphanumeric(b, i, i + 6), b[i + 6] == UInt8(ascii: "-") else { return nil }
        let (middle, last) = b[i + 13] == UInt8(ascii: "-") ? (6, 2) : (11, 4)
        let dash2 = i + 7 + middle, end = dash2 + 1 + last
        guard end <= b.count, alphanumeric(b, i + 7, dash2), b[dash2] == UInt8(ascii: "-"), alphanumeric(b, dash2 + 1, end),
              end == b.count || b[end] == 0x20 else { return nil }
        return end
    }

    /// Whether bytes from..<to (to - from at most 16) are all ASCII letters and digits: eight at
    /// a time where the line has eight bytes from there, byte by byte where it has not. Asked
    /// of every line's id (14 bytes of 16), where a test per byte showed in the report.
    @inline(__always) static func alphanumeric(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Bool {
        var k = from
        while to - k >= 1, k + 8 <= b.count {
            let n = Swift.min(8, to - k)
            let w = b.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            let high: UInt64 = 0x8080_8080_8080_8080 & (n == 8 ? UInt64.max : (UInt64(1) << UInt64(8 * n)) - 1)
            // Every byte of the run below 0x80; then, with no byte able to carry into the next,
            // a byte's top bit after adding 0x80 - lo says it is >= lo, after adding 0x7F - hi
            // that it is > hi.
            guard w & high == 0 else { return false }
            @inline(__always) func within(_ lo: UInt64, _ hi: UInt64) -> UInt64 {
                let ones: UInt64 = 0x0101_0101_0101_0101
                return (w &+ ones &* (0x80 - lo)) & ~(w &+ ones &* (0x7F - hi))
            }
            guard (within(0x30, 0x39) | within(0x41, 0x5A) | within(0x61, 0x7A)) & high == high else { return false }
            k += n
        }
        while k < to {
            let c = b[k]
            guard (c &- 0x30 < 10) || (c &- 0x41 < 26) || (c &- 0x61 < 26) else { return false }
            k += 1
        }
        return true
    }
}
