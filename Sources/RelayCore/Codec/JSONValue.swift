/// A whole JSON value, for the small documents other programs hand the monitor one per line: a
/// `postqueue -j` message, a `journalctl -o json` record. Built on the log's own byte scanner, so
/// it accepts exactly RFC 8259 and says where a line went wrong; the delivery log itself is read
/// without building values (see ``LogDecoder``).
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    /// A number with a fraction or exponent, or too large for an Int: kept as its text.
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var offset: Int
        public var description: String { "\(reason) at byte \(offset + 1)" }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> JSONValue {
        var sc = JSONScanner(bytes)
        do throws(JSONScanner.Failure) {
            let v = try value(&sc, depth: 0)
            if sc.peek() != nil { throw sc.fail("text after the JSON value") }
            return v
        } catch {
            throw ParseError(reason: error.reason, offset: error.offset)
        }
    }

    public static func parse(_ text: String) throws(ParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { p -> Result<JSONValue, ParseError> in
            do throws(ParseError) { return .success(try parse(UnsafeRawBufferPointer(p))) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func value(_ sc: inout JSONScanner, depth: Int) throws(JSONScanner.Failure) -> JSONValue {
        guard depth < JSONScanner.maxDepth else { throw sc.fail("nested too deeply") }
        guard let c = sc.peek() else { throw sc.fail("input ends where a value was expected") }
        switch c {
        case 0x22: return .string(try sc.string())
        case 0x7B:
            sc.i += 1
            var out: [String: JSONValue] = [:]
            if sc.peek() == 0x7D { sc.i += 1; return .object(out) }
            while true {
                let key = try sc.string()
                try sc.expect(0x3A, "':'")
                out[key] = try value(&sc, depth: depth + 1)
                guard let n = sc.peek() else { throw sc.fail("input ends inside an object") }
                sc.i += 1
                if n == 0x7D { return .object(out) }
                guard n == 0x2C else { sc.i -= 1; throw sc.fail("expected ',' or '}'") }
            }
        case 0x5B:
            sc.i += 1
            var out: [JSONValue] = []
            if sc.peek() == 0x5D { sc.i += 1; return .array(out) }
            while true {
                out.append(try value(&sc, depth: depth + 1))
                guard let n = sc.peek() else { throw sc.fail("input ends inside an array") }
                sc.i += 1
                if n == 0x5D { return .array(out) }
                guard n == 0x2C else { sc.i -= 1; throw sc.fail("expected ',' or ']'") }
            }
        case 0x74: try sc.literal("true"); return .bool(true)
        case 0x66: try sc.literal("false"); return .bool(false)
        case 0x6E: try sc.literal("null"); return .null
        default:
            let start = sc.i
            if let n = try sc.number() { return .int(n) }
            return .number(String(decoding: UnsafeRawBufferPointer(start: sc.base + start, count: sc.i - start), as: UTF8.self))
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var int: Int? { if case .int(let n) = self { return n }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var object: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
}
