/// What one line of the delivery log turned out to be.
public enum DecodedLine: Sendable {
    case event(DeliveryEvent)
    /// A well-formed line with an event name this reader does not know (a newer relay): ignored.
    case unknownEvent(String)
    /// A blank line: not an event, not an error.
    case blank
    /// Not a delivery-log v1 event; the reason is a short phrase for the admin.
    case malformed(String)
}

/// Reads delivery-log v1 lines (see <doc:DeliveryLog>).
///
/// Unknown fields are skipped and unknown events reported as such (forward compatibility). A field
/// this reader knows but finds with the wrong JSON type only makes the line malformed when the event
/// needs that field, so a newer relay can reuse a name for another kind of event.
public enum LogDecoder {
    /// Lines longer than this are malformed without being parsed (a runaway writer, binary junk).
    public static let maxLineLength = 1 << 20

    public static func decode(_ line: String) -> DecodedLine {
        var line = line
        return line.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    public static func decode(_ line: UnsafeRawBufferPointer) -> DecodedLine {
        decode(line, structural: true)
    }

    /// ``decode(_:)`` with the byte-level reader alone, never the structural fast path: the
    /// tests check that both read every line alike, the benchmark times both.
    public static func decodeByteLevel(_ line: UnsafeRawBufferPointer) -> DecodedLine {
        decode(line, structural: false)
    }

    private static func decode(_ line: UnsafeRawBufferPointer, structural: Bool) -> DecodedLine {
        var raw = RawEvent(JSONScanner(line))
        switch scan(line, into: &raw, structural: structural) {
        case .event: return .event(raw.event())
        case .unknownEvent(let name): return .unknownEvent(name)
        case .blank: return .blank
        case .malformed(let why): return .malformed(why)
        }
    }

    /// Reads and checks a line without building anything: true for a usable event. The
    /// benchmark uses it to show what parsing alone costs.
    public static func check(_ line: UnsafeRawBufferPointer, byteLevel: Bool = false) -> Bool {
        var raw = RawEvent(JSONScanner(line))
        if case .event = scan(line, into: &raw, structural: !byteLevel) { return true }
        return false
    }

    /// What ``scan(_:into:)`` found.
    enum Scanned {
        case event
        case unknownEvent(String)
        case blank
        case malformed(String)
    }

    /// Reads and checks a line into `raw` without building its Strings. The store ingests that
    /// directly, so the report never pays for values it does not keep; ``decode(_:)`` builds the
    /// event from it. (An inout result: the raw event is a few hundred bytes, not worth copying.)
    static func scan(_ line: UnsafeRawBufferPointer, into raw: inout RawEvent, structural: Bool = true) -> Scanned {
        var minute = MinuteCache()
        return scan(line, into: &raw, structural: structural, minute: &minute)
    }

    /// ``scan(_:into:structural:)`` for a reader of many lines: `minute` is the last line's.
    static func scan(_ line: UnsafeRawBufferPointer, into raw: inout RawEvent, structural: Bool = true,
                     minute: inout MinuteCache) -> Scanned {
        if line.count > maxLineLength { return .malformed("line longer than \(maxLineLength) bytes") }
        // The structural fast path first; what it refuses (and every malformed line) is read
        // byte by byte (see RawEvent.readStructural).
        if !structural || !raw.readStructural(line, minute: &minute) {
            if raw.scanner.peek() == nil { return .blank }
            do {
                try raw.read()
            } catch {
                return .malformed("\(error.reason) at byte \(error.offset + 1)")
            }
        }
        return raw.verdict()
    }
}

/// Every field name of the v1 log, so each key is matched once without building a String.
enum FieldName: Int {
    case v, ts, event, msg, from, rcpts, size, messageID, session, peer, ehlo, txn, attempt
    case pipelined, cmd, index, rcpt, code, enhanced, text, accepted, deferred, bounced, status
    case reason, retryAt, ndrMsg, diagnostics, source

    var key: StaticString {
        switch self {
        case .v: "v"
        case .ts: "ts"
        case .event: "event"
        case .msg: "msg"
        case .from: "from"
        case .rcpts: "rcpts"
        case .size: "size"
        case .messageID: "message_id"
        case .session: "session"
        case .peer: "peer"
        case .ehlo: "ehlo"
        case .txn: "txn"
        case .attempt: "attempt"
        case .pipelined: "pipelined"
        case .cmd: "cmd"
        case .index: "index"
        case .rcpt: "rcpt"
        case .code: "code"
        case .enhanced: "enhanced"
        case .text: "text"
        case .accepted: "accepted"
        case .deferred: "deferred"
        case .bounced: "bounced"
        case .status: "status"
        case .reason: "reason"
        case .retryAt: "retry_at"
        case .ndrMsg: "ndr_msg"
        case .diagnostics: "diagnostics"
        case .source: "source"
        }
    }

