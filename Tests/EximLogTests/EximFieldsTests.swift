@testable import EximLog
import RelayCore
import RelayScenarios
import Testing

/// An Exim line's fields are split at spaces, a quoted value (`T="a subject"`, with `\"` inside)
/// kept whole. The splitter jumps from space to quote eight bytes at a time; it must split as the
/// rule does, written out here byte by byte, on every line of a generated log and on odd cases.
@Suite struct EximFieldsTests {
    static func rule(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        while i < b.count {
            while i < b.count, b[i] == 0x20 { i += 1 }
            guard i < b.count else { break }
            let start = i
            var quoted = false
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") { quoted.toggle() } else if c == UInt8(ascii: "\\"), quoted { i += 1 } else if c == 0x20, !quoted { break }
                i += 1
            }
            out.append(start..<min(i, b.count))
        }
        return out
    }

    @Test func fieldsSplitAsTheRuleSays() {
        var generator = EximLogGenerator(seed: 23)
        var lines = generator.text(lines: 5_000).split(separator: "\n").map { Array($0.utf8) }
        let odd = [
            "a T=\"two words\" b", "T=\"esc \\\" aped\" x", "\"open to the end", "x  y   z ", "   ", "",
            "S=1 T=\"\" id=2", "q=\"a\"b\"c d\" e", "back\\slash \"in \\\\ quotes\" end", "T=\"x\\", "\"\"\"",
            "T=\"a long subject with many words in it\" and=\"another one here\" end",
        ].map { Array($0.utf8) }
        lines += odd
        // Each odd case also cut at every length, so quotes and escapes fall on every place
        // around the eight-byte steps.
        for o in odd { for k in 0..<o.count { lines.append(Array(o[..<k])) } }
        var quoted = 0
        for line in lines {
            let got = line.withUnsafeBytes { EximAdapter.fields($0, 0..<line.count) }
            #expect(got == Self.rule(line), "\(String(decoding: line, as: UTF8.self))")
            if line.contains(UInt8(ascii: "\"")) { quoted += 1 }
        }
        #expect(quoted > 1_000, "\(quoted) lines with quotes")
    }

    /// An arrival's `id=` becomes `<id>` in one decoding, as "<" + its String + ">" would read.
    @Test func aMessageIDIsAngledAsItsStringWouldBe() {
        let ids: [[UInt8]] = [[], Array("1583189150@example.org".utf8), Array("ünï@x".utf8), [0xFF], [0x61, 0xC3], [0xE2, 0x82], [0x80, 0x3E, 0x3C]]
        for id in ids {
            let line = Array("id=".utf8) + id
            let got = line.withUnsafeBytes { EximAdapter.angled($0, 3..<line.count) }
            #expect(got == "<" + String(decoding: id, as: UTF8.self) + ">", "\(id)")
            #expect(Array(got.utf8) == Array(("<" + String(decoding: id, as: UTF8.self) + ">").utf8), "\(id)")
        }
    }

    /// A message id's runs are checked for letters and digits eight bytes at a time: against a
    /// test per byte, every byte value at every place of runs of 0 to 16 bytes, each placed so
    /// the line ends at every distance after it (where eight bytes cannot be loaded).
    @Test func alphanumericRunsAsByteByByte() {
        func plain(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) }
        var checked = 0
        for length in 0...16 {
            for tail in [0, 1, 3, 7, 8, 12] {
                for place in 0..<max(length, 1) {
                    for value in 0...255 {
                        var bytes = [UInt8](repeating: 0x61, count: 2 + length + tail)
                        if length > 0 { bytes[2 + place] = UInt8(value) }
                        // Bytes around the run that would fail it, to show they are not looked at.
                        bytes[0] = 0x80
                        bytes[1] = 0x2D
                        if tail > 0 { bytes[2 + length] = 0xFF }
                        let expected = bytes[2..<(2 + length)].allSatisfy(plain)
                        let got = bytes.withUnsafeBytes { EximLine.alphanumeric($0, 2, 2 + length) }
                        #expect(got == expected, "length \(length) tail \(tail) place \(place) byte \(value)")
                        checked += 1
                        if length == 0 { break }
                    }
                }
            }
        }
        #expect(checked > 200_000)
    }
}
