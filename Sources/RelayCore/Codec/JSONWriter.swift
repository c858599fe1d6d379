/// Appends JSON text to a byte buffer. Used by the log encoder and by `relaywatch report --json`,
/// so both escape strings the same way.
public struct JSONWriter {
    public var out: [UInt8]

    public init(out: [UInt8] = []) { self.out = out }

    public mutating func raw(_ s: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public mutating func key(_ k: StaticString) {
        out.append(0x2C); out.append(0x22); raw(k); out.append(0x22); out.append(0x3A)
    }

    public mutating func int(_ v: Int) { out.append(contentsOf: String(v).utf8) }

    public mutating func strings(_ list: [String]) {
        out.append(0x5B)
        for (k, s) in list.enumerated() {
            if k > 0 { out.append(0x2C) }
            string(s)
        }
        out.append(0x5D)
    }

    /// JSON string: quote, backslash and control characters escaped; other UTF-8 as is.
    public mutating func string(_ s: String) {
        out.append(0x22)
        for c in s.utf8 {
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: out.append(c)
            }
        }
        out.append(0x22)
    }
}
