import CStructural

/// Appends JSON text to a byte buffer. Used by the log encoder and by `relaywatch report --json`,
/// so both escape strings the same way.
public struct JSONWriter {
    public var out: [UInt8]

    public init(out: [UInt8] = []) { self.out = out }

    public mutating func raw(_ s: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// `,"k":`, put together on the stack and appended once (every field of every event has one).
    public mutating func key(_ k: StaticString) {
        let n = k.utf8CodeUnitCount
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n + 4) { b in
            b[0] = 0x2C; b[1] = 0x22
            UnsafeMutableRawPointer(b.baseAddress! + 2).copyMemory(from: k.utf8Start, byteCount: n)
            b[n + 2] = 0x22; b[n + 3] = 0x3A
            out.append(contentsOf: UnsafeBufferPointer(b))
        }
    }

    public mutating func int(_ v: Int) {
        guard v >= 0, v < 1_000_000_000_000_000_000 else { return out.append(contentsOf: String(v).utf8) }
        // Digits on the stack, no String: the log writes a few numbers per event.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { b in
            var v = v, i = 20
            repeat {
                i -= 1
                b[i] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            } while v > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i...]))
        }
    }

    /// An enhanced status code as a JSON string ("5.5.3"), without building a String.
    public mutating func enhanced(_ e: EnhancedStatus) {
        out.append(0x22)
        int(Int(e.klass)); out.append(0x2E); int(Int(e.subject)); out.append(0x2E); int(Int(e.detail))
        out.append(0x22)
    }

    public mutating func strings(_ list: [String]) {
        out.append(0x5B)
        for (k, s) in list.enumerated() {
            if k > 0 { out.append(0x2C) }
            string(s)
        }
        out.append(0x5D)
    }

    /// An object of string members, in the order given.
    public mutating func object(_ members: [(String, String)]) {
        out.append(0x7B)
        for (k, (name, value)) in members.enumerated() {
            if k > 0 { out.append(0x2C) }
            string(name); out.append(0x3A); string(value)
        }
        out.append(0x7D)
    }

    /// JSON string: quote, backslash and control characters escaped; other UTF-8 as is. DEL and
    /// the C1 controls (U+0080–U+009F; U+009B is a terminal's CSI) are escaped too, though JSON
    /// allows them raw: a log line may end up on a terminal through `tail` or `grep`.
    public mutating func string(_ s: String) {
        var s = s
        // The runs between characters that need escaping go in whole (most strings have none).
        s.withUTF8 { u in
            out.append(0x22)
            // The plain run at the start, found 16 bytes at a time, goes in whole; most strings
            // are nothing else.
            let plain = u.isEmpty ? 0 : rw_json_plain_prefix(u.baseAddress!, u.count)
            if plain == u.count {
                out.append(contentsOf: u)
                out.append(0x22)
                return
            }
            var start = 0
            var i = plain
            while i < u.count {
                let c = u[i]
                let width: Int
                if c < 0x20 || c == 0x22 || c == 0x5C || c == 0x7F {
                    width = 1
                } else if c == 0xC2, i + 1 < u.count, u[i + 1] < 0xA0 {
                    width = 2  // a C1 control's UTF-8: C2 80–9F
                } else {
                    i += 1
                    continue
                }
                if i > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i])) }
                escape(u[i + width - 1])
                i += width
                start = i
            }
            if start < u.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[start...])) }
            out.append(0x22)
        }
    }

    private mutating func escape(_ c: UInt8) {
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0..<0x20, 0x7F...0x9F:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: out.append(c)
            }
    }
}
