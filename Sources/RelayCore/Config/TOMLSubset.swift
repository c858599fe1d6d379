/// The part of TOML that theme files and mailrelayd's configuration use, read by hand: `key = value`
/// lines, `[table]` headers, inline tables, one-line arrays, basic and literal strings, integers,
/// booleans and comments.
///
/// Why not TOMLKit: its toml++ core asserts (aborting the process) on some malformed input, e.g. a
/// header typed as `[[[roles`, in debug builds, and assumes the same in release. A theme or a relay
/// configuration is a user's file; a typo in it must give an error naming the line, not kill the
/// monitor or the relay. Anything outside this subset (arrays of tables, dates, floats, multi-line
/// strings) is such an error.
public enum TOMLSubset {
    public indirect enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case array([Value])
        case table([(String, Value)])

        public static func == (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case (.string(let x), .string(let y)): x == y
            case (.integer(let x), .integer(let y)): x == y
            case (.boolean(let x), .boolean(let y)): x == y
            case (.array(let x), .array(let y)): x == y
            case (.table(let x), .table(let y)): x.map(\.0) == y.map(\.0) && zip(x, y).allSatisfy { $0.1 == $1.1 }
            default: false
            }
        }

        public var string: String? { if case .string(let s) = self { s } else { nil } }
        public var integer: Int? { if case .integer(let n) = self { n } else { nil } }
        public var boolean: Bool? { if case .boolean(let b) = self { b } else { nil } }
        public var array: [Value]? { if case .array(let a) = self { a } else { nil } }
        public var table: [(String, Value)]? { if case .table(let t) = self { t } else { nil } }

        /// How the value looked, for warnings.
        public var shown: String {
            switch self {
            case .string(let s): "\"\(s)\""
            case .integer(let n): String(n)
            case .boolean(let b): String(b)
            case .array(let a): "[" + a.map(\.shown).joined(separator: ", ") + "]"
            case .table: "{...}"
            }
        }

        /// The TOML type's name, for "expected a string, found an integer" messages.
        public var typeName: String {
            switch self {
            case .string: "a string"
            case .integer: "an integer"
            case .boolean: "a boolean"
            case .array: "an array"
            case .table: "a table"
            }
        }
    }

    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String

        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }

        public var description: String { "line \(line): \(message)" }
    }

    /// The document as (key, value) pairs in file order; `[name]` sections become table values.
    public static func parse(_ text: String) throws(ParseError) -> [(String, Value)] {
        var root: [(String, Value)] = []
        var section: String? = nil
        var sectionItems: [(String, Value)] = []
        func closeSection() {
            if let section { root.append((section, .table(sectionItems))) }
            sectionItems = []
        }
        // Split on the byte: "\r\n" is one Character in Swift, so a Character split would not see it.
        for (n, rawLine) in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var p = Reader(Array(rawLine), line: n + 1)
            p.skipSpace()
            if p.atEndOfLine { continue }
            if p.peek == UInt8(ascii: "[") {
                p.i += 1
                if p.peek == UInt8(ascii: "[") { throw p.error("arrays of tables ([[...]]) are not supported") }
                p.skipSpace()
                let name = try p.key()
                p.skipSpace()
                guard p.peek == UInt8(ascii: "]") else { throw p.error("expected ] to close the table name") }
                p.i += 1
                p.skipSpace()
                guard p.atEndOfLine else { throw p.error("unexpected text after [\(name)]") }
                closeSection()
                section = name
                continue
            }
            let key = try p.key()
            p.skipSpace()
            guard p.peek == UInt8(ascii: "=") else { throw p.error("expected = after \(key)") }
            p.i += 1
            p.skipSpace()
            let value = try p.value()
            p.skipSpace()
            guard p.atEndOfLine else { throw p.error("unexpected text after the value of \(key)") }
            if section == nil { root.append((key, value)) } else { sectionItems.append((key, value)) }
        }
        closeSection()
        return root
    }

    struct Reader {
        let b: [UInt8]
        let line: Int
        var i = 0

        init(_ b: [UInt8], line: Int) {
            self.b = b.last == 0x0D ? Array(b.dropLast()) : b
            self.line = line
        }

        var peek: UInt8? { i < b.count ? b[i] : nil }
        var atEndOfLine: Bool { peek == nil || peek == UInt8(ascii: "#") }

        func error(_ message: String) -> ParseError { ParseError(line: line, message: message) }

        mutating func skipSpace() { while let c = peek, c == 0x20 || c == 0x09 { i += 1 } }

        mutating func key() throws(ParseError) -> String {
            if peek == UInt8(ascii: "\"") { return try basicString() }
            if peek == UInt8(ascii: "'") { return try literalString() }
            let start = i
            while let c = peek, c.isBareKeyCharacter || c == UInt8(ascii: ".") { i += 1 }
            guard i > start else { throw error("expected a key") }
            return String(decoding: b[start..<i], as: UTF8.self)
        }

        mutating func value() throws(ParseError) -> Value {
            guard let c = peek else { throw error("expected a value") }
            switch c {
            case UInt8(ascii: "\""): return .string(try basicString())
            case UInt8(ascii: "'"): return .string(try literalString())
            case UInt8(ascii: "{"): return try inlineTable()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                let start = i
                while let c = peek, c.isBareKeyCharacter { i += 1 }
                switch String(decoding: b[start..<i], as: UTF8.self) {
                case "true": return .boolean(true)
                case "false": return .boolean(false)
                default: throw error("expected true, false, a number, a string, [ ... ] or { ... }")
                }
            default:
                let start = i
                if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { i += 1 }
                while let c = peek, (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") { i += 1 }
                let digits = String(decoding: b[start..<i], as: UTF8.self).replacingUnderscores()
                guard let n = Int(digits) else { throw error("expected true, false, a number, a string, [ ... ] or { ... }") }
                if let c = peek, c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                    throw error("decimal numbers are not supported")
                }
                return .integer(n)
            }
        }

        mutating func inlineTable() throws(ParseError) -> Value {
            i += 1
            var items: [(String, Value)] = []
            skipSpace()
            if peek == UInt8(ascii: "}") { i += 1; return .table(items) }
            while true {
                skipSpace()
                let k = try key()
                skipSpace()
                guard peek == UInt8(ascii: "=") else { throw error("expected = after \(k)") }
                i += 1
                skipSpace()
                if items.contains(where: { $0.0 == k }) { throw error("\(k) is given twice") }
                items.append((k, try value()))
                skipSpace()
                guard let c = peek else { throw error("an inline table must close with } on the same line") }
                i += 1
                if c == UInt8(ascii: "}") { return .table(items) }
                guard c == UInt8(ascii: ",") else { throw error("expected , or } in the inline table") }
            }
        }

        /// A one-line array: `["a", "b"]`, `[60, 300]`. Elements of mixed types are allowed, as in
        /// TOML 1.0; the reader of a key checks what it needs.
        mutating func array() throws(ParseError) -> Value {
            i += 1
            var items: [Value] = []
            while true {
                skipSpace()
                if peek == UInt8(ascii: "]") { i += 1; return .array(items) }
                items.append(try value())
                skipSpace()
                guard let c = peek else { throw error("an array must close with ] on the same line") }
                if c == UInt8(ascii: ",") { i += 1; continue }
                guard c == UInt8(ascii: "]") else { throw error("expected , or ] in the array") }
            }
        }

        mutating func literalString() throws(ParseError) -> String {
            i += 1
            let start = i
            while let c = peek, c != UInt8(ascii: "'") { i += 1 }
            guard peek != nil else { throw error("unterminated string") }
            defer { i += 1 }
            return String(decoding: b[start..<i], as: UTF8.self)
        }

        mutating func basicString() throws(ParseError) -> String {
            i += 1
            var out: [UInt8] = []
            while let c = peek {
                i += 1
                switch c {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let e = peek else { throw error("unterminated string") }
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(v)
                        else { throw error("bad \\u escape") }
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                        i += 4
                    default: throw error("unknown escape \\\(Character(Unicode.Scalar(e)))")
                    }
                default: out.append(c)
                }
            }
            throw error("unterminated string")
        }
    }
}

private extension UInt8 {
    var isBareKeyCharacter: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A)
            || self == UInt8(ascii: "_") || self == UInt8(ascii: "-")
    }
}

private extension String {
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}
