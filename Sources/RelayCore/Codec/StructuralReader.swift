import CStructural

/// The delivery-log reader's fast path, after simdjson: stage one (C, 16 bytes at a time) makes a
/// bitmap of the line's quotes and checks it has no backslash, control or non-ASCII byte, so that
/// every quote opens or closes a string; stage two, here, reads the fields from the bitmap: a
/// string ends at the next quote bit (one bit scan, never a byte inside it), and only the few
/// structural bytes between strings (where the writer's form puts them) and numbers are read.
///
/// It takes only lines in the writer's form: one object, no whitespace between tokens, ASCII
/// strings without escapes, integers without fraction or exponent, arrays and objects of strings.
/// Anything else (and every malformed line) is refused, untouched, and the byte-level reader
/// (``RawEvent/read()``) reads it, so every error message and every odd case has one source. For a
/// line it takes, it sets exactly the fields, bits and slices the byte-level reader would: the
/// codec tests check both readers against each other on every line they have.
extension RawEvent {
    /// Longest line tried on the fast path, in 64-byte words (4 KiB, so the bitmap stays on the
    /// stack: a larger temporary allocation goes to the heap, per line); longer lines are rare
    /// (a queued event with hundreds of recipients) and read byte by byte.
    static let fastPathWords = 64

    /// Reads the line through the quote bitmap. False: refused (the event is as it was).
    mutating func readStructural(_ line: UnsafeRawBufferPointer) -> Bool {
        var minute = MinuteCache()
        return readStructural(line, minute: &minute)
    }

