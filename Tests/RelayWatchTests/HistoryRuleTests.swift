@testable import RelayWatch
import Testing

/// The rule the monitor's history and a part loaded on another core both keep finished
/// messages by.
@Suite struct HistoryRuleTests {
    static let order = (0..<11).map { "m\($0)" }

    @Test func withinTheLimitAndAQuarterNothingGoes() {
        #expect(HistoryRule.trim(Array(Self.order.prefix(10)), limit: 8, pinned: { _ in false }, finding: { _ in false }) == nil)
    }

    @Test func pastItTheOldestGoButFindingsAndPinnedOnesStay() throws {
        let trim = try #require(HistoryRule.trim(Self.order, limit: 8, pinned: { $0 == "m0" }, finding: { $0 == "m1" }))
        #expect(trim.kept == ["m0", "m1", "m5", "m6", "m7", "m8", "m9", "m10"])
        #expect(trim.forgotten.map(\.entry) == ["m2", "m3", "m4"])
        #expect(trim.forgotten.allSatisfy { !$0.finding })
    }

    @Test func findingsPastTheLimitGoTooOldestFirstButNeverAPinnedOne() throws {
        let trim = try #require(HistoryRule.trim(Self.order, limit: 8, pinned: { $0 == "m0" }, finding: { _ in true }))
        #expect(trim.kept == ["m0", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"])
        #expect(trim.forgotten.map(\.entry) == ["m1", "m2"])
        #expect(trim.forgotten.allSatisfy { $0.finding })
    }
}
