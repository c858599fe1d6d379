import Testing
import RelayCore
import RelayScenarios
@testable import RelayWatch

/// The monitor's screens rendered to the in-memory grid, fed by scenario logs.
@Suite struct MonitorViewTests {
    static let start = Timestamp(rfc3339: "2026-11-29T08:00:00Z")!.seconds

    static func monitor(_ logs: [String], width: Int = 80, height: Int = 24) -> Monitor {
        var m = Monitor()
        m.source.label = "relay.log"
        m.source.state = "following"
        var n = 0
        for log in logs {
            for line in log.split(separator: "\n") {
                n += 1
                var s = String(line)
                s.withUTF8 { m.ingest(line: UnsafeRawBufferPointer($0), number: n, overlong: false) }
            }
        }
        _ = m.update(.resize(width: width, height: height))
        _ = m.update(.tick(start + 65))
        m.refresh()
        m.settleSelection()
        return m
    }

    static func press(_ m: inout Monitor, _ keys: Key...) {
        for k in keys { _ = m.update(.key(k)) }
        m.refresh()
        m.settleSelection()
    }

    /// The row of the grid whose text contains `s`.
    static func row(_ g: Grid, containing s: String) -> Int? {
        (0..<g.height).first { g.line($0).contains(s) }
    }

    @Test func listShowsFinishedOnlyOnRequestAndMarksTheMiscount() throws {
        var m = Self.monitor([Scenario.kb822105.log])
        var g = Render.frame(m)
        #expect(g.width == 80 && g.height == 24)
        #expect(Self.row(g, containing: "KB1") == nil, "a finished message is hidden until f")
        #expect(g.line(0).contains("! 4 anomalies"))
        Self.press(&m, .char("f"))
        g = Render.frame(m)
        let y = try #require(Self.row(g, containing: "KB1"))
        #expect(g.line(y).contains("!4"))
        #expect(g.line(y).contains("done"))
        // The strip: 150 recipients in the cells left at 80 columns, each cell the worst of its group.
        let roles = g.roles(y)
        #expect(roles.contains(.anomaly))
        #expect(roles.contains(.replyLimit))
        #expect(roles.contains(.reply2xx))
        #expect(g.line(1).hasPrefix("QUEUE ID"))
        #expect(g.line(23).contains("Enter open"))
    }

    @Test func messageViewMarksTheThreeWronglyNDRdRecipients() throws {
        var m = Self.monitor([Scenario.kb822105.log], width: 160, height: 50)
        Self.press(&m, .char("f"), .enter)
        var g = Render.frame(m)
        #expect(g.line(1).contains("KB1  from <sender@example.org>  150 recipients"))
        #expect(g.line(2).contains("Recipients") && g.line(2).contains("Anomalies (4)"))
        // Move the cursor to #140: the view follows, so #97–#140 are on screen.
        Self.press(&m, .pageDown, .pageDown)
        for _ in 0..<(139 - 2 * m.pageSize) { Self.press(&m, .down) }
        #expect(m.recipientCursor == 139)
        g = Render.frame(m)
        for n in [98, 99, 100] {
            let y = try #require(Self.row(g, containing: "user\(n)@example.net "))
            let x = try #require(g.line(y).firstIndex(of: "!")).utf16Offset(in: g.line(y))
            #expect(g[x, y].role == .anomaly, "#\(n) must carry the anomaly mark")
            #expect(g.line(y).contains("250 2.1.5 Ok"))
            #expect(g.line(y).contains("bounced"))
        }
        let y101 = try #require(Self.row(g, containing: "user101@example.net "))
        #expect(g.line(y101).contains("l user101@example.net"))
        #expect(g.line(y101).contains("552 5.5.3 Too many recipients"))
        let x = g.line(y101).range(of: "552 5.5.3")!.lowerBound.utf16Offset(in: g.line(y101))
        #expect(g[x, y101].role == .replyLimit)
        let y97 = try #require(Self.row(g, containing: "user97@example.net "))
        #expect(g.line(y97).contains("D user97@example.net"))
    }

    @Test func transcriptPairsRepliesWithCommandsByPosition() throws {
        var m = Self.monitor([Scenario.kb822105.log], width: 160, height: 50)
        Self.press(&m, .char("f"), .enter, .tab)
        var g = Render.frame(m)
        #expect(g.line(2).contains("Transcript"))
        #expect(g.line(3).contains("── t1 · session s1 · peer 127.0.0.1:2526 · attempt 1 · pipelined"))
        #expect(g.line(4).contains("MAIL FROM:<sender@example.org>"))
        #expect(g.line(4).contains("250 2.1.0 Ok"))
        Self.press(&m, .pageDown, .pageDown)
        for _ in 0..<(100 - 2 * m.pageSize) { Self.press(&m, .down) }
        g = Render.frame(m)
        let y = try #require(Self.row(g, containing: "RCPT TO:<user101@example.net>  #101"))
        let x = g.line(y).range(of: "552 5.5.3")!.lowerBound.utf16Offset(in: g.line(y))
        #expect(g[x, y].role == .replyLimit)
    }

