import Testing
@testable import RelayCore

@Suite struct RecipientLedgerTests {
    /// The ledger the Postfix and Exim readers keep per message, below and above the size where it
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
}
