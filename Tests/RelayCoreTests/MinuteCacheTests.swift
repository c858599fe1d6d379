import Testing
@testable import RelayCore

/// Readers of many lines remember the last time's minute and read only the seconds of the next
/// time in that minute. The answer must be the one reading each time alone gives, for good and
/// bad times in any order: a minute whose bytes were refused is never remembered, and a time in
/// a remembered minute with bad seconds is still refused.
@Suite struct MinuteCacheTests {
    static let times: [String] = [
        "2026-11-29T08:09:45.123456Z", "2026-11-29T08:09:46.000001Z", "2026-11-29T08:09:60.999999Z",
        "2026-11-29T08:09:61.000000Z", "2026-11-29T08:09:4x.000000Z", "2026-11-29T08:09:45,123456Z",
        "2026-11-29T08:09:45.123456z", "2026-11-29T08:10:00.000000Z", "2026-11-29T08:09:59.999999Z",
        "2026-13-29T08:09:45.123456Z", "2026-13-29T08:09:45.123456Z", "2026-02-31T23:59:59.000000Z",
        "2026-11-29T24:00:00.000000Z", "2026-11-29T24:00:00.000000Z", "2026-11-29 08:09:45.123456Z",
        "2026-11-29 08:09:45.123456Z", "2027-01-01T00:00:00.000000Z", "2026-12-31T23:59:59.999999Z",
        "0000-03-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z", "2026-11-29T08:09:45.123456Z",
    ]

    @Test func remembersTheMinuteWithoutChangingAnyAnswer() {
        var cache = MinuteCache()
        // Each time twice in a row (the second from the cache), then the list again as it comes.
        let order = Self.times.flatMap { [$0, $0] } + Self.times
        var cached = 0
        for text in order {
            var bytes = Array(text.utf8)
            bytes.withUnsafeBytes { b in
                let alone = Timestamp.parseCanonical(b)
                let remembered = Timestamp.parseCanonical(b, minute: &cache)
                #expect(remembered == alone, "\(text)")
                if alone != nil { cached += 1 }
            }
            bytes.removeAll()
        }
        #expect(cached > 20)
    }

    @Test func aMinuteRefusedIsNotRemembered() {
        var cache = MinuteCache()
        var calls = 0
        let bad = Array("2026-13-29T08:09".utf8), good = Array("2026-11-29T08:09".utf8)
        for bytes in [bad, bad, good, good, good] {
            _ = bytes.withUnsafeBytes { b in
                cache.start(of: b.baseAddress!) { p in
                    calls += 1
                    return Timestamp.canonicalMinute(p)
                }
            }
        }
        // The refused minute asked twice, the good one once.
        #expect(calls == 3)
    }
}