    @Test func anomaliesTabExplainsEachFinding() throws {
        var m = Self.monitor([Scenario.kb822105.log])
        Self.press(&m, .char("f"), .enter, .tab, .tab)
        let g = Render.frame(m)
        let text = g.text
        #expect(text.contains("MISCOUNT   ndr-count-mismatch [t1]") || text.contains("MISCOUNT  ndr-count-mismatch [t1]"))
        #expect(text.contains("peer refused RCPT #101–#150 with 552 5.5.3 too many"))
        #expect(text.contains("breaks: Microsoft KB822105"))
        #expect(g.height == 24)
    }

    @Test func filterKeepsMatchingMessagesAndEscapeClearsIt() throws {
        var m = Self.monitor([Scenario.kb822105.log, Scenario.correctResend.log, Scenario.mailboxFull.log])
        Self.press(&m, .char("f"))
        #expect(m.order.count == 3)
        Self.press(&m, .char("/"))
        for c in "rule:ndr-count" { Self.press(&m, .char(c)) }
        #expect(Render.frame(m).line(22).contains("filter: rule:ndr-count"))
        Self.press(&m, .enter)
        #expect(m.order == ["KB1"])
        Self.press(&m, .escape)
        #expect(m.order.count == 3)
        Self.press(&m, .char("/"))
        for c in "code:552 user5@" { Self.press(&m, .char(c)) }
        Self.press(&m, .enter)
        #expect(Set(m.order) == ["KB1", "OK1", "MF1"])
        // Editing starts from the current filter: erase it, then type a queue id (any case).
        Self.press(&m, .char("/"))
        for _ in 0..<"code:552 user5@".count { Self.press(&m, .backspace) }
        for c in "mf1" { Self.press(&m, .char(c)) }
        Self.press(&m, .enter)
        #expect(m.order == ["MF1"])
    }

    @Test func selectionStaysOnItsMessageWhileRowsChange() throws {
        var m = Self.monitor([Scenario.lostRecipient.log.replacingOccurrences(of: "\"event\":\"done\"", with: "\"event\":\"hold\"")])
        #expect(m.selectedID == "LO1")
        // New messages arrive that sort before it (older queue times) and after it.
        let older = Scenario.peerLimit20.log.replacingOccurrences(of: "2026-11-29T08:00:00", with: "2026-11-29T07:00:00")
            .replacingOccurrences(of: "\"event\":\"done\"", with: "\"event\":\"hold\"")
        var n = 1000
        for line in older.split(separator: "\n") {
            n += 1
            var s = String(line)
            s.withUTF8 { m.ingest(line: UnsafeRawBufferPointer($0), number: n, overlong: false) }
        }
        m.refresh()
        m.settleSelection()
        #expect(m.order == ["PL1", "LO1"])
        #expect(m.selectedID == "LO1")
        let g = Render.frame(m)
        let y = try #require(Self.row(g, containing: "LO1"))
        #expect(g[0, y].role == .selected)
    }

    @Test func qGoesBackThenQuitsAndHelpOpensAndCloses() {
        var m = Self.monitor([Scenario.kb822105.log])
        Self.press(&m, .char("f"), .enter)
        #expect(m.update(.key(.char("q"))) == .none)
        #expect(m.screen == .list)
        Self.press(&m, .char("?"))
        #expect(Render.frame(m).text.contains("recipient letters"))
        Self.press(&m, .char("x"))
        #expect(!m.helpVisible)
        #expect(m.update(.key(.char("q"))) == .quit)
    }

    @Test func malformedLinesAreCountedOnTheStatusLine() {
        let log = Scenario.correctResend.log + "garbage\n{\"v\":1\n"
        let m = Self.monitor([log])
        let status = Render.frame(m).line(22)
        #expect(status.contains("2 malformed (line "))
    }

    @Test func unicodeAddressesRenderAtTheirWidth() throws {
        let log = Scenario.mailboxFull.log.replacingOccurrences(of: "user1@example.net", with: "用户@例子.广告")
        var m = Self.monitor([log], width: 100, height: 24)
        Self.press(&m, .char("f"), .enter)
        let g = Render.frame(m)
        let y = try #require(Self.row(g, containing: "用户@例子.广告"))
        // The columns after the wide address still line up with the header's.
        let header = try #require(Self.row(g, containing: "ADDRESS"))
        let col = g.line(header).range(of: "TXN")!.lowerBound.utf16Offset(in: g.line(header))
        #expect(g[col, y].text == "t")  // "t1" starts under TXN
        #expect(g.line(y).contains("t1"))
    }

