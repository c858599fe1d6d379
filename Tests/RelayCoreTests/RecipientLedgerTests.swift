import Testing
@testable import RelayCore

@Suite struct RecipientLedgerTests {
    /// The ledger the Postfix reader keeps per message, below and above the size where it
    /// starts hashing and where its table grows: order first named, a final outcome never undone,
    /// expiry and NDR lists.
    @Test(arguments: [3, 16, 17, 40, 33, 64, 1000])
    func accountsForEveryRecipientOnce(count: Int) {
        var ledger = RecipientLedger()
        let rcpts = (0..<count).map { "r\($0)@d.test" }
        for r in rcpts { ledger.note(r, final: false) }
        // Named again, out of order: still once each, in the first order.
        for r in rcpts.reversed() { ledger.note(r, final: false) }
        #expect(ledger.order == rcpts)
        // Every third delivered, then "deferred" again (a later line of a retry): stays final.
        for (k, r) in rcpts.enumerated() where k % 3 == 0 {
            ledger.note(r, status: .delivered)
            ledger.note(r, status: .deferred)
        }
        // One bounced; one new address first named by its outcome.
        ledger.note(rcpts[1], status: .bounced)
        ledger.note("late@d.test", status: .bounced)
        #expect(ledger.order == rcpts + ["late@d.test"])
        #expect(ledger.takeFailed() == [rcpts[1], "late@d.test"])
        #expect(ledger.failedSinceNDR.isEmpty)
        // The rest expire, in order, and go into the next NDR.
        let waiting = rcpts.enumerated().filter { $0.offset % 3 != 0 && $0.offset != 1 }.map(\.element)
        #expect(ledger.expireWaiting() == waiting)
        #expect(ledger.takeFailed() == waiting)
        #expect(ledger.expireWaiting().isEmpty)
    }

    /// A delivery line's address is noted as bytes: the same address as a String or as bytes is
    /// one recipient; bytes that are not UTF-8 are the recipient their repaired String names (two
    /// bad bytes that both repair to U+FFFD are one); and, as in the store, addresses that are
    /// canonically equivalent but spelled in other bytes are two.
    @Test func addressesAreComparedAsTheStoreComparesThem() {
        var ledger = RecipientLedger()
        ledger.note("a@x.test", final: false)
        Array("a@x.test".utf8).withUnsafeBytes { ledger.note($0, status: .delivered) }
        ([0x62, 0xFF, 0x40, 0x78] as [UInt8]).withUnsafeBytes { ledger.note($0, status: .bounced) }
        ([0x62, 0xFE, 0x40, 0x78] as [UInt8]).withUnsafeBytes { _ = ledger.note($0, final: false) }
        ledger.note("b\u{FFFD}@x", status: .deferred)
        ledger.note("\u{E9}@x.test", final: false)
        ledger.note("e\u{301}@x.test", final: false)
        #expect(ledger.order == ["a@x.test", "b\u{FFFD}@x", "\u{E9}@x.test", "e\u{301}@x.test"])
        #expect(ledger.takeFailed() == ["b\u{FFFD}@x"])
        #expect(ledger.expireWaiting() == ["\u{E9}@x.test", "e\u{301}@x.test"])
    }
}