    /// The same, `minute` being the minute of the last line's time.
    mutating func readStructural(_ line: UnsafeRawBufferPointer, minute: inout MinuteCache) -> Bool {
        guard let base = line.baseAddress, line.count >= 2 else { return false }
        let b = base.assumingMemoryBound(to: UInt8.self)
        guard b[0] == 0x7B, b[line.count - 1] == 0x7D else { return false }
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Self.fastPathWords) { words in
            guard rw_quote_bitmap(b, line.count, words.baseAddress!, words.count) == 0 else { return false }
            let quotes = QuoteBitmap(words: UnsafePointer(words.baseAddress!), count: (line.count + 63) / 64)
            // The writer's order first; it hands any other line to the general walk.
            guard walkInWriterOrder(quotes, b, line.count, minute: &minute) else {
                // Refused part way: back to nothing read, for the byte-level reader.
                self = RawEvent(scanner)
                return false
            }
            return true
        }
    }

    /// Stage one's answer: where the quotes are.
    struct QuoteBitmap {
        let words: UnsafePointer<UInt64>
        let count: Int

        /// The first quote at or after byte j (one word looked at, as a rule: strings are short).
        @inline(__always) func first(from j: Int) -> Int? {
            var w = j >> 6
            guard w < count else { return nil }
            var bits = words[w] & (UInt64.max << UInt64(j & 63))
            while bits == 0 {
                w += 1
                guard w < count else { return nil }
                bits = words[w]
            }
            return w << 6 | bits.trailingZeroBitCount
        }
    }

    /// A value as stage two found it (or as ``RawEventWriter`` wrote it: a time or an enhanced
    /// status it has already, not as text).
    enum Token {
        case string(StringSlice)
        case strings(ContainerSlice)      // an array of strings
        case stringObject(ContainerSlice)  // an object whose values are strings
        case number(Int)
        case bool(Bool)
        case null
        case time(Timestamp)
        case enhanced(EnhancedStatus)
    }

    /// Stage two: `{` key `:` value (`,` key `:` value)* `}`. `i` walks the structural bytes; a
    /// string runs to the next quote of the bitmap, whatever is in it. It starts at byte `start`,
    /// a key's opening quote, guessing `first` there: the first key, or wherever
    /// ``walkInWriterOrder(_:_:_:minute:)`` stopped taking the writer's order.
    mutating func walk(_ quotes: QuoteBitmap, _ b: UnsafePointer<UInt8>, _ count: Int,
                       from start: Int = 1, expecting first: FieldName? = .v) -> Bool {
        if count == 2 { return true }
        var i = start
        var expected = first
        while true {
            // A key right after `{` or `,`, then its colon: the one the writer puts here is
            // matched with its closing quote and colon in two words; any other is looked up.
            guard b[i] == 0x22 else { return false }
            let name: FieldName
            if let e = expected, let past = Self.key(e.literal, b, i, count) {
                name = e
                i = past
            } else {
                guard let close = quotes.first(from: i + 1), close + 1 < count, b[close + 1] == 0x3A,
                      let f = Self.field(b + i + 1, close - i - 1, room: count - i - 1) else { return false }
                name = f
                i = close + 2
            }
            guard let token = Self.value(quotes, b, &i, count) else { return false }
            // After the value: `,` or the object's closing `}` (the line's last byte).
            guard i < count else { return false }
            assign(name, token)
            expected = name.next(in: kind)
            if b[i] == 0x7D { return i == count - 1 }
            guard b[i] == 0x2C else { return false }
            i += 1
        }
    }

    /// The value starting at byte i, with i moved past it; nil for anything stage two refuses.
    @inline(__always) static func value(_ quotes: QuoteBitmap, _ b: UnsafePointer<UInt8>, _ i: inout Int, _ count: Int) -> Token? {
        switch b[i] {
        case 0x22:
            guard let close = quotes.first(from: i + 1) else { return nil }
            let s = slice(i, close)
            i = close + 1
            return .string(s)
        case 0x5B:
            guard let c = strings(quotes, b, &i, close: 0x5D, pairs: false) else { return nil }
            return .strings(c)
        case 0x7B:
            guard let c = strings(quotes, b, &i, close: 0x7D, pairs: true) else { return nil }
            return .stringObject(c)
        default:
            return scalar(b, &i, count)
        }
    }

    /// When the bytes after the quote at i are the key `literal` stands for with its closing
    /// quote and colon (``FieldName/literal``), where its value starts.
    @inline(__always) static func key(_ literal: (UInt64, UInt64, Int), _ b: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Int? {
        guard i + 17 <= count, JSONScanner.bytes(at: UnsafeRawPointer(b + i + 1), are: literal) else { return nil }
        return i + 1 + literal.2
    }

    /// The field a key names, its bytes loaded as words (the line goes on at least `room` bytes
    /// from the key's start, past its closing quote and colon).
    @inline(__always) private static func field(_ k: UnsafePointer<UInt8>, _ n: Int, room: Int) -> FieldName? {
        guard n > 0, n <= 11 else { return nil }
        let raw = UnsafeRawPointer(k)
        if n < 8 {
            guard room >= 8 else { return FieldName.match(UnsafeRawBufferPointer(start: raw, count: n)) }
            return FieldName.match(low: raw.loadUnaligned(as: UInt64.self) & (UInt64.max >> (64 - 8 * n)), high: 0)
        }
        guard room >= 16 else { return FieldName.match(UnsafeRawBufferPointer(start: raw, count: n)) }
        let high = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & (UInt64.max >> (64 - 8 * (n - 8)))
        return FieldName.match(low: raw.loadUnaligned(as: UInt64.self), high: high)
    }

    private static func slice(_ openQuote: Int, _ closeQuote: Int) -> StringSlice {
        StringSlice(start: Int32(truncatingIfNeeded: openQuote + 1), count: Int32(truncatingIfNeeded: closeQuote - openQuote - 1), escaped: false)
    }

    /// An array of strings (or, with `pairs`, an object of string members) opening at byte i:
    /// its slice, with i moved past it. nil for anything else. (A closing quote is never the
    /// line's last byte, which is `}`, so the byte after one is always in the line.)
    static func strings(_ quotes: QuoteBitmap, _ b: UnsafePointer<UInt8>, _ i: inout Int,
                                close: UInt8, pairs: Bool) -> ContainerSlice? {
        let open = i
        i += 1
        if b[i] == close {
            i += 1
            return ContainerSlice(start: Int32(open), end: Int32(i), count: 0)
        }
        var count: Int32 = 0
        while true {
            // "string" (or "key":"value"), right after the bracket or the comma.
            guard b[i] == 0x22, let end = quotes.first(from: i + 1) else { return nil }
            i = end + 1
            if pairs {
                guard b[i] == 0x3A, b[i + 1] == 0x22, let valueEnd = quotes.first(from: i + 2) else { return nil }
                i = valueEnd + 1
            }
            count += 1
            if b[i] == close {
                i += 1
                return ContainerSlice(start: Int32(open), end: Int32(i), count: count)
            }
            guard b[i] == 0x2C else { return nil }
            i += 1
        }
    }

    /// A number, `true`, `false` or `null` at byte i, up to the `,` or `}` after it; i is moved
    /// to that byte. nil for anything else (whitespace, fractions, exponents, leading zeros, long
    /// numbers: the byte-level reader's).
    private static func scalar(_ b: UnsafePointer<UInt8>, _ i: inout Int, _ count: Int) -> Token? {
        let s = b + i
        let room = count - 1 - i  // bytes before the closing `}`
        func word(_ n: Int) -> Bool { room >= n && (s[n] == 0x2C || s[n] == 0x7D) }
        switch s[0] {
        case 0x74:
            guard word(4), s[1] == 0x72, s[2] == 0x75, s[3] == 0x65 else { return nil }
            i += 4
            return .bool(true)
        case 0x66:
            guard word(5), s[1] == 0x61, s[2] == 0x6C, s[3] == 0x73, s[4] == 0x65 else { return nil }
            i += 5
            return .bool(false)
        case 0x6E:
            guard word(4), s[1] == 0x75, s[2] == 0x6C, s[3] == 0x6C else { return nil }
            i += 4
            return .null
        default: break
        }
        let negative = s[0] == 0x2D
        var j = negative ? 1 : 0
        let first = j
        var v = 0
        while j <= room, j - first < 19, s[j] &- 0x30 < 10 {
            // Wrapping: a nineteenth digit may overflow, and such a number is refused below
            // (the byte-level reader then reads it, with its own overflow check).
            v = v &* 10 &+ Int(s[j] &- 0x30)
            j += 1
        }
        let digits = j - first
        guard digits > 0, digits <= 18, s[first] != 0x30 || digits == 1, j <= room, s[j] == 0x2C || s[j] == 0x7D else { return nil }
        i += j
        return .number(negative ? -v : v)
    }

    /// Sets a field from its token as ``readValue(_:)`` does from the bytes: a value of another
    /// type than the field takes marks the field bad, null marks it null.
    mutating func assign(_ f: FieldName, _ t: Token) {
        let bit: UInt32 = 1 << f.rawValue
        present |= bit
        if case .null = t { null |= bit; return }
        var ok = true
        let sc = scanner
        func bytes(_ s: StringSlice) -> UnsafeRawBufferPointer { sc.bytes(s) }
        // On the field first (a jump table), then the token's type.
        switch f {
        case .v: if case .number(let n) = t { v = n } else { ok = false }
        case .ts:
            if case .time(let time) = t {
                ts = time
            } else if case .string(let s) = t, let time = s.count == 27 ? Timestamp.parseCanonical(bytes(s)) ?? Timestamp.parse(bytes(s)) : Timestamp.parse(bytes(s)) {
                ts = time
            } else { ok = false }
        case .event:
            if case .string(let s) = t {
                eventName = s
                kind = EventKind.match(bytes(s))
            } else { ok = false }
        case .msg: if case .string(let s) = t { msg = s } else { ok = false }
        case .from: if case .string(let s) = t { from = s } else { ok = false }
        case .rcpts: if case .strings(let c) = t { rcpts = c } else { ok = false }
        case .size: if case .number(let n) = t, n >= 0 { size = n } else { ok = false }
        case .messageID: if case .string(let s) = t { messageID = s } else { ok = false }
        case .session: if case .string(let s) = t { session = s } else { ok = false }
        case .peer: if case .string(let s) = t { peer = s } else { ok = false }
        case .ehlo: if case .strings(let c) = t { ehlo = c } else { ok = false }
        case .txn: if case .string(let s) = t { txn = s } else { ok = false }
        case .attempt: if case .number(let n) = t { attempt = n } else { ok = false }
        case .pipelined: if case .bool(let b) = t { pipelined = b } else { ok = false }
        case .cmd:
            if case .string(let s) = t {
                cmd = s
                command = SMTPCommand.match(bytes(s)) ?? .other(sc.string(s))
            } else { ok = false }
        case .index: if case .number(let n) = t, n >= 0 { index = n } else { ok = false }
        case .rcpt: if case .string(let s) = t { rcpt = s } else { ok = false }
        case .code: if case .number(let n) = t, (100...999).contains(n) { code = n } else { ok = false }
        case .enhanced:
            if case .string(let s) = t {
                enhanced = EnhancedStatus.parse(bytes(s))
            } else if case .enhanced(let e) = t {
                enhanced = e
            } else { ok = false }
        case .text: if case .string(let s) = t { text = s } else { ok = false }
        case .accepted: if case .number(let n) = t, n >= 0 { accepted = n } else { ok = false }
        case .deferred: if case .number(let n) = t, n >= 0 { deferred = n } else { ok = false }
        case .bounced: if case .number(let n) = t, n >= 0 { bounced = n } else { ok = false }
        case .status:
            if case .string(let s) = t {
                statusText = s
                if let st = Outcome.Status.match(bytes(s)) { status = st } else { ok = false }
            } else { ok = false }
        case .reason: if case .string(let s) = t { reason = s } else { ok = false }
        case .retryAt:
            if case .time(let time) = t {
                retryAt = time
            } else if case .string(let s) = t, let time = Timestamp(rfc3339: sc.string(s)) {
                retryAt = time
            } else { ok = false }
        case .ndrMsg: if case .string(let s) = t { ndrMsg = s } else { ok = false }
        case .diagnostics: if case .stringObject(let c) = t { diagnostics = c } else { ok = false }
        case .source: if case .string(let s) = t { source = s } else { ok = false }
        }
        if !ok { bad |= bit }
    }
}