    /// The bytes that follow a key's opening quote in the writer's form, `key":`, as two
    /// little-endian words and a length. ``RawEvent/read()`` compares a line against the key it
    /// expects next with these: an exact byte match is that key, whatever else could follow.
    @inline(__always) var literal: (UInt64, UInt64, Int) {
        switch self {
        case .v: (0x00000000003A2276, 0x0000000000000000, 3)
        case .ts: (0x000000003A227374, 0x0000000000000000, 4)
        case .event: (0x003A22746E657665, 0x0000000000000000, 7)
        case .msg: (0x0000003A2267736D, 0x0000000000000000, 5)
        case .from: (0x00003A226D6F7266, 0x0000000000000000, 6)
        case .rcpts: (0x003A227374706372, 0x0000000000000000, 7)
        case .size: (0x00003A22657A6973, 0x0000000000000000, 6)
        case .messageID: (0x5F6567617373656D, 0x000000003A226469, 12)
        case .session: (0x226E6F6973736573, 0x000000000000003A, 9)
        case .peer: (0x00003A2272656570, 0x0000000000000000, 6)
        case .ehlo: (0x00003A226F6C6865, 0x0000000000000000, 6)
        case .txn: (0x0000003A226E7874, 0x0000000000000000, 5)
        case .attempt: (0x2274706D65747461, 0x000000000000003A, 9)
        case .pipelined: (0x656E696C65706970, 0x00000000003A2264, 11)
        case .cmd: (0x0000003A22646D63, 0x0000000000000000, 5)
        case .index: (0x003A227865646E69, 0x0000000000000000, 7)
        case .rcpt: (0x00003A2274706372, 0x0000000000000000, 6)
        case .code: (0x00003A2265646F63, 0x0000000000000000, 6)
        case .enhanced: (0x6465636E61686E65, 0x0000000000003A22, 10)
        case .text: (0x00003A2274786574, 0x0000000000000000, 6)
        case .accepted: (0x6465747065636361, 0x0000000000003A22, 10)
        case .deferred: (0x6465727265666564, 0x0000000000003A22, 10)
        case .bounced: (0x226465636E756F62, 0x000000000000003A, 9)
        case .status: (0x3A22737574617473, 0x0000000000000000, 8)
        case .reason: (0x3A226E6F73616572, 0x0000000000000000, 8)
        case .retryAt: (0x74615F7972746572, 0x0000000000003A22, 10)
        case .ndrMsg: (0x2267736D5F72646E, 0x000000000000003A, 9)
        case .diagnostics: (0x74736F6E67616964, 0x0000003A22736369, 13)
        case .source: (0x3A22656372756F73, 0x0000000000000000, 8)
        }
    }

    /// The key the writer puts after this one in an event of `kind` (see ``LogEncoder``); nil
    /// when none or not known yet. Only a guess that saves work: any order is read correctly.
    func next(in kind: EventKind?) -> FieldName? {
        // A switch on the key first (a jump table), then on the event where it matters.
        switch self {
        case .v: return .ts
        case .ts: return .event
        case .event: return kind == .session ? .session : .msg
        case .msg:
            switch kind {
            case .queued?: return .from
            case .txn?, .reply?, .tally?: return .txn
            case .outcome?: return .rcpt
            case .ndr?: return .ndrMsg
            case .retry?: return .rcpts
            default: return nil
            }
        case .from: return .rcpts
        case .rcpts:
            switch kind {
            case .queued?: return .size
            case .ndr?: return .diagnostics
            case .retry?: return .source
            default: return nil
            }
        case .size: return .messageID
        case .session: return kind == .session ? .peer : .attempt
        case .peer: return .ehlo
        case .txn:
            switch kind {
            case .txn?: return .session
            case .reply?: return .cmd
            case .tally?: return .accepted
            case .outcome?: return .reason
            default: return nil
            }
        case .attempt: return .pipelined
        case .pipelined: return .rcpts
        case .cmd: return .code  // RCPT replies have index and rcpt first: one miss, then on track
        case .index: return .rcpt
        case .rcpt: return kind == .outcome ? .status : .code
        case .code: return .enhanced
        case .enhanced: return .text
        case .accepted: return .deferred
        case .deferred: return .bounced
        case .status: return .txn
        case .reason: return .retryAt
        case .ndrMsg: return .rcpts
        case .messageID, .ehlo, .text, .bounced, .retryAt, .diagnostics, .source: return nil
        }
    }

