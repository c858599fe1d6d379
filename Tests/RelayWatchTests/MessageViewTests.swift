import Testing
import RelayCore
import RelayScenarios
@testable import RelayWatch

/// A message as the admin opens it: a band that sums it up, and the recipients and transcript
/// opening on the trouble, in runs.
@Suite struct MessageViewTests {
    /// KB1 opened from a log that has only finished messages: Enter, nothing else.
    static func openKB(width: Int = 80, height: Int = 24) -> Monitor {
        var m = Screen.monitor([Scenario.kb822105.log], width: width, height: height)
        Screen.press(&m, .enter)
        return m
    }

    @Test(arguments: Screen.sizes)
    func theKB822105MessageOpensOnTheWronglyNDRdRecipientsAndThe552s(_ size: (Int, Int)) throws {
        let m = Self.openKB(width: size.0, height: size.1)
        #expect(m.screen == .message("KB1", .recipients))
        let g = Render.frame(m)
        // #98–#100 each have their own row, flagged, on the first screen.
        for n in [98, 99, 100] {
            let y = try #require(Screen.row(g, containing: "user\(n)@example.net"), "#\(n) is not on the first screen:\n\(g.text)")
            #expect(g.line(y).contains("#\(n) "))
            #expect(Screen.role(g, y, at: "!") == .anomaly)
            #expect(g.line(y).contains("250 2.1.5 Ok"))
            #expect(g.line(y).contains("bounced"))
        }
        // The cursor is on #98, the first flagged one.
        let y98 = try #require(Screen.row(g, containing: "user98@example.net"))
        #expect(g[0, y98].role == .selected)
        #expect(m.cursorRecipients == Array(97...97))
        // The 50 refused with 552 are one row, in the limit colour; the 97 delivered another.
        let run = try #require(Screen.row(g, containing: "▸#101–#150"))
        #expect(Screen.role(g, run, at: "552 5.5.3") == .replyLimit)
        #expect(g.line(run).contains("50 recipients"))
        let delivered = try #require(Screen.row(g, containing: "▸#1–#97"))
        #expect(g.line(delivered).contains("250 2.1.5") && g.line(delivered).contains("delivered"))
        #expect(g.line(delivered).contains("97 recipients"))
    }

    @Test(arguments: Screen.sizes)
    func theBandSumsUpTheTransactionTheDecisionsAndEachFinding(_ size: (Int, Int)) throws {
        let m = Self.openKB(width: size.0, height: size.1)
        let g = Render.frame(m)
        let txn = try #require(Screen.row(g, containing: "150 RCPTs: 100 accepted · 50 too many (552 5.5.3) · 0 refused · 0 no reply"))
        #expect(Screen.role(g, txn, at: "50 too many") == .replyLimit)
        let relay = try #require(Screen.row(g, containing: "relay: 97 delivered · 0 deferred · 53 bounced · 53 NDR'd"))
        #expect(relay < (Screen.row(g, containing: "Recipients") ?? 0))
        // The miscounts lead; every finding has its line, above the tabs.
        let tabs = try #require(Screen.row(g, containing: "Anomalies (4)"))
        let findings = ["ndr-count-mismatch", "ndr-wrong-recipient", "tally-mismatch", "limit-bounced"].map { Screen.row(g, containing: "\($0):") }
        #expect(findings.allSatisfy { $0 != nil && $0! < tabs })
        #expect(findings[0]! < findings[3]!)
        let mismatch = findings[0]!
        #expect(g.line(mismatch).contains("peer refused RCPT #101–#150 with 552 5.5.3"))
        #expect(Screen.role(g, mismatch, at: "!") == .anomaly)
        #expect(Screen.role(g, findings[3]!, at: "!") == .warning, "a deviation is a warning, not a miscount")
    }

    @Test func runsExpandAndCollapse() throws {
        var m = Self.openKB(width: 160, height: 50)
        Screen.press(&m, .home)
        var g = Render.frame(m)
        #expect(Screen.row(g, containing: "user50@example.net") == nil)
        // Enter on the run of 97 shows each of them.
        Screen.press(&m, .enter)
        g = Render.frame(m)
        let head = try #require(Screen.row(g, containing: "▾#1–#97"))
        #expect(g[0, head].role == .selected, "the cursor stays on the run's heading")
        let y1 = try #require(Screen.row(g, containing: "D user1@example.net "))
        #expect(g.line(y1).contains("  #1 "))
        #expect(y1 == head + 1)
        #expect(Screen.row(g, containing: "D user30@example.net") != nil)
        // → on the 552 run expands it too; the members keep their own replies.
        Screen.press(&m, .end, .right)
        #expect(m.cursorRecipients == Array(100...149))
        Screen.press(&m, .end)
        g = Render.frame(m)
        let y150 = try #require(Screen.row(g, containing: "user150@example.net"))
        #expect(Screen.role(g, y150, at: "552 5.5.3") == .replyLimit)
        // ← on a member folds its run; the cursor lands on the run.
        Screen.press(&m, .left)
        #expect(m.cursorRecipients == Array(100...149))
        g = Render.frame(m)
        #expect(Screen.row(g, containing: "user150@example.net") == nil)
        #expect(Screen.row(g, containing: "▸#101–#150") != nil)
        Screen.press(&m, .home, .left)
        #expect(Screen.row(Render.frame(m), containing: "user50@example.net") == nil)
    }

