/// An RFC 3463 enhanced status code, `class.subject.detail` (e.g. `5.5.3`).
public struct EnhancedStatus: Hashable, Sendable, CustomStringConvertible {
    public var klass: UInt8
    public var subject: UInt16
    public var detail: UInt16

    public init(klass: UInt8, subject: UInt16, detail: UInt16) {
        self.klass = klass
        self.subject = subject
        self.detail = detail
    }

    /// Parses `c.s.d`, where c is 2, 4 or 5 and s and d are 1 to 3 digits (RFC 3463 §2).
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        guard let e = text.withUTF8({ EnhancedStatus.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = e
    }

    /// The same from bytes: the log reader calls this for every reply, so no String is built.
    static func parse(_ b: UnsafeRawBufferPointer) -> EnhancedStatus? {
        // `2.1.5`, the form nearly every reply has, without the loop (the same answer).
        if b.count == 5, b[1] == 0x2E, b[3] == 0x2E, b[0] == 0x32 || b[0] == 0x34 || b[0] == 0x35,
           b[2] &- 0x30 < 10, b[4] &- 0x30 < 10 {
            return EnhancedStatus(klass: b[0] - 0x30, subject: UInt16(b[2] - 0x30), detail: UInt16(b[4] - 0x30))
        }
        var parts: (UInt16, UInt16, UInt16) = (0, 0, 0)
        var part = 0, digits = 0
        for c in b {
            if c == 0x2E {
                guard digits > 0, part < 2 else { return nil }
                part += 1
                digits = 0
                continue
            }
            guard c >= 0x30, c <= 0x39, digits < 3 else { return nil }
            let v = UInt16(c - 0x30)
            switch part {
            case 0: parts.0 = parts.0 * 10 + v
            case 1: parts.1 = parts.1 * 10 + v
            default: parts.2 = parts.2 * 10 + v
            }
            digits += 1
        }
        guard part == 2, digits > 0, parts.0 == 2 || parts.0 == 4 || parts.0 == 5 else { return nil }
        return EnhancedStatus(klass: UInt8(parts.0), subject: parts.1, detail: parts.2)
    }

    public var description: String { "\(klass).\(subject).\(detail)" }

    /// Same subject and detail, whatever the class: `x.5.3` matches 4.5.3 and 5.5.3.
    public func isSubjectDetail(_ subject: UInt16, _ detail: UInt16) -> Bool {
        self.subject == subject && self.detail == detail
    }
}

/// One SMTP reply as the relay logged it: the basic code, the enhanced code when the server sent
/// one, and the text after them (one reply even when it came as several lines).
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    public var enhanced: EnhancedStatus?
    public var text: String

    public init(code: Int, enhanced: EnhancedStatus? = nil, text: String = "") {
        self.code = code
        self.enhanced = enhanced
        self.text = text
    }

    /// The reply's class by its first digit (RFC 5321 §4.2.1).
    public var replyClass: ReplyClass { ReplyClass(code: code) }

    /// "552 5.5.3": the code and the enhanced code, no text.
    public var codeLabel: String { "\(code)\(enhanced.map { " \($0)" } ?? "")" }

    /// "552 5.5.3 Too many recipients", the way an admin reads it in a log.
    public var description: String {
        var s = String(code)
        if let enhanced { s += " \(enhanced)" }
        if !text.isEmpty { s += " \(text)" }
        return s
    }

    /// Parses "552 5.5.3 text" (and "552-5.5.3 text", "552 text"), as quoted in a DSN's
    /// Diagnostic-Code after "smtp;". Works on the UTF-8 bytes: Character-by-Character parsing
    /// costs thousands of instructions per reply.
    public init?(parsing line: some StringProtocol) {
        guard let r = Array(line.utf8).withUnsafeBytes({ SMTPReply(parsing: $0) }) else { return nil }
        self = r
    }