    /// A key's bytes as two little-endian words: every v1 key is at most 11 bytes and its first
    /// eight bytes alone tell it from the others. A multiplicative perfect hash of the first word
    /// picks the one candidate (a jump table), and one comparison confirms it. Keys are a third of
    /// a log line's strings, so this is on the hottest path of the report.
    static func match(_ k: UnsafeRawBufferPointer) -> FieldName? {
        let n = k.count
        guard n > 0, n <= 11 else { return nil }
        var low: UInt64 = 0, high: UInt64 = 0
        if n >= 8 {
            low = k.loadUnaligned(as: UInt64.self)
            for j in 8..<n { high |= UInt64(k[j]) << (8 * (j - 8)) }
        } else {
            for j in 0..<n { low |= UInt64(k[j]) << (8 * j) }
        }
        return match(low: low, high: high)
    }

    /// The same with the words already loaded (bytes past the key's end are zero).
    @inline(__always) static func match(low: UInt64, high: UInt64) -> FieldName? {
        let word: UInt64, expectedHigh: UInt64, candidate: FieldName
        switch (low &* 0x6CCD_6F78_9B6E_AF4B) >> 58 {
        case 2: (word, expectedHigh, candidate) = (0x74736F6E67616964, 0x736369, .diagnostics)
        case 3: (word, expectedHigh, candidate) = (0x5F6567617373656D, 0x6469, .messageID)
        case 5: (word, expectedHigh, candidate) = (0x0000000000646D63, 0x0, .cmd)
        case 6: (word, expectedHigh, candidate) = (0x656E696C65706970, 0x64, .pipelined)
        case 8: (word, expectedHigh, candidate) = (0x0000007374706372, 0x0, .rcpts)
        case 9: (word, expectedHigh, candidate) = (0x0000000000000076, 0x0, .v)
        case 14: (word, expectedHigh, candidate) = (0x6465636E61686E65, 0x0, .enhanced)
        case 15: (word, expectedHigh, candidate) = (0x006E6F6973736573, 0x0, .session)
        case 16: (word, expectedHigh, candidate) = (0x0000000074786574, 0x0, .text)
        case 17: (word, expectedHigh, candidate) = (0x0000000065646F63, 0x0, .code)
        case 20: (word, expectedHigh, candidate) = (0x0000000074706372, 0x0, .rcpt)
        case 21: (word, expectedHigh, candidate) = (0x0000000072656570, 0x0, .peer)
        case 24: (word, expectedHigh, candidate) = (0x0000656372756F73, 0x0, .source)
        case 28: (word, expectedHigh, candidate) = (0x0074706D65747461, 0x0, .attempt)
        case 29: (word, expectedHigh, candidate) = (0x000000000067736D, 0x0, .msg)
        case 31: (word, expectedHigh, candidate) = (0x00000000006E7874, 0x0, .txn)
        case 32: (word, expectedHigh, candidate) = (0x6465727265666564, 0x0, .deferred)
        case 33: (word, expectedHigh, candidate) = (0x000000006D6F7266, 0x0, .from)
        case 37: (word, expectedHigh, candidate) = (0x0000000000007374, 0x0, .ts)
        case 39: (word, expectedHigh, candidate) = (0x0000737574617473, 0x0, .status)
        case 42: (word, expectedHigh, candidate) = (0x74615F7972746572, 0x0, .retryAt)
        case 45: (word, expectedHigh, candidate) = (0x000000006F6C6865, 0x0, .ehlo)
        case 47: (word, expectedHigh, candidate) = (0x006465636E756F62, 0x0, .bounced)
        case 52: (word, expectedHigh, candidate) = (0x0067736D5F72646E, 0x0, .ndrMsg)
        case 53: (word, expectedHigh, candidate) = (0x00000000657A6973, 0x0, .size)
        case 54: (word, expectedHigh, candidate) = (0x000000746E657665, 0x0, .event)
        case 55: (word, expectedHigh, candidate) = (0x00006E6F73616572, 0x0, .reason)
        case 56: (word, expectedHigh, candidate) = (0x0000007865646E69, 0x0, .index)
        case 62: (word, expectedHigh, candidate) = (0x6465747065636361, 0x0, .accepted)
        default: return nil
        }
        return low == word && high == expectedHigh ? candidate : nil
    }
}

/// Which event a line is.
enum EventKind: UInt8 {
    case queued, session, txn, reply, tally, outcome, ndr, retry, hold, release, done

