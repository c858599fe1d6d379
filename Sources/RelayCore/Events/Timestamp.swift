/// An instant in the delivery log, in microseconds since the Unix epoch (UTC).
///
/// The log carries RFC 3339 times; we keep an integer so ordering and arithmetic are exact and the
/// codec can parse and print times without Foundation's date formatters, which are far too slow for
/// a million-line log.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The times a delivery-log line can say: RFC 3339's four-digit years, 0000 to 9999. A time
    /// outside would be written as another time (the year is cut to four digits).
    public static let writable = Timestamp(year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0)
        ... Timestamp(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59, microsecond: 999_999)

    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public init(seconds: Double) { self.microseconds = Int64((seconds * 1_000_000).rounded()) }

    public var seconds: Double { Double(microseconds) / 1_000_000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }

    public func adding(seconds: Double) -> Timestamp {
        Timestamp(microseconds: microseconds + Int64((seconds * 1_000_000).rounded()))
    }

    /// RFC 3339 in UTC with microseconds: `2026-11-29T08:09:45.123456Z`.
    public var description: String { rfc3339 }

    public var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        appendRFC3339(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func appendRFC3339(to out: inout [UInt8]) {
        let (secs, micros) = microseconds.floorDivided(by: 1_000_000)
        let (days, secOfDay) = secs.floorDivided(by: 86_400)
        let (y, m, d) = Self.civil(fromDays: days)
        // Into 27 bytes on the stack, then one append: every event of every log has a timestamp.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { b in
            func put(_ v: Int64, _ at: Int, _ width: Int) {
                var v = v
                var i = at + width - 1
                while i >= at {
                    b[i] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
                    v /= 10
                    i -= 1
                }
            }
            put(y, 0, 4); b[4] = 0x2D; put(m, 5, 2); b[7] = 0x2D; put(d, 8, 2); b[10] = 0x54
            put(secOfDay / 3600, 11, 2); b[13] = 0x3A; put(secOfDay / 60 % 60, 14, 2); b[16] = 0x3A
            put(secOfDay % 60, 17, 2); b[19] = 0x2E; put(micros, 20, 6); b[26] = 0x5A
            out.append(contentsOf: UnsafeBufferPointer(b))
        }
    }

    /// RFC 5322 §3.3 date-time in UTC, as mail headers carry it: `Sun, 29 Nov 2026 08:09:45 +0000`.
    /// Built from the same day arithmetic as ``rfc3339`` (a DateFormatter per message would cost
    /// more than the rest of writing a Received: header).
    public var rfc5322: String {
        let secs = microseconds.floorDivided(by: 1_000_000).0
        let (days, secOfDay) = secs.floorDivided(by: 86_400)
        let (y, m, d) = Self.civil(fromDays: days)
        // 1970-01-01 was a Thursday.
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(days.floorDivided(by: 7).1)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Int(m) - 1]
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(weekday), \(two(d)) \(month) \(y) \(two(secOfDay / 3600)):\(two(secOfDay / 60 % 60)):\(two(secOfDay % 60)) +0000"
    }

    /// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`); nil when it is not one.
    public init?(rfc3339 text: String) {
        var text = text
        guard let t = text.withUTF8({ Timestamp.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = t
    }

    static func parse(_ b: UnsafeRawBufferPointer) -> Timestamp? {
        if b.count == 27, let t = parseCanonical(b) { return t }
        return parseGeneral(b)
    }

    /// The form the relay writes (`2026-11-29T08:09:45.123456Z`), without loops or branches per
    /// digit: every line has one, so this is a measurable part of reading a log.
    @inline(__always) static func parseCanonical(_ b: UnsafeRawBufferPointer) -> Timestamp? {
        guard let minute = canonicalMinute(b.baseAddress!), let within = canonicalSeconds(b) else { return nil }
        return Timestamp(microseconds: minute + within)
    }

    /// ``parseCanonical(_:)`` remembering the minute (its first 16 bytes) for the next time: a log
    /// has many lines to the minute, so most read only their seconds. The same verdict on every
    /// time, as the minute's bytes are checked the same way when first seen.
    @inline(__always) static func parseCanonical(_ b: UnsafeRawBufferPointer, minute: inout MinuteCache) -> Timestamp? {
        guard let start = minute.start(of: b.baseAddress!, { canonicalMinute($0) }), let within = canonicalSeconds(b) else { return nil }
        return Timestamp(microseconds: start + within)
    }

    /// A little-endian word's digit lanes (`digits`) all 0-9 and its separator lanes (`sepMask`)
    /// exactly `sepValue`, a word at a time instead of a test per byte.
    @inline(__always) private static func canonical(_ w: UInt64, _ digits: UInt64, _ sepMask: UInt64, _ sepValue: UInt64) -> Bool {
        guard w & sepMask == sepValue else { return false }
        // A digit is 0x30-0x39: high nibble 3, and low nibble + 6 does not carry.
        let high = w & (0xF0F0_F0F0_F0F0_F0F0 & digits)
        let low = w & (0x0F0F_0F0F_0F0F_0F0F & digits)
        return high == (0x3030_3030_3030_3030 & digits)
            && ((low &+ (0x0606_0606_0606_0606 & digits)) & 0xF0F0_F0F0_F0F0_F0F0) == 0
    }

    /// `2026-11-29T08:09` (the canonical form's first 16 bytes): when that minute began, in
    /// microseconds.
    @inline(__always) static func canonicalMinute(_ p: UnsafeRawPointer) -> Int64? {
        let w0 = p.loadUnaligned(as: UInt64.self)
        let w1 = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        guard canonical(w0, 0x00FFFF00FFFFFFFF, 0xFF0000FF00000000, 0x2D00002D00000000),
              canonical(w1, 0xFFFF00FFFF00FFFF, 0x0000FF0000FF0000, 0x00003A0000540000) else { return nil }
        @inline(__always) func d(_ k: Int) -> Int64 { Int64(p.load(fromByteOffset: k, as: UInt8.self) &- 0x30) }
        let y = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3)
        let mo = d(5) * 10 + d(6), day = d(8) * 10 + d(9)
        let h = d(11) * 10 + d(12), mi = d(14) * 10 + d(15)
        guard (1...12).contains(mo), (1...31).contains(day), h < 24, mi < 60 else { return nil }
        return (daysSinceEpoch(year: y, month: mo, day: day) * 86_400 + h * 3600 + mi * 60) * 1_000_000
    }

    /// `:45.123456Z` (the canonical form's last 11 bytes, of 27): microseconds into the minute.
    /// The last three bytes are read one by one, so nothing past the time is touched.
    @inline(__always) static func canonicalSeconds(_ b: UnsafeRawBufferPointer) -> Int64? {
        let w2 = UnsafeRawPointer(b.baseAddress!).loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        let w3 = UInt64(b[24]) | UInt64(b[25]) << 8 | UInt64(b[26]) << 16
        guard canonical(w2, 0xFFFFFFFF00FFFF00, 0x00000000FF0000FF, 0x000000002E00003A),
              canonical(w3, 0x000000000000FFFF, 0x0000000000FF0000, 0x00000000005A0000) else { return nil }
        @inline(__always) func d(_ k: Int) -> Int64 { Int64(b[k] &- 0x30) }
        let s = d(17) * 10 + d(18)
        guard s <= 60 else { return nil }
        let micros = ((d(20) * 10 + d(21)) * 10 + d(22)) * 1000 + (d(23) * 10 + d(24)) * 10 + d(25)
        return s * 1_000_000 + micros
    }

    static func parseGeneral(_ b: UnsafeRawBufferPointer) -> Timestamp? {
        let n = b.count
        guard n >= 20 else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for i in at..<(at + count) {
                let c = b[i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            return v
        }
        guard let y = digits(0, 4), b[4] == 0x2D, let mo = digits(5, 2), b[7] == 0x2D,
              let d = digits(8, 2), b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20,
              let h = digits(11, 2), b[13] == 0x3A, let mi = digits(14, 2), b[16] == 0x3A,
              let s = digits(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s <= 60
        else { return nil }
        var i = 19
        var micros: Int64 = 0
        if i < n, b[i] == 0x2E {
            i += 1
            var scale: Int64 = 100_000
            let start = i
            while i < n, b[i] >= 0x30, b[i] <= 0x39 {
                micros += Int64(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < n else { return nil }
        var offset: Int64 = 0
        switch b[i] {
        case 0x5A, 0x7A: i += 1
        case 0x2B, 0x2D:
            guard i + 6 == n, let oh = digits(i + 1, 2), b[i + 3] == 0x3A, let om = digits(i + 4, 2)
            else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == 0x2B ? 1 : -1)
            i += 6
        default: return nil
        }
        guard i == n else { return nil }
        let days = civilDays(year: y, month: mo, day: d)  // cheap: a dozen integer operations
        let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset
        return Timestamp(microseconds: secs * 1_000_000 + micros)
    }

    /// Days from 1970-01-01 for a four-digit year (0...9999): the same as ``civilDays`` but on
    /// non-negative values only, so the divisions are plain shifts and multiplications.
    @inline(__always) static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = UInt64(month <= 2 ? year + 399 : year + 400)  // shifted by 400 years to stay positive
        let m = UInt64(month <= 2 ? month + 9 : month - 3)
        let leaps = y / 4 - y / 100 + y / 400
        let doy = (153 * m + 2) / 5 + UInt64(day) - 1
        // 719_468 days from 0000-03-01 to 1970-01-01, plus the 400 years (146_097 days) added above.
        return Int64(y * 365 + leaps + doy) - 719_468 - 146_097
    }

    // Howard Hinnant's days-from-civil and its inverse: exact for the proleptic Gregorian calendar.
    static func civilDays(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

extension Int64 {
    func floorDivided(by d: Int64) -> (Int64, Int64) {
        let q = self / d, r = self % d
        return r < 0 ? (q - 1, r + d) : (q, r)
    }
}

extension Timestamp {
    /// RFC 3339 from bytes (any offset, any fraction): for adapters reading other programs' logs.
    public static func parseRFC3339(_ b: UnsafeRawBufferPointer) -> Timestamp? { parse(b) }

    /// A UTC calendar time (month 1-12, day 1-31; not checked beyond what arithmetic needs).
    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int = 0) {
        let days = Timestamp.civilDays(year: Int64(year), month: Int64(month), day: Int64(day))
        let secs = days * 86_400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
        self.init(microseconds: secs * 1_000_000 + Int64(microsecond))
    }

    /// The UTC calendar year and month (1-12).
    public var yearAndMonth: (year: Int, month: Int) {
        let (days, _) = microseconds.floorDivided(by: 86_400_000_000)
        let (y, m, _) = Timestamp.civil(fromDays: days)
        return (Int(y), Int(m))
    }
}
