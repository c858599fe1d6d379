import Testing
@testable import RelayCore

@Suite struct SessionPeersTests {
    /// Every session held is found with its own peer and place, through the table's growth
    /// (ids of every length around the 8-byte word hash), and an id never set is not found.
    @Test func everySessionIsFoundWithItsPeerAndPlace() {
        var t = SessionPeers()
        let ids = (0..<5000).map { "S" + String(repeating: "x", count: $0 % 19) + "\($0)" }
        for (place, id) in ids.enumerated() { t.set(id, peer: "192.0.2.\(place % 250):25", place: place) }
        #expect(t.count == ids.count)
        for (place, id) in ids.enumerated() {
            let held = t.lookup(id)
            #expect(held?.peer == "192.0.2.\(place % 250):25" && held?.place == place, "\(id)")
            #expect(t[id] == held?.peer)
        }
        #expect(t.lookup("S5000") == nil && t["nope"] == nil && SessionPeers()["S1"] == nil)
    }

    /// An id read again is the newer session: its peer and place, held once.
    @Test func anIdSeenAgainIsTheNewerSession() {
        var t = SessionPeers()
        t.set("S1", peer: "a:25", place: 0)
        t.set("S2", peer: "b:25", place: 1)
        t.set("S1", peer: "c:25", place: 2)
        #expect(t.count == 2)
        #expect(t.lookup("S1")?.peer == "c:25" && t.lookup("S1")?.place == 2)
    }

    /// A sweep forgets the sessions before a place and keeps finding the rest.
    @Test func aSweepForgetsOnlyTheOlderSessions() {
        var t = SessionPeers()
        for place in 0..<1000 { t.set("S\(place)", peer: "p\(place)", place: place) }
        t.removeAll(before: 600)
        #expect(t.count == 400)
        #expect(t.lookup("S599") == nil)
        for place in 600..<1000 { #expect(t.lookup("S\(place)")?.place == place) }
    }

    /// Taking over a later part's table reads as one table read in one pass: the later part's
    /// places follow this one's, a session id in both is the later part's, and of this table
    /// only the sessions from `oldest` on are kept.
    @Test func adoptingALaterPartReadsAsOnePass() {
        var first = SessionPeers(), later = SessionPeers(), one = SessionPeers()
        for place in 0..<300 {
            first.set("S\(place)", peer: "first\(place)", place: place)
            one.set("S\(place)", peer: "first\(place)", place: place)
        }
        // The later part's own numbering starts at 0; S250 and S299 are read again there.
        for (k, id) in ["L0", "S250", "L1", "S299", "L2"].enumerated() {
            later.set(id, peer: "later\(k)", place: k)
            one.set(id, peer: "later\(k)", place: 300 + k)
        }
        first.adopt(&later, offset: 300, keepingFrom: 200)
        #expect(later.count == 0)
        #expect(first.lookup("S199") == nil, "before the window")
        for place in 200..<300 where place != 250 && place != 299 {
            #expect(first.lookup("S\(place)")?.place == place && first["S\(place)"] == "first\(place)")
        }
        for id in ["L0", "S250", "L1", "S299", "L2"] {
            let a = first.lookup(id), b = one.lookup(id)
            #expect(a?.peer == b?.peer && a?.place == b?.place, "\(id)")
        }
        #expect(first.count == 100 + 3)
        // Sessions set after the merge number on from there.
        first.set("N", peer: "n", place: 305)
        #expect(first.lookup("N")?.place == 305 && first.lookup("L2")?.place == 304)
    }

    @Test func tablesAreEqualWhenTheyNameTheSamePeers() {
        var a = SessionPeers(), b = SessionPeers()
        a.set("S1", peer: "x:25", place: 0)
        a.set("S2", peer: "y:25", place: 1)
        b.set("S2", peer: "y:25", place: 7)
        b.set("S1", peer: "x:25", place: 8)
        #expect(a == b)
        b.set("S1", peer: "z:25", place: 9)
        #expect(a != b)
    }
}