    static func match(_ k: UnsafeRawBufferPointer) -> EventKind? {
        func eq(_ s: StaticString) -> Bool {
            guard k.count == s.utf8CodeUnitCount else { return false }
            for j in 0..<k.count where k[j] != s.utf8Start[j] { return false }
            return true
        }
        switch k.first {
        case 0x71: return eq("queued") ? .queued : nil
        case 0x73: return eq("session") ? .session : nil
        case 0x74: return eq("txn") ? .txn : eq("tally") ? .tally : nil
        case 0x72: return eq("reply") ? .reply : eq("retry") ? .retry : eq("release") ? .release : nil
        case 0x6F: return eq("outcome") ? .outcome : nil
        case 0x6E: return eq("ndr") ? .ndr : nil
        case 0x68: return eq("hold") ? .hold : nil
        case 0x64: return eq("done") ? .done : nil
        default: return nil
        }
    }
}

/// Bits for a set of fields (the masks `RawEvent.problem()` checks).
@inline(__always) func mask(_ a: FieldName, _ b: FieldName? = nil, _ c: FieldName? = nil, _ d: FieldName? = nil, _ e: FieldName? = nil) -> UInt32 {
    var m: UInt32 = 1 << a.rawValue
    if let b { m |= 1 << b.rawValue }
    if let c { m |= 1 << c.rawValue }
    if let d { m |= 1 << d.rawValue }
    if let e { m |= 1 << e.rawValue }
    return m
}

/// One line's fields as places in the line (see ``StringSlice``): nothing is copied until asked for.
/// A field can be absent, null, of an unusable type or value (`bad`), or a value.
struct RawEvent {
    var scanner: JSONScanner
    var kind: EventKind?
    var eventName = StringSlice.none
    var v = 0
    var ts = Timestamp(microseconds: 0)
    var msg = StringSlice.none
    var from = StringSlice.none
    var messageID = StringSlice.none
    var session = StringSlice.none
    var peer = StringSlice.none
    var txn = StringSlice.none
    var cmd = StringSlice.none
    var command = SMTPCommand.mail
    var rcpt = StringSlice.none
    var text = StringSlice.none
    var status = Outcome.Status.delivered
    var statusText = StringSlice.none
    var reason = StringSlice.none
    var ndrMsg = StringSlice.none
    var source = StringSlice.none
    var rcpts = ContainerSlice.none
    var ehlo = ContainerSlice.none
    var diagnostics = ContainerSlice.none
    var size = 0
    var attempt = 0
    var index = 0
    var code = 0
    var accepted = 0
    var deferred = 0
    var bounced = 0
    var enhanced: EnhancedStatus?
    var pipelined = false
    var retryAt: Timestamp?

    /// Bit per FieldName: present (any value, null included).
    var present: UInt32 = 0
    /// Bit per FieldName: present but null.
    var null: UInt32 = 0
    /// Bit per FieldName: present with a JSON type (or value) this version cannot use.
    var bad: UInt32 = 0

    @inline(__always) init(_ scanner: JSONScanner) { self.scanner = scanner }

    func has(_ f: FieldName) -> Bool { present & (1 << f.rawValue) != 0 }
    func isNull(_ f: FieldName) -> Bool { null & (1 << f.rawValue) != 0 }
    func isBad(_ f: FieldName) -> Bool { bad & (1 << f.rawValue) != 0 }
    /// Present with a usable value (not null, not bad).
    func hasValue(_ f: FieldName) -> Bool { (present & ~null & ~bad) & (1 << f.rawValue) != 0 }

    func string(_ s: StringSlice) -> String { scanner.string(s) }
    func optionalString(_ f: FieldName, _ s: StringSlice) -> String? { hasValue(f) ? scanner.string(s) : nil }

    func strings(_ c: ContainerSlice) -> [String] {
        var out: [String] = []
        out.reserveCapacity(Int(c.count))
        scanner.forEachString(in: c) { out.append(scanner.string($0)) }
        return out
    }

