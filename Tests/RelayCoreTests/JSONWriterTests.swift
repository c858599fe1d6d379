import Testing
@testable import RelayCore

@Suite struct JSONWriterTests {
    /// The writer copies a string's plain start 16 bytes at a time and looks at the rest byte by
    /// byte: every character that must be escaped, at every place around the 16-byte steps, comes
    /// out the same as the rule written out one character at a time.
    @Test func everyEscapeAtEveryPlace() {
        let specials: [String] = ["\"", "\\", "\n", "\r", "\t", "\u{01}", "\u{1F}", "\u{7F}", "\u{85}", "\u{9B}",
                                  "é", "\u{A0}", "📧", "~", " "]
        for length in 0..<40 {
            for place in 0...length {
                for special in specials {
                    var s = String(repeating: "a", count: length)
                    s.insert(contentsOf: special, at: s.index(s.startIndex, offsetBy: place))
                    var w = JSONWriter()
                    w.string(s)
                    #expect(String(decoding: w.out, as: UTF8.self) == Self.byTheRule(s), "\(special.unicodeScalars.map(\.value)) at \(place) of \(length)")
                }
            }
        }
    }

    /// A line written is read back as the same string, whatever it holds.
    @Test func stringsComeBackAsWritten() {
        for s in ["", "plain@example.test", "a\"b\\c\u{7F}\u{85}d", String(repeating: "x", count: 33) + "\u{1B}[31m", "中@例.test"] {
            let e = DeliveryEvent(ts: Timestamp(microseconds: 0), msg: s, .done)
            guard case .event(let back) = LogDecoder.decode(String(LogEncoder.line(e).dropLast())) else {
                Issue.record("not read back: \(s.debugDescription)")
                continue
            }
            #expect(back.msg == s)
        }
    }

    /// JSON's rule with this log's additions (DEL and the C1 controls escaped), one scalar at a time.
    static func byTheRule(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7F...0x9F:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