    /// The same from a line's bytes, as ``init(parsing:)-(StringProtocol)`` reads their String
    /// (`String(decoding:as:)`: bytes that are not UTF-8 are repaired, and only the text can hold
    /// them). The adapters read replies quoted in log lines this way, with no String of the line
    /// and no copy of its bytes.
    public init?(parsing bytes: UnsafeRawBufferPointer) {
        var k = 0
        while k < bytes.count, bytes[k] == 0x20 || bytes[k] == 0x09 { k += 1 }
        guard k + 3 <= bytes.count, bytes[k..<k + 3].allSatisfy({ $0 &- 0x30 < 10 }) else { return nil }
        let code = Int(bytes[k] - 0x30) * 100 + Int(bytes[k + 1] - 0x30) * 10 + Int(bytes[k + 2] - 0x30)
        guard (200...599).contains(code) else { return nil }
        k += 3
        if k < bytes.count, bytes[k] == 0x20 || bytes[k] == 0x2D { k += 1 }
        while k < bytes.count, bytes[k] == 0x20 { k += 1 }
        var enhanced: EnhancedStatus?
        var wordEnd = k
        while wordEnd < bytes.count, bytes[wordEnd] != 0x20 { wordEnd += 1 }
        if wordEnd > k, let e = EnhancedStatus.parse(UnsafeRawBufferPointer(rebasing: bytes[k..<wordEnd])) {
            enhanced = e
            k = wordEnd
            while k < bytes.count, bytes[k] == 0x20 { k += 1 }
        }
        self.init(code: code, enhanced: enhanced, text: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[k...]), as: UTF8.self))
    }

    /// True when two replies say the same thing: same codes and the same text, ignoring case and
    /// runs of white space (MTAs re-wrap and re-case text when they quote it).
    public func sameReply(as other: SMTPReply) -> Bool {
        code == other.code && enhanced == other.enhanced && SMTPReply.sameText(text, other.text)
    }

    /// Text equality ignoring ASCII case, leading and trailing space, and the length of runs of
    /// white space. Byte by byte, no allocation: the analyser compares many quoted replies.
    static func sameText(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { pa in b.withUTF8 { pb in sameText(UnsafeRawBufferPointer(pa), UnsafeRawBufferPointer(pb)) } }
    }

    /// ``sameText(_:_:)`` on the texts' bytes (indexing them, not a String iterator per byte).
    static func sameText(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        // The same bytes are the same text, and most texts compared are.
        if a.count == b.count, a.count == 0 || equalBytes(a.baseAddress!, b.baseAddress!, a.count) { return true }
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }
        // Next significant byte from i, with a run of white space before it reported as one
        // space (none before the first).
        @inline(__always) func next(_ t: UnsafeRawBufferPointer, _ i: inout Int, _ started: inout Bool) -> (UInt8?, Bool) {
            var sawSpace = false
            while i < t.count {
                let c = t[i]
                i += 1
                if isSpace(c) { sawSpace = true; continue }
                defer { started = true }
                return (lower(c), sawSpace && started)
            }
            return (nil, false)
        }
        var i = 0, j = 0, sa = false, sb = false
        while true {
            let (x, xs) = next(a, &i, &sa), (y, ys) = next(b, &j, &sb)
            if x != y || (x != nil && xs != ys) { return false }
            if x == nil { return true }
        }
    }
}

/// The first digit of a reply code.
public enum ReplyClass: Sendable, Hashable {
    case positive       // 2yz
    case intermediate   // 3yz
    case transient      // 4yz
    case permanent      // 5yz
    case invalid

    public init(code: Int) {
        switch code / 100 {
        case 2: self = .positive
        case 3: self = .intermediate
        case 4: self = .transient
        case 5: self = .permanent
        default: self = .invalid
        }
    }
}

/// The commands whose replies the delivery log records.
public enum SMTPCommand: Hashable, Sendable, CustomStringConvertible {
    case mail, rcpt, data, dot, rset, quit
    /// A command a newer relay logs that this reader does not know; kept, never interpreted.
    case other(String)

    public init(_ name: String) {
        switch name {
        case "MAIL": self = .mail
        case "RCPT": self = .rcpt
        case "DATA": self = .data
        case "DOT": self = .dot
        case "RSET": self = .rset
        case "QUIT": self = .quit
        default: self = .other(name)
        }
    }

    public var description: String {
        switch self {
        case .mail: "MAIL"
        case .rcpt: "RCPT"
        case .data: "DATA"
        case .dot: "DOT"
        case .rset: "RSET"
        case .quit: "QUIT"
        case .other(let s): s
        }
    }
}