    mutating func read() throws(JSONScanner.Failure) {
        guard scanner.peek() == 0x7B else { throw scanner.fail("line is not a JSON object") }
        scanner.i += 1
        if scanner.peek() == 0x7D {
            scanner.i += 1
        } else {
            var expected: FieldName? = .v
            while true {
                let name: FieldName?
                var colonTaken = false
                if let e = expected, scanner.takeKey(e.literal) {
                    // The key the writer puts here, matched as bytes with its closing `":`.
                    name = e
                    colonTaken = true
                } else if let raw = try scanner.rawString() {
                    let n = raw.count
                    if n > 0, n < 8, raw.baseAddress! + 8 <= scanner.base + scanner.end {
                        // Load the key's word in one go; the bytes after it are masked off.
                        let low = raw.baseAddress!.loadUnaligned(as: UInt64.self) & (UInt64.max >> (64 - 8 * n))
                        name = FieldName.match(low: low, high: 0)
                    } else {
                        name = FieldName.match(raw)
                    }
                } else {
                    var key = try scanner.string()
                    name = key.withUTF8 { FieldName.match(UnsafeRawBufferPointer($0)) }
                }
                if !colonTaken { try scanner.expect(0x3A, "':' after a key") }
                if let name { try readValue(name) } else { try scanner.skipValue(depth: 1) }
                expected = name?.next(in: kind)
                guard let n = scanner.peek() else { throw scanner.fail("line ends inside the object (truncated?)") }
                scanner.i += 1
                if n == 0x7D { break }
                guard n == 0x2C else { scanner.i -= 1; throw scanner.fail("expected ',' or '}'") }
            }
        }
        if scanner.peek() != nil { throw scanner.fail("text after the JSON object") }
    }

    @inline(__always) private mutating func str() throws(JSONScanner.Failure) -> StringSlice? {
        if scanner.peek() == 0x22 { return try scanner.stringSliceAtQuote() }
        try scanner.skipValue(depth: 1)
        return nil
    }

    private mutating func int() throws(JSONScanner.Failure) -> Int? {
        if let c = scanner.peek(), c == 0x2D || (c >= 0x30 && c <= 0x39) { return try scanner.number() }
        try scanner.skipValue(depth: 1)
        return nil
    }

    private mutating func count() throws(JSONScanner.Failure) -> Int? {
        guard let n = try int(), n >= 0 else { return nil }
        return n
    }

