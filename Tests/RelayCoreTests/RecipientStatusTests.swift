import Testing
import RelayScenarios
@testable import RelayCore

/// A recipient's state when no reply decides it: the relay's latest decision does.
struct RecipientStatusTests {
    @Test func aRecipientNeverSentThatExpiredHasExpiredNotDeferred() throws {
        var b = LogBuilder()
        b.queued("U1", from: "a@b.example", rcpts: ["x@unreachable.example", "y@unreachable.example"])
        for r in ["x@unreachable.example", "y@unreachable.example"] {
            b.outcome("U1", r, .deferred, txn: nil, reason: "connect to 127.0.0.1:9: Connection refused")
        }
        b.outcome("U1", "x@unreachable.example", .expired, txn: nil, reason: "queue lifetime reached")
        var store = DeliveryStore()
        for e in b.events { store.apply(e) }
        let m = try #require(store.message("U1"))
        let statuses = RecipientStatus.all(in: m, verdicts: [], anomalies: [])
        #expect(statuses.map(\.state) == [.permanent, .transient])
    }
}