    @Test func nAndNMoveBetweenFlaggedRecipients() {
        var m = Self.openKB(width: 160, height: 50)
        #expect(m.cursorRecipients == Array(97...97))
        Screen.press(&m, .char("n"))
        #expect(m.cursorRecipients == Array(98...98))
        Screen.press(&m, .char("n"))
        #expect(m.cursorRecipients == Array(99...99))
        Screen.press(&m, .char("n"))
        #expect(m.cursorRecipients == Array(97...97))
        #expect(Render.frame(m).line(48).contains("back to the first flagged row"))
        Screen.press(&m, .char("N"))
        #expect(m.cursorRecipients == Array(99...99))
        // From the top of the list n finds the first one.
        Screen.press(&m, .home, .char("n"))
        #expect(m.cursorRecipients == Array(97...97))
    }

    @Test func withNothingFlaggedTheViewOpensOnTheFirstNotDelivered() {
        var m = Screen.monitor([Scenario.postfixBounce.log], width: 160, height: 50)
        Screen.press(&m, .enter)
        #expect(m.cursorRecipients == Array(100...149))
        let g = Render.frame(m)
        #expect(Screen.row(g, containing: "▸#101–#150") != nil)
        Screen.press(&m, .char("n"))
        #expect(Render.frame(m).line(48).contains("no flagged recipient in this message"))
    }

    @Test(arguments: Screen.sizes)
    func theTranscriptCollapsesIdenticalRepliesAndKeepsEachReachable(_ size: (Int, Int)) throws {
        var m = Self.openKB(width: size.0, height: size.1)
        Screen.press(&m, .tab)
        var g = Render.frame(m)
        #expect(g.text.contains("── t1 · session s1 · peer 127.0.0.1:2526 · attempt 1 · pipelined"))
        let run = try #require(Screen.row(g, containing: "RCPT #101–#150 → 552 5.5.3 Too many recipients (50)"))
        #expect(Screen.role(g, run, at: "552 5.5.3") == .replyLimit)
        #expect(Screen.row(g, containing: "RCPT #1–#97 → 250 2.1.5 Ok (97)") != nil)
        // The flagged ones stand alone, and the cursor is on the first.
        let y98 = try #require(Screen.row(g, containing: "RCPT TO:<user98@example.net>  #98"))
        #expect(g[0, y98].role == .selected)
        #expect(g.line(y98).contains("! NDR'd"))
        #expect(Screen.row(g, containing: "NDR NDR-KB1 reports 53 recipients as failed") != nil)
        // Every reply of the run is reachable: Enter shows them one by one.
        while !(m.detail.map { if case .rcptRun(_, let r, _) = $0.rows.transcriptRows[m.cursorRow] { return r == 100...149 }; return false } ?? false) {
            Screen.press(&m, .down)
        }
        Screen.press(&m, .enter, .down)
        g = Render.frame(m)
        let y101 = try #require(Screen.row(g, containing: "RCPT TO:<user101@example.net>  #101"))
        #expect(Screen.role(g, y101, at: "552 5.5.3") == .replyLimit)
        for _ in 0..<49 { Screen.press(&m, .down) }
        g = Render.frame(m)
        #expect(Screen.row(g, containing: "RCPT TO:<user150@example.net>  #150") != nil)
    }

    @Test func theAnomaliesTabExplainsEachFinding() {
        var m = Self.openKB()
        Screen.press(&m, .tab, .tab)
        let text = Render.frame(m).text
        #expect(text.contains("MISCOUNT") && text.contains("ndr-count-mismatch [t1]"))
        #expect(text.contains("breaks: Microsoft KB822105"))
    }

    @Test func aSourceThatLogsNoPositionsSaysSo() throws {
        var settings = Monitor.Settings()
        settings.traits = SourceTraits(name: "Postfix", logsRcptPositions: false, logsAcceptedReplies: false,
                                       retriesChosenRecipients: false, canHold: true)
        var m = Monitor(settings)
        _ = m.update(.resize(width: 160, height: 50))
        Screen.feed(&m, [Scenario.postfixBounce.log])
        Screen.press(&m, .enter)
        let g = Render.frame(m)
        let y = try #require(Screen.row(g, containing: "Postfix logs no RCPT positions"))
        #expect(g.line(y).contains("Postfix logs no replies to accepted RCPTs"))
        #expect(g.text.contains("REPLY") && !g.text.contains("RCPT REPLY"))
    }

