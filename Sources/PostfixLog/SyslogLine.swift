#if canImport(Glibc)
import Glibc
#endif
import RelayCore

/// One syslog line split into its parts, as places in the line's bytes: nothing is copied until a
/// part is asked for. Postfix's lines are the same text after this prefix whichever way they were
/// written (syslogd, rsyslog, syslog-ng, Postfix's own `maillog_file`, or the journal).
public struct SyslogLine {
    public var ts: Timestamp
    /// The sending host; empty when the line names none.
    public var host: Range<Int>
    /// The syslog tag without the pid: `postfix/smtp`, `postfix-out/smtp`, `postfix/submission/smtpd`.
    public var tag: Range<Int>
    public var pid: Int?
    /// The text after `tag[pid]: `.
    public var message: Range<Int>
}

/// Reads the prefix of a syslog line in any of the forms mail hosts write:
/// - RFC 3164 (`Nov 29 08:00:00 host tag[pid]: text`), also with a priority `<22>` in front and
///   with microseconds (`Nov 29 08:00:00.123456`, Postfix's `maillog_file`);
/// - an RFC 3339 time first (`2026-11-29T08:00:00.123456+01:00 host tag[pid]: text`, rsyslog's
///   high-precision file format);
/// - RFC 5424 (`<22>1 2026-11-29T08:00:00.123Z host app procid msgid [sd] text`).
///
/// RFC 3164 times carry no year and no zone: the year is the reference time's (a line cannot be
/// from a later month than now, so a December line read in January is last year's) and rolls
/// forward when the months wrap; the zone is the offset the caller gives (the host's own).
public struct SyslogReader {
    private var year: Int
    private var lastMonth = 0
    /// The last RFC 3164 line's month, day, hour and minute (its 12 bytes, `Nov 29 08:00`) and
    /// when that minute began (local time): a log has many lines to the minute, so most lines
    /// read only their seconds. A line with the same 12 bytes is in the same month as the last,
    /// so its year is the same too. Zeros (no line's bytes) until a line has been read.
    private var minuteHead: (UInt64, UInt32) = (0, 0)
    private var minuteStart: Int64 = 0
    private let referenceMonth: Int
    /// Seconds east of UTC for times without a zone.
    public var utcOffset: Int

    /// Longer runs of digits where a pid goes are kept out of the number (RFC 5424 allows a
    /// PROCID of 128 characters; no pid has more than 10 digits).
    static let maxPidDigits = 10

    /// What the reader carries from line to line: the year RFC 3164 lines are in and the month
    /// of the last of them (0 before the first).
    public struct State: Sendable, Equatable {
        public var year: Int
        public var lastMonth: Int
    }

    /// A reader of a later part of a file starts where the reader of the parts before stopped.
    public var state: State {
        get { State(year: year, lastMonth: lastMonth) }
        set {
            year = newValue.year
            lastMonth = newValue.lastMonth
            minuteHead = (0, 0)
        }
    }

    public init(reference: Timestamp, utcOffset: Int = 0) {
        let (y, m) = reference.adding(seconds: Double(utcOffset)).yearAndMonth
        year = y
        referenceMonth = m
        self.utcOffset = utcOffset
    }

    public mutating func parse(_ b: UnsafeRawBufferPointer) -> SyslogLine? {
        let n = b.count
        var i = 0
        // A priority: "<N>" with one to three digits.
        if n > 2, b[0] == UInt8(ascii: "<") {
            var j = 1
            while j < n, j < 5, isDigit(b[j]) { j += 1 }
            guard j > 1, j < n, b[j] == UInt8(ascii: ">") else { return nil }
            i = j + 1
            // RFC 5424: a version right after the priority.
            if i + 1 < n, b[i] == UInt8(ascii: "1"), b[i + 1] == 0x20 { return parse5424(b, from: i + 2) }
        }
        let ts: Timestamp
        if i + 4 < n, isDigit(b[i]), isDigit(b[i + 1]), isDigit(b[i + 2]), isDigit(b[i + 3]), b[i + 4] == UInt8(ascii: "-") {
            guard let sp = index(of: 0x20, in: b, from: i),
                  let t = Timestamp.parseRFC3339(UnsafeRawBufferPointer(rebasing: b[i..<sp])) else { return nil }
            ts = t
            i = sp + 1
        } else {
            guard let (t, next) = parse3164Time(b, from: i) else { return nil }
            ts = t
            i = next
        }
        return parseHostAndTag(b, from: i, ts: ts)
    }

