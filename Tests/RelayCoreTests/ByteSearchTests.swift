import Testing
import RelayCore

/// The adapters find their fields with `find`: it must give the first place the literal starts
/// in [from, to) exactly as a plain search does, whatever byte it looks for first (a literal
/// starting with a space is looked for by its second byte).
@Suite struct ByteSearchTests {
    static func naive(_ hay: [UInt8], _ needle: [UInt8], _ from: Int, _ to: Int) -> Int? {
        var j = from
        while j + needle.count <= min(to, hay.count) {
            if Array(hay[j..<(j + needle.count)]) == needle { return j }
            j += 1
        }
        return nil
    }

    @Test func findIsThePlainSearch() {
        // Lines made of the literals' own bytes, so near misses are everywhere.
        let alphabet: [UInt8] = Array(" H=C\",xrelay".utf8)
        var seed: UInt64 = 822_105
        func next() -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33)
        }
        var found = 0, checked = 0
        for _ in 0..<3000 {
            let hay = (0..<(next() % 40)).map { _ in alphabet[next() % alphabet.count] }
            let from = hay.isEmpty ? 0 : next() % (hay.count + 1)
            let to = from + next() % (hay.count - from + 2)
            hay.withUnsafeBytes { b in
                func check(_ lit: StaticString) {
                    let needle = Array(UnsafeBufferPointer(start: lit.utf8Start, count: lit.utf8CodeUnitCount))
                    let expected = Self.naive(hay, needle, from, to)
                    #expect(b.find(lit, from: from, to: to) == expected, "\(lit) in \(String(decoding: hay, as: UTF8.self)) [\(from), \(to))")
                    if expected != nil { found += 1 }
                    checked += 1
                }
                check(" H=")
                check(" C=\"")
                check(", relay=")
                check("=")
                check(" ")
                check("H")
            }
        }
        #expect(checked == 18_000)
        #expect(found > 2_000, "\(found) found: the lines should hold the literals often")
    }

    /// `first(_:or:)` against a plain scan, at every start and end around the eight-byte steps.
    @Test func firstOfTwoIsThePlainScan() {
        let line = Array("ab \"cd\\e  f\"\"g h\\\"ijklmnopqrstu vwx\"yz".utf8)
        var hits = 0
        line.withUnsafeBytes { b in
            for from in 0...line.count {
                for to in from...line.count {
                    for (x, y) in [(UInt8(0x20), UInt8(ascii: "\"")), (UInt8(ascii: "\""), UInt8(ascii: "\\")), (UInt8(ascii: "z"), UInt8(ascii: "q"))] {
                        let plain = (from..<to).first { line[$0] == x || line[$0] == y } ?? to
                        #expect(b.first(x, or: y, from: from, to: to) == plain, "\(from)..<\(to)")
                        if plain < to { hits += 1 }
                    }
                }
            }
        }
        #expect(hits > 1_000)
    }
}