    @Test func tenThousandRecipientsAreAHandfulOfRows() {
        var m = Monitor()
        _ = m.update(.resize(width: 160, height: 50))
        var batch = LineBatch()
        for line in Scenario.kb822105Pattern(msg: "BIG", recipients: 10_000).text.split(separator: "\n") { batch.append(Array(line.utf8)) }
        _ = m.update(.logLines(batch))
        Screen.press(&m, .enter)
        #expect(m.detail?.rows.recipientRows.count == 5)
        let g = Render.frame(m)
        #expect(Screen.row(g, containing: "#101–#10000") != nil)
        #expect(m.cursorRecipients == Array(97...97))
    }
}

/// The destinations view: where the trouble is, by next hop.
@Suite struct DestinationsTests {
    @Test(arguments: Screen.sizes)
    func theDestinationsViewShowsThe552PeerWithItsLimit(_ size: (Int, Int)) throws {
        var m = Screen.monitor([Scenario.kb822105.log, Screen.clean("C1", minute: 5), Scenario.lostRecipient.log], width: size.0, height: size.1)
        Screen.press(&m, .char("d"))
        #expect(m.screen == .destinations)
        let g = Render.frame(m)
        let y = try #require(Screen.row(g, containing: "127.0.0.1:2526"))
        #expect(g.line(y).contains("100 552 5.5.3"))
        #expect(Screen.role(g, y, at: "100 552 5.5.3") == .replyLimit)
        // Sorted by trouble: the 552 peer (53 bounced, 1 deferred) above the clean one.
        let clean = try #require(Screen.row(g, containing: "127.0.0.1:2600"))
        #expect(y < clean)
        #expect(g.line(clean).contains(" - "), "the clean peer showed no limit")
        #expect(g.line(y).contains("64s\(size.0 >= 120 ? " ago" : "") 250 2.0.0"), "the last reply and how long ago")
        // Enter lists that destination's messages.
        Screen.press(&m, .enter)
        #expect(m.screen == .list)
        #expect(m.filter.source == "dest:127.0.0.1:2526")
        #expect(Set(m.order) == ["KB1", "LO1"])
    }

    @Test func recipientsNeverSentAreCountedByDomainWithTheirAges() throws {
        // Queued 30 minutes before "now", deferred without a session (the next hop did not answer).
        var b = LogBuilder(start: Timestamp(seconds: Screen.start + 35))
        let rc = recipients(4, domain: "unreachable.example")
        b.queued("U1", from: "a@b.example", rcpts: rc)
        for r in rc { b.outcome("U1", r, .deferred, txn: nil, reason: "connect to 127.0.0.1:9: Connection refused") }
        var m = Screen.monitor([b.text], width: 160, height: 50)
        _ = m.update(.tick(Screen.start + 35 + 30 * 60))
        Screen.press(&m, .char("d"))
        let g = Render.frame(m)
        let y = try #require(Screen.row(g, containing: "unreachable.example"))
        #expect(g.line(y).contains("1/4"))
        #expect(g.line(y).contains("29m ago connect to 127.0."), "the relay's last word on it, and how long ago")
        // 30 minutes old: the 20-40 minute bucket (the fourth) holds all four.
        let header = try #require(Screen.row(g, containing: "DESTINATION"))
        let col = try #require(g.line(header).range(of: "40   ")).lowerBound
        let x = g.line(header).distance(from: g.line(header).startIndex, to: col)
        #expect(g[x, y].text == "4")
    }
}

/// Every screen at both sizes the issue names: it fits, nothing is drawn past the edge.
@Suite struct ScreenSizeTests {
    @Test(arguments: [0, 1, 2, 3, 4], [0, 1])
    func everyScreenAtBothSizes(_ screen: Int, _ size: Int) throws {
        let (w, h) = Screen.sizes[size]
        var m = Screen.monitor([Scenario.kb822105.log, Scenario.dsnQuotesNeighbour.log], width: w, height: h)
        switch screen {
        case 0: break
        case 4: Screen.press(&m, .char("d"))
        default:
            while m.selectedID != "KB1" { Screen.press(&m, .down) }
            Screen.press(&m, .enter)
            for _ in 1..<screen { Screen.press(&m, .tab) }
        }
        let g = Render.frame(m)
        #expect(g.width == w && g.height == h)
        #expect((0..<h).allSatisfy { Grid.displayWidth(g.line($0)) == w })
        #expect(g.line(0).contains("! 5 anomalies"))
        #expect(g.roles(h - 1).contains(.keyhint))
        #expect(g.line(h - 1).contains("? help"))
    }
}
