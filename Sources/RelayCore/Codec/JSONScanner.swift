/// A byte-level JSON reader for one log line.
///
/// Why hand-written: the report must read a 290 MB log in well under a second, and Foundation's
/// JSONDecoder (or JSONSerialization) builds a tree of boxed values for every line. This reader walks
/// the bytes once, builds Strings only for the values the caller asks for, and skips the rest.
/// It accepts exactly RFC 8259 JSON; anything else is a ``JSONScanner/Failure`` naming the byte
/// offset, so a malformed line gets a useful message and is skipped.
/// Where a JSON string's content sits in the line: offset, length, and whether it has escapes
/// (then its bytes are not its text and it must be decoded).
struct StringSlice: Hashable {
    var start: Int32
    var count: Int32
    var escaped: Bool
    static let none = StringSlice(start: 0, count: 0, escaped: false)
}

/// Where an array or object sits in the line (from its opening to past its closing bracket).
struct ContainerSlice: Hashable {
    var start: Int32
    var end: Int32
    var count: Int32
    static let none = ContainerSlice(start: 0, end: 0, count: 0)
}

struct JSONScanner {
    struct Failure: Error {
        var reason: String
        var offset: Int
    }

    let base: UnsafePointer<UInt8>
    let end: Int
    var i = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        // An empty buffer has no base address; point at a static byte instead.
        base = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? JSONScanner.emptyBase
        end = bytes.count
    }

    nonisolated(unsafe) private static let emptyBase: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    static let maxDepth = 64

    /// Index of the first byte at or after `start` that needs a look inside a string: a quote, a
    /// backslash, a control character or a non-ASCII byte (`end` when there is none). Eight bytes
    /// at a time (SWAR): string content is most of a log line's bytes. The lowest flagged byte of
    /// the zero-byte test is exact (only bytes above it can be false alarms), so it is the answer.
    @inline(__always) func firstSpecial(from start: Int) -> Int {
        var j = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while j + 8 <= end {
            let v = UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)
            let quote = v ^ (ones &* 0x22)
            let slash = v ^ (ones &* 0x5C)
            let special = (((quote &- ones) & ~quote) | ((slash &- ones) & ~slash) | ((v &- ones &* 0x20) & ~v) | v) & highs
            if special != 0 { return j + special.trailingZeroBitCount >> 3 }
            j += 8
        }
        while j < end {
            let c = base[j]
            if c == 0x22 || c == 0x5C || c < 0x20 || c >= 0x80 { return j }
            j += 1
        }
        return end
    }

    func fail(_ reason: String) -> Failure { Failure(reason: reason, offset: i) }

    @inline(__always) mutating func skipWhitespace() {
        while i < end {
            let c = base[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// The next significant byte, or nil at the end.
    @inline(__always) mutating func peek() -> UInt8? {
        skipWhitespace()
        return i < end ? base[i] : nil
    }

    @inline(__always) mutating func expect(_ byte: UInt8, _ what: StaticString) throws(Failure) {
        skipWhitespace()
        guard i < end, base[i] == byte else {
            throw fail(i < end ? "expected \(what)" : "line ends where \(what) was expected")
        }
        i += 1
    }

    // MARK: strings

    /// When the next bytes are `"` followed by the literal (a key, its closing quote and the
    /// colon; see `FieldName.literal`), consumes them and returns true; otherwise nothing is consumed.
    @inline(__always) mutating func takeKey(_ literal: (UInt64, UInt64, Int)) -> Bool {
        guard i + 17 <= end, base[i] == 0x22, Self.bytes(at: UnsafeRawPointer(base + i + 1), are: literal) else { return false }
        i += 1 + literal.2
        return true
    }

    /// Whether the bytes at `p` (16 of them readable) are `literal`, a key's bytes with its
    /// closing quote and colon as two little-endian words and a length (``FieldName/literal``).
    @inline(__always) static func bytes(at p: UnsafeRawPointer, are literal: (UInt64, UInt64, Int)) -> Bool {
        let (w0, w1, n) = literal
        let a = p.loadUnaligned(as: UInt64.self)
        if n <= 8 {
            let mask = n == 8 ? UInt64.max : (UInt64(1) << (8 * n)) - 1
            return a & mask == w0
        }
        let mask = (UInt64(1) << (8 * (n - 8))) - 1
        return a == w0 && p.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & mask == w1
    }

    /// A string's raw bytes when it has no escapes (the common case); keys are read this way.
    /// Returns nil (with `i` unchanged) when the string has escapes, so the caller decodes it.
    mutating func rawString() throws(Failure) -> UnsafeRawBufferPointer? {
        skipWhitespace()
        guard i < end, base[i] == 0x22 else { throw fail(i < end ? "expected a string" : "line ends where a string was expected") }
        var j = i + 1
        while true {
            j = firstSpecial(from: j)
            guard j < end else { throw fail("unterminated string") }
            let c = base[j]
            if c == 0x22 {
                let r = UnsafeRawBufferPointer(start: base + i + 1, count: j - i - 1)
                i = j + 1
                return r
            }
            if c == 0x5C { return nil }
            if c < 0x20 { i = j; throw fail("control character in a string") }
            j += 1  // non-ASCII: keys are matched by bytes, an odd one simply matches nothing
        }
    }

    mutating func string() throws(Failure) -> String {
        skipWhitespace()
        guard i < end, base[i] == 0x22 else { throw fail(i < end ? "expected a string" : "line ends where a string was expected") }
        var j = i + 1
        var high: UInt8 = 0
        while j < end {
            let c = base[j]
            if c == 0x22 {
                let bytes = UnsafeBufferPointer(start: base + i + 1, count: j - i - 1)
                let start = i
                i = j + 1
                if high & 0x80 == 0 { return String(decoding: bytes, as: UTF8.self) }
                guard let s = String(validating: bytes, as: UTF8.self) else {
                    i = start
                    throw fail("string is not valid UTF-8")
                }
                return s
            }
            if c == 0x5C { return try escapedString() }
            if c < 0x20 { i = j; throw fail("control character in a string") }
            high |= c
            j += 1
        }
        throw fail("unterminated string")
    }

    /// The slow path: a string with backslash escapes, decoded into a scratch buffer.
    private mutating func escapedString() throws(Failure) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        out.reserveCapacity(64)
        while i < end {
            let c = base[i]
            switch c {
            case 0x22:
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else {
                    i = start
                    throw fail("string is not valid UTF-8")
                }
                return s
            case 0x5C:
                let escapeStart = i
                i += 1
                guard i < end else { throw fail("unterminated escape") }
                let e = base[i]
                i += 1
                switch e {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x2F: out.append(0x2F)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by \u and a low one (RFC 8259 §7).
                        guard i + 1 < end, base[i] == 0x5C, base[i + 1] == 0x75 else {
                            i = escapeStart
                            throw fail("lone surrogate in \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else {
                            i = escapeStart
                            throw fail("lone surrogate in \\u escape")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        i = escapeStart
                        throw fail("lone surrogate in \\u escape")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("bad \\u escape") }
                    out.append(contentsOf: UTF8.encode(u)!)
                default:
                    i = escapeStart
                    throw fail("unknown escape \\\(Character(Unicode.Scalar(e)))")
                }
            default:
                if c < 0x20 { throw fail("control character in a string") }
                out.append(c)
                i += 1
            }
        }
        i = start
        throw fail("unterminated string")
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= end else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("bad hex digit in \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    // MARK: strings as places in the line (no copies)

    /// Reads a string and returns where it sits, without building it. The string is fully
    /// checked here (escapes, surrogates, UTF-8), so building it later cannot fail.
    @inline(__always) mutating func stringSlice() throws(Failure) -> StringSlice {
        skipWhitespace()
        guard i < end, base[i] == 0x22 else { throw fail(i < end ? "expected a string" : "line ends where a string was expected") }
        return try stringSliceAtQuote()
    }

    /// ``stringSlice()`` when `i` is known to be at the opening quote (the caller peeked).
    @inline(__always) mutating func stringSliceAtQuote() throws(Failure) -> StringSlice {
        let open = i
        var j = i + 1
        var nonASCII = false
        while true {
            j = firstSpecial(from: j)
            guard j < end else { throw fail("unterminated string") }
            let c = base[j]
            if c == 0x22 {
                i = j + 1
                if nonASCII,
                   String(validating: UnsafeBufferPointer(start: base + open + 1, count: j - open - 1), as: UTF8.self) == nil {
                    i = open
                    throw fail("string is not valid UTF-8")
                }
                // Lines are at most 1 MiB (LogDecoder.maxLineLength), so offsets fit in 32 bits.
                return StringSlice(start: Int32(truncatingIfNeeded: open + 1), count: Int32(truncatingIfNeeded: j - open - 1),
                                   escaped: false)
            }
            if c == 0x5C {
                _ = try escapedString()
                return StringSlice(start: Int32(truncatingIfNeeded: open + 1), count: Int32(truncatingIfNeeded: i - open - 2),
                                   escaped: true)
            }
            if c < 0x20 { i = j; throw fail("control character in a string") }
            nonASCII = true
            j += 1
        }
    }

    /// The String a slice stands for. Only for slices this scanner's line produced.
    func string(_ s: StringSlice) -> String {
        // (Empty is common: a delivery's reason when the report keeps none.)
        if s.count == 0 { return "" }
        if !s.escaped {
            return String(decoding: UnsafeBufferPointer(start: base + Int(s.start), count: Int(s.count)), as: UTF8.self)
        }
        var sub = self
        sub.i = Int(s.start) - 1
        return (try? sub.string()) ?? ""
    }

    /// An array whose elements are all strings: its place and length. nil (value skipped) for any
    /// other JSON value.
    mutating func stringArraySlice() throws(Failure) -> ContainerSlice? {
        guard peek() == 0x5B else { try skipValue(); return nil }
        let open = i
        i += 1
        var count: Int32 = 0
        var wellTyped = true
        if peek() == 0x5D {
            i += 1
            return ContainerSlice(start: Int32(open), end: Int32(i), count: 0)
        }
        while true {
            if peek() == 0x22 { _ = try stringSlice(); count += 1 } else { wellTyped = false; try skipValue(depth: 1) }
            guard let n = peek() else { throw fail("line ends inside an array") }
            i += 1
            if n == 0x5D { return wellTyped ? ContainerSlice(start: Int32(open), end: Int32(i), count: count) : nil }
            guard n == 0x2C else { i -= 1; throw fail("expected ',' or ']'") }
        }
    }

    /// An object whose values are all strings: its place and number of members.
    mutating func stringObjectSlice() throws(Failure) -> ContainerSlice? {
        guard peek() == 0x7B else { try skipValue(); return nil }
        let open = i
        i += 1
        var count: Int32 = 0
        var wellTyped = true
        if peek() == 0x7D {
            i += 1
            return ContainerSlice(start: Int32(open), end: Int32(i), count: 0)
        }
        while true {
            _ = try stringSlice()
            try expect(0x3A, "':'")
            if peek() == 0x22 { _ = try stringSlice(); count += 1 } else { wellTyped = false; try skipValue(depth: 1) }
            guard let n = peek() else { throw fail("line ends inside an object") }
            i += 1
            if n == 0x7D { return wellTyped ? ContainerSlice(start: Int32(open), end: Int32(i), count: count) : nil }
            guard n == 0x2C else { i -= 1; throw fail("expected ',' or '}'") }
        }
    }

    /// Walks an already-checked array of strings. The checks were made when the line was read,
    /// so this only finds each element's quotes (a backslash skips the byte after it).
    func forEachString(in c: ContainerSlice, _ body: (StringSlice) -> Void) {
        var j = Int(c.start) + 1
        let stop = Int(c.end)
        for _ in 0..<c.count {
            while j < stop, base[j] != 0x22 { j += 1 }
            let open = j
            j += 1
            var escaped = false
            while j < stop {
                j = firstSpecial(from: j)
                guard j < stop else { break }
                let ch = base[j]
                if ch == 0x22 { break }
                if ch == 0x5C { escaped = true; j += 2 } else { j += 1 }
            }
            body(StringSlice(start: Int32(truncatingIfNeeded: open + 1), count: Int32(truncatingIfNeeded: j - open - 1),
                             escaped: escaped))
            j += 1
        }
    }

    /// Walks an already-checked object of strings.
    func forEachPair(in c: ContainerSlice, _ body: (StringSlice, StringSlice) -> Void) {
        var sub = self
        sub.i = Int(c.start) + 1
        for _ in 0..<c.count {
            guard let k = try? sub.stringSlice() else { return }
            _ = sub.peek()
            sub.i += 1  // ':'
            guard let v = try? sub.stringSlice() else { return }
            body(k, v)
            _ = sub.peek()
            sub.i += 1
        }
    }

    func bytes(_ s: StringSlice) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + Int(s.start), count: Int(s.count))
    }

    // MARK: numbers and literals

    /// Reads a number; returns it as an Int when it is a plain integer that fits, nil when it is a
    /// valid JSON number of another kind (fraction, exponent, huge).
    mutating func number() throws(Failure) -> Int? {
        skipWhitespace()
        // Fast path: up to 18 plain digits (no sign, fraction or exponent) then a delimiter.
        var j = i, quick = 0
        while j < end, j - i < 18, base[j] &- 0x30 < 10 {
            quick = quick * 10 + Int(base[j] &- 0x30)
            j += 1
        }
        if j > i, j < end, base[j] == 0x2C || base[j] == 0x7D || base[j] == 0x5D || base[j] == 0x20,
           base[i] != 0x30 || j == i + 1 {
            i = j
            return quick
        }
        var negative = false
        if i < end, base[i] == 0x2D { negative = true; i += 1 }
        guard i < end, base[i] >= 0x30, base[i] <= 0x39 else { throw fail("expected a value") }
        var value = 0
        var overflow = false
        if base[i] == 0x30 {
            i += 1
        } else {
            while i < end, base[i] >= 0x30, base[i] <= 0x39 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(base[i] - 0x30))
                value = a
                overflow = overflow || o1 || o2
                i += 1
            }
        }
        var integral = true
        if i < end, base[i] == 0x2E {
            integral = false
            i += 1
            let digits = i
            while i < end, base[i] >= 0x30, base[i] <= 0x39 { i += 1 }
            guard i > digits else { throw fail("bad number") }
        }
        if i < end, base[i] == 0x65 || base[i] == 0x45 {
            integral = false
            i += 1
            if i < end, base[i] == 0x2B || base[i] == 0x2D { i += 1 }
            let digits = i
            while i < end, base[i] >= 0x30, base[i] <= 0x39 { i += 1 }
            guard i > digits else { throw fail("bad number") }
        }
        guard integral, !overflow else { return nil }
        return negative ? -value : value
    }

    mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= end else { throw fail("line ends inside a literal") }
        let w = word.utf8Start
        for k in 0..<n where base[i + k] != w[k] { throw fail("expected a value") }
        i += n
    }

    /// Skips any value (used for fields this reader does not know: forward compatibility).
    mutating func skipValue(depth: Int = 0) throws(Failure) {
        guard depth < JSONScanner.maxDepth else { throw fail("nested too deeply") }
        guard let c = peek() else { throw fail("line ends where a value was expected") }
        switch c {
        case 0x22:
            if try rawString() == nil { _ = try string() }
        case 0x7B:
            i += 1
            if peek() == 0x7D { i += 1; return }
            while true {
                if try rawString() == nil { _ = try string() }
                try expect(0x3A, "':'")
                try skipValue(depth: depth + 1)
                guard let n = peek() else { throw fail("line ends inside an object") }
                i += 1
                if n == 0x7D { return }
                guard n == 0x2C else { i -= 1; throw fail("expected ',' or '}'") }
            }
        case 0x5B:
            i += 1
            if peek() == 0x5D { i += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                guard let n = peek() else { throw fail("line ends inside an array") }
                i += 1
                if n == 0x5D { return }
                guard n == 0x2C else { i -= 1; throw fail("expected ',' or ']'") }
            }
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: try literal("null")
        default: _ = try number()
        }
    }

    /// True (and consumed) when the next value is `null`.
    @inline(__always) mutating func takeNull() throws(Failure) -> Bool {
        guard peek() == 0x6E else { return false }
        try literal("null")
        return true
    }

    mutating func bool() throws(Failure) -> Bool? {
        switch peek() {
        case 0x74: try literal("true"); return true
        case 0x66: try literal("false"); return false
        default: return nil
        }
    }
}
