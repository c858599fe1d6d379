#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A message's recipient addresses, numbered in the order first seen, stored as bytes in one
/// buffer. The log names every recipient again and again (txn, each reply, each outcome); looking
/// them up by bytes, without building a String or hashing with SipHash each time, is most of what
/// makes the report fast. Reading an address as a String builds it on demand.
public struct RecipientTable: RandomAccessCollection, Sendable, Equatable {
    public typealias Index = Int

    private var bytes: [UInt8] = []
    /// End offset of each address in `bytes` (its start is the previous one's end).
    private var ends: [Int32] = []
    /// Open-addressing hash index (id + 1; 0 is empty), built once there are enough addresses that
    /// a linear scan costs more than hashing.
    private var slots: [Int32] = []
    private static let linearLimit = 8

    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }

    public subscript(i: Int) -> String {
        let start = i == 0 ? 0 : Int(ends[i - 1])
        return bytes.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[start..<Int(ends[i])]), as: UTF8.self)
        }
    }

    /// Whether address `i` is these bytes.
    public func address(_ i: Int, equals b: UnsafeRawBufferPointer) -> Bool {
        let start = i == 0 ? 0 : Int(ends[i - 1])
        let count = Int(ends[i]) - start
        guard count == b.count else { return false }
        if count == 0 { return true }
        return bytes.withUnsafeBufferPointer { equalBytes($0.baseAddress! + start, b.baseAddress!, count) }
    }

    /// The number of the address with these bytes, if known.
    public func id(of b: UnsafeRawBufferPointer) -> Int? {
        id(of: b, hash: slots.isEmpty ? 0 : Self.hash(b))
    }

    private func id(of b: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        if slots.isEmpty {
            for i in 0..<ends.count where address(i, equals: b) { return i }
            return nil
        }
        let mask = slots.count - 1
        var p = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[p]
            if s == 0 { return nil }
            if address(Int(s) - 1, equals: b) { return Int(s) - 1 }
            p = (p + 1) & mask
        }
    }

    /// The number of the address with these bytes, adding it when new.
    public mutating func intern(_ b: UnsafeRawBufferPointer) -> Int {
        // Hashed only when there is an index to look in (a message's first few addresses are
        // searched in order, and the index, once built, hashes them all itself).
        let indexed = !slots.isEmpty
        let h = indexed ? Self.hash(b) : 0
        if let i = id(of: b, hash: h) { return i }
        // Room for a few addresses at once: most messages have a handful, and growing the
        // buffer from empty one address at a time reallocated it three or four times.
        if ends.isEmpty, ends.capacity == 0 {
            bytes.reserveCapacity(Swift.max(128, b.count))
            ends.reserveCapacity(8)
        }
        // As typed bytes: appending a raw buffer would go byte by byte.
        if let base = b.baseAddress {
            bytes.append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: b.count))
        }
        ends.append(Int32(bytes.count))
        let i = ends.count - 1
        // Indexed once past the linear limit, or from the first address when ``reserve(_:bytes:)``
        // made the index ahead.
        if indexed || ends.count > Self.linearLimit {
            if slots.count < ends.count * 2 { rebuild() } else { insertSlot(i, hash: indexed ? h : nil) }
        }
        return i
    }

    /// Room for `count` more addresses of `bytes` bytes in all (a `queued` event's list, whose
    /// length the line tells), and the hash index sized for them when there will be enough to
    /// need one: grown an address at a time, the buffers were reallocated and the index rebuilt
    /// at 9, 17 and 33 addresses for every large message.
    public mutating func reserve(_ count: Int, bytes byteCount: Int) {
        bytes.reserveCapacity(bytes.count + byteCount)
        ends.reserveCapacity(ends.count + count)
        let total = ends.count + count
        if total > Self.linearLimit, slots.count < total * 2 {
            var size = 16
            while size < total * 4 { size <<= 1 }
            slots = Array(filled: 0, count: size)
            for i in 0..<ends.count { insertSlot(i) }
        }
    }

    public mutating func intern(_ s: String) -> Int {
        var s = s
        return s.withUTF8 { intern(UnsafeRawBufferPointer($0)) }
    }

    private mutating func rebuild() {
        var size = 16
        while size < ends.count * 4 { size <<= 1 }
        slots = Array(filled: 0, count: size)
        for i in 0..<ends.count { insertSlot(i) }
    }

    private mutating func insertSlot(_ i: Int, hash known: UInt64? = nil) {
        let start = i == 0 ? 0 : Int(ends[i - 1])
        let h = known ?? bytes.withUnsafeBytes { Self.hash(UnsafeRawBufferPointer(rebasing: $0[start..<Int(ends[i])])) }
        let mask = slots.count - 1
        var p = Int(truncatingIfNeeded: h) & mask
        while slots[p] != 0 { p = (p + 1) & mask }
        slots[p] = Int32(i + 1)
    }

    /// Eight bytes at a time, each word multiplied in and folded, the length mixed in first, the
    /// last partial word read as the line's last eight bytes (overlapping the one before; byte
    /// by byte under eight): an address of 20-30 bytes is four steps, not FNV-1a's 20-30. (Not
    /// hardened against chosen collisions; a log is the relay's own output, and a bad case only
    /// costs time.)
    static func hash(_ b: UnsafeRawBufferPointer) -> UInt64 {
        let n = b.count
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(truncatingIfNeeded: n)
        @inline(__always) func mix(_ w: UInt64) {
            h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 32
        }
        if n >= 8 {
            var k = 0
            while k + 8 <= n {
                mix(b.loadUnaligned(fromByteOffset: k, as: UInt64.self))
                k += 8
            }
            if k < n { mix(b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) }
        } else {
            var w: UInt64 = 0
            for k in 0..<n { w |= UInt64(b[k]) << UInt64(8 * k) }
            mix(w)
        }
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 31)
    }
}

/// Byte equality for short runs (ids, addresses): eight bytes at a time, inline. For 10 to 30
/// bytes this beats a call to memcmp, and the report compares several per line.
@inline(__always)
func equalBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var k = 0
    while k + 8 <= n {
        if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) {
            return false
        }
        k += 8
    }
    // The tail as one overlapping word (the bytes before it were already found equal).
    if k < n, n >= 8 {
        return a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
    }
    while k < n {
        if a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) { return false }
        k += 1
    }
    return true
}
