import Testing
@testable import RelayCore

@Suite struct RecipientTableTests {
    /// Interning and lookup by bytes, across the sizes where the table switches from a linear scan
    /// to its hash index, and addresses of every length around the 8-byte word compare.
    @Test func internFindsEveryAddressAndOnlyIt() {
        var t = RecipientTable()
        var all: [String] = []
        for n in 0..<40 {
            let address = String(repeating: "x", count: n % 19) + "@d\(n).test"
            all.append(address)
            #expect(t.intern(address) == n)
        }
        for (n, address) in all.enumerated() {
            #expect(t.intern(address) == n, "re-interning \(address)")
            #expect(t[n] == address)
            var probe = address
            probe.withUTF8 { #expect(t.id(of: UnsafeRawBufferPointer($0)) == n) }
            // One byte changed anywhere is another address.
            for k in address.utf8.indices {
                var bytes = Array(address.utf8)
                bytes[address.utf8.distance(from: address.utf8.startIndex, to: k)] ^= 0x20
                bytes.withUnsafeBytes { #expect(t.id(of: $0) == nil || String(decoding: bytes, as: UTF8.self) == all[t.id(of: $0)!]) }
            }
        }
        #expect(t.count == 40)
    }

    /// Room made ahead for a list (the index built before the first address) finds every
    /// address interned after it, each once, at every list length around the linear limit.
    @Test func aReservedTableFindsEveryAddressOnce() {
        for n in [2, 8, 9, 40] {
            var t = RecipientTable()
            t.reserve(n, bytes: n * 12)
            for k in 0..<n { #expect(t.intern("r\(k)@x.test") == k) }
            for k in 0..<n { #expect(t.intern("r\(k)@x.test") == k, "\(n) reserved, address \(k) again") }
            #expect(t.count == n)
            // And grown past what was reserved.
            for k in n..<(3 * n) { #expect(t.intern("r\(k)@x.test") == k) }
            for k in 0..<(3 * n) { #expect(t.intern("r\(k)@x.test") == k) }
        }
    }

    @Test func equalBytesAtEveryLength() {
        for n in 0..<40 {
            let a = (0..<n).map { UInt8($0 & 0xFF) }
            for flip in 0..<max(1, n) {
                var b = a
                if n > 0 { b[flip] ^= 1 }
                let same = a.withUnsafeBytes { x in b.withUnsafeBytes { y in equalBytes(x.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, y.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, n) } }
                #expect(same == (n == 0), "length \(n), byte \(flip) changed")
            }
        }
    }
}