    @Test func mouseClickSelectsThenOpensAndTheWheelScrolls() {
        var m = Self.monitor([Scenario.kb822105.log, Scenario.dsnQuotesNeighbour.log])
        Self.press(&m, .char("f"))
        #expect(m.selectedID == "DQ1")
        _ = m.update(.mouse(.click(x: 5, y: Layout.listFirstRow + 1)))
        #expect(m.selectedID == "KB1")
        #expect(m.screen == .list)
        _ = m.update(.mouse(.click(x: 5, y: Layout.listFirstRow + 1)))
        #expect(m.screen == .message("KB1", .recipients))
        // In the Recipients tab the wheel and the keys move the cursor; the view follows it.
        _ = m.update(.mouse(.wheelDown))
        #expect(m.recipientCursor == 3 && m.detailTop == 0)
        // The cursor stops at the last recipient, the view at the end of the content: one key
        // up moves the cursor at once.
        for _ in 0..<100 { _ = m.update(.key(.pageDown)) }
        #expect(m.recipientCursor == 149)
        #expect(m.detailTop == 150 - (m.detailRows - 1))
        _ = m.update(.key(.up))
        #expect(m.recipientCursor == 148 && m.detailTop == 150 - (m.detailRows - 1))
    }

    @Test func sortAndThemeKeysCycleAndSaySo() {
        var m = Self.monitor([Scenario.kb822105.log])
        m.themeNames = ["default", "light", "monochrome"]
        #expect(m.update(.key(.char("t"))) == .themeChanged)
        #expect(m.themeName == "light")
        #expect(Render.frame(m).line(22).contains("theme light"))
        Self.press(&m, .char("s"))
        #expect(m.sort == .anomalies)
        #expect(Render.frame(m).line(22).contains("sorted by anomalies"))
    }

    @Test func startUpWarningsAreSaidOnceThenGo() {
        var m = Monitor()
        m.notices = ["theme mine: unknown role \"reply.9xx\""]
        _ = m.update(.resize(width: 80, height: 24))
        _ = m.update(.tick(1000))
        #expect(Render.frame(m).line(22).contains("unknown role"))
        _ = m.update(.tick(1020))
        #expect(!Render.frame(m).line(22).contains("unknown role"))
    }

    @Test func smallScreensSaySo() {
        var m = Self.monitor([Scenario.kb822105.log])
        _ = m.update(.resize(width: 10, height: 3))
        #expect(Render.frame(m).line(0).hasPrefix("relaywatch"))
    }
}

/// Every screen at both sizes the issue names: it fits, nothing is drawn past the edge, and the
/// screen's essentials are there with their roles.
@Suite struct MonitorScreenSizeTests {
    static let sizes = [(80, 24), (160, 50)]

    @Test(arguments: [0, 1, 2, 3], [0, 1])
    func everyScreenAtBothSizes(_ screen: Int, _ size: Int) throws {
        let (w, h) = Self.sizes[size]
        var m = MonitorViewTests.monitor([Scenario.kb822105.log, Scenario.dsnQuotesNeighbour.log], width: w, height: h)
        MonitorViewTests.press(&m, .char("f"))
        if screen > 0 {
            // Open KB1 (the list starts on DQ1, the first by queue time and id).
            MonitorViewTests.press(&m, .down)
            #expect(m.selectedID == "KB1")
            MonitorViewTests.press(&m, .enter)
        }
        for _ in 1..<max(1, screen) { MonitorViewTests.press(&m, .tab) }
        let g = Render.frame(m)
        #expect(g.width == w && g.height == h)
        #expect((0..<h).allSatisfy { Grid.displayWidth(g.line($0)) == w })
        #expect(g.line(0).contains("! 5 anomalies"))
        #expect(g.roles(h - 1).contains(.keyhint))
        let text = g.text
        switch screen {
        case 0:
            let y = try #require(MonitorViewTests.row(g, containing: "KB1"))
            #expect(g.roles(y).contains(.anomaly) && g.roles(y).contains(.replyLimit))
            let dq = try #require(MonitorViewTests.row(g, containing: "DQ1"))
            #expect(g.line(dq).contains("!1"))
        case 1:
            #expect(text.contains("RCPT REPLY"))
            #expect(text.contains("D user1@example.net"))
            #expect(g.roles(4).contains(.reply2xx))
        case 2:
            #expect(text.contains("MAIL FROM:<sender@example.org>"))
            #expect(text.contains("RCPT TO:<user1@example.net>  #1"))
        default:
            #expect(text.contains("ndr-count-mismatch"))
            #expect(text.contains("breaks: "))
        }
    }
}