    private mutating func readValue(_ f: FieldName) throws(JSONScanner.Failure) {
        let bit: UInt32 = 1 << f.rawValue
        present |= bit
        if try scanner.takeNull() { null |= bit; return }
        var ok = true
        switch f {
        case .v: if let n = try int() { v = n } else { ok = false }
        case .ts:
            // The writer's form is exactly 27 bytes between quotes; its parser checks every byte,
            // so no quote, backslash or control byte can hide inside and the string scan is skipped.
            let i = scanner.i
            if i + 29 <= scanner.end, scanner.base[i] == 0x22, scanner.base[i + 28] == 0x22,
               let t = Timestamp.parseCanonical(UnsafeRawBufferPointer(start: scanner.base + i + 1, count: 27)) {
                ts = t
                scanner.i = i + 29
            } else if let s = try str() {
                if !s.escaped, let t = Timestamp.parse(scanner.bytes(s)) { ts = t } else { ok = false }
            } else { ok = false }
        case .event:
            if let s = try str() {
                eventName = s
                if s.escaped {
                    var name = scanner.string(s)
                    kind = name.withUTF8 { EventKind.match(UnsafeRawBufferPointer($0)) }
                } else {
                    kind = EventKind.match(scanner.bytes(s))
                }
            } else { ok = false }
        case .msg: if let s = try str() { msg = s } else { ok = false }
        case .from: if let s = try str() { from = s } else { ok = false }
        case .rcpts: if let c = try scanner.stringArraySlice() { rcpts = c } else { ok = false }
        case .size: if let n = try count() { size = n } else { ok = false }
        case .messageID: if let s = try str() { messageID = s } else { ok = false }
        case .session: if let s = try str() { session = s } else { ok = false }
        case .peer: if let s = try str() { peer = s } else { ok = false }
        case .ehlo: if let c = try scanner.stringArraySlice() { ehlo = c } else { ok = false }
        case .txn: if let s = try str() { txn = s } else { ok = false }
        case .attempt: if let n = try int() { attempt = n } else { ok = false }
        case .pipelined:
            if let b = try scanner.bool() { pipelined = b } else { try scanner.skipValue(depth: 1); ok = false }
        case .cmd:
            if let s = try str() {
                cmd = s
                command = SMTPCommand.match(s.escaped ? nil : scanner.bytes(s)) ?? .other(scanner.string(s))
            } else { ok = false }
        case .index: if let n = try count() { index = n } else { ok = false }
        case .rcpt: if let s = try str() { rcpt = s } else { ok = false }
        case .code:
            if let n = try int(), (100...999).contains(n) { code = n } else { ok = false }
        case .enhanced:
            // An enhanced code we cannot parse is treated as absent: the basic code still stands.
            if let s = try str() {
                enhanced = s.escaped ? EnhancedStatus(scanner.string(s)) : EnhancedStatus.parse(scanner.bytes(s))
            } else { ok = false }
        case .text: if let s = try str() { text = s } else { ok = false }
        case .accepted: if let n = try count() { accepted = n } else { ok = false }
        case .deferred: if let n = try count() { deferred = n } else { ok = false }
        case .bounced: if let n = try count() { bounced = n } else { ok = false }
        case .status:
            if let s = try str() {
                statusText = s
                if let st = s.escaped ? Outcome.Status(rawValue: scanner.string(s)) : Outcome.Status.match(scanner.bytes(s)) {
                    status = st
                } else { ok = false }
            } else { ok = false }
        case .reason: if let s = try str() { reason = s } else { ok = false }
        case .retryAt:
            if let s = try str(), let t = Timestamp(rfc3339: scanner.string(s)) { retryAt = t } else { ok = false }
        case .ndrMsg: if let s = try str() { ndrMsg = s } else { ok = false }
        case .diagnostics: if let c = try scanner.stringObjectSlice() { diagnostics = c } else { ok = false }
        case .source: if let s = try str() { source = s } else { ok = false }
        }
        if !ok { bad |= bit }
    }

    /// Why the line is not a usable v1 event, or nil. Unknown events only need the envelope.
    /// (Mutating only so that calling it on the caller's inout value does not copy the struct.)
    /// What the event read comes to once every field is set, by a line's reader or by
    /// ``RawEventWriter``: malformed, an event this reader does not know, or an event.
    mutating func verdict() -> LogDecoder.Scanned {
        if let problem = problem() { return .malformed(problem) }
        if kind == nil { return .unknownEvent(scanner.string(eventName)) }
        return .event
    }

    mutating func problem() -> String? {
        guard has(.v), !isNull(.v) else { return "no \"v\" field" }
        guard !isBad(.v) else { return "\"v\" is not a number" }
        guard v == 1 else { return "log version \(v) is not supported (this reader knows v1)" }
        guard hasValue(.event) else { return "no \"event\" name" }
        guard hasValue(.ts) else { return has(.ts) ? "\"ts\" is not an RFC 3339 time" : "no \"ts\" field" }
        guard let kind else { return nil }
        var required: UInt32 = kind == .session ? 0 : mask(.msg)
        var optional: UInt32 = 0
        switch kind {
        case .queued: required |= mask(.from, .rcpts, .size); optional = mask(.messageID)
        case .session: required |= mask(.session, .peer, .ehlo)
        case .txn: required |= mask(.txn, .session, .attempt, .pipelined, .rcpts)
        case .reply:
            required |= mask(.cmd, .txn, .code)
            if command == .rcpt { required |= mask(.index, .rcpt) }
            optional = mask(.text)
        case .tally: required |= mask(.txn, .accepted, .deferred, .bounced)
        case .outcome:
            if has(.status) && !isNull(.status) && isBad(.status) && statusText != .none {
                return "outcome status \"\(string(statusText))\" is not delivered, deferred, bounced or expired"
            }
            required |= mask(.status, .rcpt); optional = mask(.txn, .reason, .retryAt, .code, .peer) | mask(.cmd, .text)
        case .ndr: required |= mask(.rcpts); optional = mask(.ndrMsg, .diagnostics)
        case .retry: optional = mask(.rcpts, .source)
        case .hold, .release, .done: break
        }
        let usable = present & ~null & ~bad
        let missingFields = required & ~usable
        if missingFields != 0 { return missing(FieldName(rawValue: missingFields.trailingZeroBitCount)!) }
        let wrong = optional & bad & ~null
        if wrong != 0 { return missing(FieldName(rawValue: wrong.trailingZeroBitCount)!) }
        return nil
    }