    /// "Mmm dd hh:mm:ss[.ffffff] " (the day may be padded with a space).
    private mutating func parse3164Time(_ b: UnsafeRawBufferPointer, from start: Int) -> (Timestamp, Int)? {
        let n = b.count
        guard start + 15 <= n, b[start + 3] == 0x20 else { return nil }
        let at = UnsafeRawPointer(b.baseAddress!) + start
        let head = (at.loadUnaligned(as: UInt64.self), at.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        if head == minuteHead { return parseSeconds(b, from: start + 12, since: minuteStart) }
        let month = Self.month(b[start], b[start + 1], b[start + 2])
        guard month > 0 else { return nil }
        var i = start + 4
        let d1 = b[i] == 0x20 ? 0 : Int(b[i]) - 48, d2 = Int(b[i + 1]) - 48
        guard (0...3).contains(d1), (0...9).contains(d2), b[i + 2] == 0x20 else { return nil }
        let day = d1 * 10 + d2
        i += 3
        guard i + 8 <= n, b[i + 2] == UInt8(ascii: ":"), b[i + 5] == UInt8(ascii: ":"),
              let h = two(b, i), let mi = two(b, i + 3),
              (1...31).contains(day), h < 24, mi < 60 else { return nil }
        // The year: the reference's for the first line (last year's when that month is still to
        // come), then forward by one whenever December gives way to January. Kept only once
        // the rest of the time has been read: a line refused leaves the state as it was.
        var lineYear = year
        if lastMonth == 0 {
            if month > referenceMonth { lineYear -= 1 }
        } else if month + 6 < lastMonth {
            lineYear += 1
        } else if month > lastMonth + 6 {
            lineYear -= 1
        }
        let begun = Timestamp(year: lineYear, month: month, day: day, hour: h, minute: mi, second: 0).microseconds
        guard let time = parseSeconds(b, from: i + 5, since: begun) else { return nil }
        year = lineYear
        lastMonth = month
        minuteStart = begun
        minuteHead = head
        return time
    }

    /// `:ss[.ffffff] ` from `start` (its colon): the minute that began at `since` (local time)
    /// plus the seconds, as UTC; and where the host starts.
    private func parseSeconds(_ b: UnsafeRawBufferPointer, from start: Int, since: Int64) -> (Timestamp, Int)? {
        let n = b.count
        guard start + 3 <= n, b[start] == UInt8(ascii: ":"), let s = two(b, start + 1), s <= 60 else { return nil }
        var i = start + 3
        var micros = 0
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 100_000
            while i < n, isDigit(b[i]) {
                micros += (Int(b[i]) - 48) * scale
                scale /= 10
                i += 1
            }
        }
        guard i < n, b[i] == 0x20 else { return nil }
        let local = since + Int64(s) * 1_000_000 + Int64(micros)
        return (Timestamp(microseconds: local - Int64(utcOffset) * 1_000_000), i + 1)
    }

    /// "host tag[pid]: text" or, with no host, "tag[pid]: text".
    private func parseHostAndTag(_ b: UnsafeRawBufferPointer, from start: Int, ts: Timestamp) -> SyslogLine? {
        let n = b.count
        var i = start
        while i < n, b[i] == 0x20 { i += 1 }
        guard let sp = index(of: 0x20, in: b, from: i) else { return nil }
        var host = i..<i
        var tagStart = i
        // The first word is the tag when it already ends in ':' or carries the pid.
        let word = UnsafeRawBufferPointer(rebasing: b[i..<sp])
        if word.last != UInt8(ascii: ":"), !word.contains(UInt8(ascii: "[")) {
            host = i..<sp
            tagStart = sp + 1
        }
        var j = tagStart
        while j < n, b[j] != UInt8(ascii: "["), b[j] != UInt8(ascii: ":"), b[j] != 0x20 { j += 1 }
        guard j < n, j > tagStart else { return nil }
        let tag = tagStart..<j
        var pid: Int? = nil
        if b[j] == UInt8(ascii: "[") {
            var p = 0, k = j + 1
            while k < n, isDigit(b[k]) { p = p &* 10 &+ Int(b[k]) - 48; k += 1 }
            guard k < n, b[k] == UInt8(ascii: "]") else { return nil }
            // A pid of more digits than any system's is not one (and would overflow).
            pid = k - j - 1 <= Self.maxPidDigits ? p : nil
            j = k + 1
        }
        guard j < n, b[j] == UInt8(ascii: ":") else { return nil }
        j += 1
        if j < n, b[j] == 0x20 { j += 1 }
        return SyslogLine(ts: ts, host: host, tag: tag, pid: pid, message: j..<n)
    }

