import Testing
@testable import RelayCore

/// A later part's reader owns the messages that start in it and defers every other's lines.
/// Its sets hold keys of up to 16 bytes in two words and longer ones as Strings: keys that differ
/// in one byte, in length alone, or across that boundary must stay apart.
@Suite struct PartOwnershipTests {
    /// Keys around the 16-byte boundary, each one byte or one length away from another.
    static let keys: [String] = [
        "", "a", "a\u{0}", "ab", "1xXpdw-000001-zG", "1xXpdw-000001-zH", "1xXpdw-000001-z", "1xXpdw-000001-zG\u{0}",
        "1xXpdw-000001-zG7", "1xXpdw-000001-zG8", "mail2/4B9FEC5A12", "mail2/4B9FEC5A13", "mail2/4B9FEC5A1234567890",
        "mail2/4B9FEC5A1234567891", "jos\u{E9}-1", "jos\u{E9}-2", String(repeating: "k", count: 40),
    ]

    /// Against the rule with a plain set of Strings: a key is owned from a line that starts a
    /// message when no line deferred it before; else every line of it is deferred.
    @Test func ownsWhatStartsHereAndDefersTheRest() {
        var ownership = PartOwnership()
        var owned = Set<String>(), deferred = Set<String>()
        // Every key named first by a line that does not start (odd places) or does (even), then
        // every key again both ways.
        var lines: [(String, Bool)] = Self.keys.enumerated().map { ($1, $0 % 2 == 0) }
        lines += Self.keys.flatMap { [($0, false), ($0, true)] }
        for (key, starts) in lines {
            let expected: Bool
            if owned.contains(key) {
                expected = true
            } else if deferred.contains(key) {
                expected = false
            } else if starts {
                owned.insert(key)
                expected = true
            } else {
                deferred.insert(key)
                expected = false
            }
            let owns = ownership.owns(key, starts: starts)
            #expect(owns == expected, "\(key.debugDescription) starts: \(starts)")
        }
        for key in Self.keys { #expect(ownership.isOwned(key) == owned.contains(key), "\(key.debugDescription)") }
        #expect(!ownership.tangled)
    }

    @Test func aLineNamingAnOwnedAndADeferredKeyTangles() {
        var ownership = PartOwnership()
        let first = ownership.owns("1xXpdw-000001-zG", starts: true)
        let before = ownership.owns("1xXpdw-000001-zH", starts: false)
        // A bounce's arrival naming its parent: the bounce starts here, its parent began before.
        let bounce = ownership.ownsAll([("1xXpdw-000002-aa", true), ("1xXpdw-000001-zH", false)])
        #expect(first && !before && !bounce)
        #expect(!ownership.tangled)
        #expect(!ownership.isOwned("1xXpdw-000002-aa"))
        let both = ownership.ownsAll([("1xXpdw-000001-zG", false), ("1xXpdw-000001-zH", false)])
        #expect(!both)
        #expect(ownership.tangled)
    }
}