    /// Why a required field is unusable. (A method, not a closure in ``problem()``: a closure
    /// capturing this few-hundred-byte struct would copy it for every line.)
    private func missing(_ f: FieldName) -> String {
        let name = string(eventName)
        return has(f) && !isNull(f)
            ? "\(name) event: \"\(f.key)\" has the wrong type or value"
            : "\(name) event without \"\(f.key)\""
    }

    /// The typed event. Call only when ``problem()`` is nil and `kind` is known.
    func event() -> DeliveryEvent {
        let body: DeliveryEvent.Body
        switch kind! {
        case .queued:
            body = .queued(Queued(from: string(from), rcpts: strings(rcpts), size: size,
                                  messageID: optionalString(.messageID, messageID)))
        case .session:
            body = .session(Session(session: string(session), peer: string(peer), ehlo: strings(ehlo)))
        case .txn:
            body = .txn(Transaction(txn: string(txn), session: string(session), attempt: attempt,
                                    pipelined: pipelined, rcpts: strings(rcpts)))
        case .reply:
            body = .reply(ReplyRecord(txn: string(txn), command: command,
                                      index: command == .rcpt ? index : nil,
                                      rcpt: command == .rcpt ? string(rcpt) : nil,
                                      reply: SMTPReply(code: code, enhanced: enhanced, text: optionalString(.text, text) ?? "")))
        case .tally:
            body = .tally(Tally(txn: string(txn), accepted: accepted, deferred: deferred, bounced: bounced))
        case .outcome:
            // The reply an MTA logged with its decision (see ``Outcome/reply``), when there is a code.
            let reply = hasValue(.code) ? SMTPReply(code: code, enhanced: enhanced, text: optionalString(.text, text) ?? "") : nil
            body = .outcome(Outcome(rcpt: string(rcpt), status: status, txn: optionalString(.txn, txn),
                                    reason: optionalString(.reason, reason) ?? "", retryAt: hasValue(.retryAt) ? retryAt : nil,
                                    reply: reply, command: reply != nil && hasValue(.cmd) ? command : nil,
                                    peer: optionalString(.peer, peer)))
        case .ndr:
            var diags: [String: String]? = nil
            if hasValue(.diagnostics) {
                var d: [String: String] = [:]
                scanner.forEachPair(in: diagnostics) { k, v in d[scanner.string(k)] = scanner.string(v) }
                diags = d
            }
            body = .ndr(NDR(ndrMsg: optionalString(.ndrMsg, ndrMsg), rcpts: strings(rcpts), diagnostics: diags))
        case .retry:
            body = .retry(Retry(rcpts: hasValue(.rcpts) ? strings(rcpts) : nil,
                                source: optionalString(.source, source) ?? "schedule"))
        case .hold: body = .hold
        case .release: body = .release
        case .done: body = .done
        }
        return DeliveryEvent(ts: ts, msg: kind == .session ? nil : string(msg), body)
    }
}

extension Outcome.Status {
    /// The status named by a log's `status` bytes, without building a String.
    static func match(_ b: UnsafeRawBufferPointer) -> Outcome.Status? {
        for status in Outcome.Status.allCases {
            var name = status.rawValue
            let equal = name.withUTF8 { n in n.count == b.count && equalBytes(n.baseAddress!, b.baseAddress!, b.count) }
            if equal { return status }
        }
        return nil
    }
}

extension SMTPCommand {
    /// The command named by a log's `cmd` bytes; nil when it is not one of the six.
    static func match(_ b: UnsafeRawBufferPointer?) -> SMTPCommand? {
        guard let b, b.count == 4 || b.count == 3 else { return nil }
        let w = b.count == 4 ? UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
                             : UInt32(b[0]) << 16 | UInt32(b[1]) << 8 | UInt32(b[2])
        switch (b.count, w) {
        case (4, 0x4D41_494C): return .mail   // MAIL
        case (4, 0x5243_5054): return .rcpt   // RCPT
        case (4, 0x4441_5441): return .data   // DATA
        case (3, 0x00_444F54): return .dot    // DOT
        case (4, 0x5253_4554): return .rset   // RSET
        case (4, 0x5155_4954): return .quit   // QUIT
        default: return nil
        }
    }
}