    /// "TIMESTAMP HOST APP PROCID MSGID SD MSG" after "<PRI>1 ".
    private func parse5424(_ b: UnsafeRawBufferPointer, from start: Int) -> SyslogLine? {
        let n = b.count
        var i = start
        func field() -> Range<Int>? {
            guard i < n, let sp = index(of: 0x20, in: b, from: i) else { return nil }
            defer { i = sp + 1 }
            return i..<sp
        }
        guard let tsField = field(), let hostField = field(), let app = field(), let procid = field(), field() != nil else { return nil }
        let tsBytes = UnsafeRawBufferPointer(rebasing: b[tsField])
        guard let ts = Timestamp.parseRFC3339(tsBytes) else { return nil }
        // Structured data: "-" or one or more "[...]" (a "]" inside is escaped with a backslash).
        guard i < n else { return nil }
        if b[i] == UInt8(ascii: "-") {
            i += 1
        } else {
            while i < n, b[i] == UInt8(ascii: "[") {
                i += 1
                while i < n, b[i] != UInt8(ascii: "]") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
                guard i < n else { return nil }
                i += 1
            }
        }
        if i < n, b[i] == 0x20 { i += 1 }
        // A UTF-8 byte order mark may open the message.
        if i + 3 <= n, b[i] == 0xEF, b[i + 1] == 0xBB, b[i + 2] == 0xBF { i += 3 }
        var pid: Int? = nil
        if procid.count > 0, procid.count <= Self.maxPidDigits, b[procid.lowerBound] != UInt8(ascii: "-") {
            var p = 0
            for k in procid { guard isDigit(b[k]) else { p = -1; break }; p = p * 10 + Int(b[k]) - 48 }
            if p >= 0 { pid = p }
        }
        let host = hostField.count == 1 && b[hostField.lowerBound] == UInt8(ascii: "-") ? hostField.lowerBound..<hostField.lowerBound : hostField
        return SyslogLine(ts: ts, host: host, tag: app, pid: pid, message: i..<n)
    }

    static func month(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int {
        switch (a, b, c) {
        case (0x4A, 0x61, 0x6E): 1   // Jan
        case (0x46, 0x65, 0x62): 2   // Feb
        case (0x4D, 0x61, 0x72): 3   // Mar
        case (0x41, 0x70, 0x72): 4   // Apr
        case (0x4D, 0x61, 0x79): 5   // May
        case (0x4A, 0x75, 0x6E): 6   // Jun
        case (0x4A, 0x75, 0x6C): 7   // Jul
        case (0x41, 0x75, 0x67): 8   // Aug
        case (0x53, 0x65, 0x70): 9   // Sep
        case (0x4F, 0x63, 0x74): 10  // Oct
        case (0x4E, 0x6F, 0x76): 11  // Nov
        case (0x44, 0x65, 0x63): 12  // Dec
        default: 0
        }
    }
}

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

@inline(__always) func two(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int? {
    guard isDigit(b[i]), isDigit(b[i + 1]) else { return nil }
    return (Int(b[i]) - 48) * 10 + Int(b[i + 1]) - 48
}

/// The first `byte` at or after `from`, by memchr (the libc scan is vectorised).
@inline(__always) func index(of byte: UInt8, in b: UnsafeRawBufferPointer, from: Int) -> Int? {
    guard from < b.count, let base = b.baseAddress else { return nil }
    guard let p = memchr(base + from, Int32(byte), b.count - from) else { return nil }
    return UnsafeRawPointer(p) - base
}
