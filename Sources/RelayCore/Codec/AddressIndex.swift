/// Where each address of a list is, for a list too long to search: an open-addressing table of
/// positions keyed by an FNV-1a hash of the address's bytes. A `[String: Int]` hashed each address
/// with SipHash and rehashed as it grew, about 1,500 instructions an address where this takes
/// under 200 (callgrind, the Postfix report): a message to many recipients names each in one
/// line and looks it up there.
struct AddressIndex: Sendable {
    /// Positions in the list (-1: empty); the count is a power of two, at least twice the
    /// number held, so a probe ends soon at an empty slot.
    private var slots: [Int32] = []
    private var held = 0

    init(_ names: [String]) {
        var size = 64
        while size < names.count * 2 { size *= 2 }
        slots = Array(repeating: -1, count: size)
        for k in names.indices { place(k, Self.hash(names[k])) }
    }

    /// The position of `name` in `names` (the list this index was built from and told of).
    func find(_ name: String, in names: [String]) -> Int? {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: Self.hash(name)) & mask
        while true {
            let k = Int(slots[i])
            if k < 0 { return nil }
            if names[k] == name { return k }
            i = (i + 1) & mask
        }
    }

    /// `names[k]` was appended to the list.
    mutating func added(_ k: Int, in names: [String]) {
        if (held + 1) * 2 > slots.count {
            self = AddressIndex(names)
            return
        }
        place(k, Self.hash(names[k]))
    }

    private mutating func place(_ k: Int, _ h: UInt64) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(truncatingIfNeeded: k)
        held += 1
    }

    /// FNV-1a over the bytes eight at a time, folded so the low bits (the slot) depend on all
    /// of them. (Iterating `utf8` byte by byte cost more than the dictionary it replaced.)
    static func hash(_ s: String) -> UInt64 {
        var s = s
        return s.withUTF8 { b -> UInt64 in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            let prime: UInt64 = 0x0000_0100_0000_01B3
            var i = 0
            if let base = b.baseAddress {
                let raw = UnsafeRawPointer(base)
                while i + 8 <= b.count {
                    h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* prime
                    h ^= h >> 32
                    i += 8
                }
            }
            while i < b.count {
                h = (h ^ UInt64(b[i])) &* prime
                i += 1
            }
            return h ^ (h >> 29)
        }
    }
}
