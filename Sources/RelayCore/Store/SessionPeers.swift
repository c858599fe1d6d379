/// The sessions a delivery log named lately: each session id's peer (`host:port`) and its place
/// among the log's sessions (0, 1, …), for a transaction to take its peer from when it starts.
///
/// A table of its own rather than two dictionaries: every `session` line added to both and
/// every `txn` line looked its session up in both, each a SipHash of the id, and a log read in
/// parts merged one part's tens of thousands of sessions into the other's, hashing each again on
/// the merge's one core (12 ms of a 0.24 s report on two cores). Here an id is hashed once, a
/// word at a time (the recipient table's hash), and the hash is kept with the entry, so growing,
/// sweeping and merging move entries without reading an id again.
///
/// Places are kept less a base, so a store taking over a later part's table keeps that table
/// as it is and shifts the base, instead of rewriting every place in it.
public struct SessionPeers: Sendable, Equatable {
    struct Entry: Sendable {
        var id: String
        var peer: String
        /// The place less ``base``.
        var place: Int
        var hash: UInt64
    }

    private var entries: [Entry] = []
    /// Open addressing over `entries` (index + 1; 0 is empty), at least twice their number.
    private var slots: [Int32] = []
    private var base = 0

    public init() {}

    public var count: Int { entries.count }

    /// The peer the session's event named, if the session is held.
    public subscript(session: String) -> String? {
        find(session).map { entries[$0].peer }
    }

    /// The session's peer and its place among the log's sessions, if it is held.
    func lookup(_ session: String) -> (peer: String, place: Int)? {
        find(session).map { (entries[$0].peer, entries[$0].place + base) }
    }

    /// Room for `count` sessions without growing.
    mutating func reserve(_ count: Int) {
        entries.reserveCapacity(count)
        if slots.count < count * 2 { rebuild(slots: Self.slotCount(for: count)) }
    }

    /// Holds a session read at `place`; a session id seen again is the newer session.
    mutating func set(_ id: String, peer: String, place: Int) {
        var id = id
        let h = id.withUTF8 { RecipientTable.hash(UnsafeRawBufferPointer($0)) }
        if let k = find(id, hash: h) {
            entries[k].peer = peer
            entries[k].place = place - base
            return
        }
        add(Entry(id: id, peer: peer, place: place - base, hash: h))
    }

    /// Forgets every session before `place`.
    mutating func removeAll(before place: Int) {
        let oldest = place - base
        entries.removeAll { $0.place < oldest }
        rebuild(slots: slots.count)
    }

    /// This table with a later part's sessions over it, as if they had been read here after
    /// these: that part's table, its places moved `offset` on (the sessions read here before
    /// it), and those of these sessions at or after `oldest` that it does not hold (a session id
    /// in both is the later part's).
    mutating func adopt(_ later: inout SessionPeers, offset: Int, keepingFrom oldest: Int) {
        var merged = SessionPeers()
        swap(&merged, &later)
        merged.base += offset
        let kept = entries.filter { $0.place + base >= oldest }
        merged.reserve(merged.entries.count + kept.count)
        for var e in kept where merged.find(e.id, hash: e.hash) == nil {
            e.place = e.place + base - merged.base
            merged.add(e)
        }
        self = merged
    }

    public static func == (a: SessionPeers, b: SessionPeers) -> Bool {
        a.dictionary == b.dictionary
    }

    /// Session id -> peer, for comparing two tables.
    var dictionary: [String: String] {
        Dictionary(entries.map { ($0.id, $0.peer) }, uniquingKeysWith: { _, newer in newer })
    }

    // MARK: the index

    private func find(_ id: String) -> Int? {
        guard !entries.isEmpty else { return nil }
        var id = id
        let h = id.withUTF8 { RecipientTable.hash(UnsafeRawBufferPointer($0)) }
        return find(id, hash: h)
    }

    private func find(_ id: String, hash h: UInt64) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var p = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[p]
            if s == 0 { return nil }
            let k = Int(s) - 1
            if entries[k].hash == h, entries[k].id == id { return k }
            p = (p + 1) & mask
        }
    }

    private mutating func add(_ e: Entry) {
        if slots.count < (entries.count + 1) * 2 { rebuild(slots: Self.slotCount(for: entries.count + 1)) }
        entries.append(e)
        insertSlot(entries.count - 1)
    }

    private static func slotCount(for count: Int) -> Int {
        var n = 16
        while n < count * 2 { n <<= 1 }
        return n
    }

    private mutating func rebuild(slots n: Int) {
        slots = Array(filled: 0, count: Swift.max(n, 16))
        for k in entries.indices { insertSlot(k) }
    }

    private mutating func insertSlot(_ k: Int) {
        let mask = slots.count - 1
        var p = Int(truncatingIfNeeded: entries[k].hash) & mask
        while slots[p] != 0 { p = (p + 1) & mask }
        slots[p] = Int32(k + 1)
    }
}
