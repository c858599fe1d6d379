import Testing
import RelayCore
import RelayScenarios
@testable import RelayWatch

/// Feeding the monitor as the runtime does, and reading the screen back from the grid.
enum Screen {
    static let start = Timestamp(rfc3339: "2026-11-29T08:00:00Z")!.seconds

    /// A monitor that has read `logs` (a log opened after the fact: nothing pressed yet).
    static func monitor(_ logs: [String], width: Int = 80, height: Int = 24) -> Monitor {
        var settings = Monitor.Settings()
        settings.label = "relay.log"
        var m = Monitor(settings)
        _ = m.update(.resize(width: width, height: height))
        _ = m.update(.tick(start + 65))
        _ = m.update(.follower(FollowerStatus(state: .following)))
        feed(&m, logs)
        return m
    }

    static func feed(_ m: inout Monitor, _ logs: [String]) {
        var batch = LineBatch()
        var n = 0
        for log in logs {
            for line in log.split(separator: "\n") {
                n += 1
                batch.append(Array(line.utf8), number: n)
            }
        }
        _ = m.update(.logLines(batch))
    }

    @discardableResult
    static func press(_ m: inout Monitor, _ keys: Key...) -> [Effect] {
        keys.flatMap { m.update(.key($0)) }
    }

    /// The row of the grid whose text contains `s`.
    static func row(_ g: Grid, containing s: String) -> Int? {
        (0..<g.height).first { g.line($0).contains(s) }
    }

    static func rows(_ g: Grid, containing s: String) -> [Int] {
        (0..<g.height).filter { g.line($0).contains(s) }
    }

    /// The role of the first cell of `s` on row `y`.
    static func role(_ g: Grid, _ y: Int, at s: String) -> Role? {
        let line = g.line(y)
        guard let r = line.range(of: s) else { return nil }
        return g[line.distance(from: line.startIndex, to: r.lowerBound), y].role
    }

    /// A finished message the peer took whole: nothing to look at.
    static func clean(_ id: String, minute: Int, rcpts count: Int = 3) -> String {
        var b = LogBuilder(start: Timestamp(seconds: start + Double(minute) * 60))
        let rc = recipients(count, domain: "clean.example")
        b.queued(id, from: "app@corp.example", rcpts: rc)
        b.session("s-\(id)", peer: "127.0.0.1:2600")
        b.transaction(id, "t1", session: "s-\(id)", rcpts: rc, answers: PeerAnswers())
        for r in rc { b.outcome(id, r, .delivered, txn: "t1") }
        b.done(id)
        return b.text
    }

    /// The KB822105 message still in the queue (no `done`).
    static var kbInFlight: String {
        Scenario.kb822105.log.split(separator: "\n").filter { !$0.contains("\"event\":\"done\"") }.joined(separator: "\n") + "\n"
    }

    static let sizes = [(80, 24), (160, 50)]
}

/// The list as a mail admin first meets it: it leads with its findings.
@Suite struct ListTests {
    @Test(arguments: Screen.sizes)
    func aFinishedLogShowsItsFlaggedMessagesOnTheFirstScreen(_ size: (Int, Int)) throws {
        // Thirty clean messages finish after the KB822105 one: the newest finished do not push it away.
        let later = (1...30).map { Screen.clean("C\($0)", minute: 10 + $0) }
        let m = Screen.monitor([Scenario.kb822105.log] + later, width: size.0, height: size.1)
        let g = Render.frame(m)
        let layout = m.layout
        // KB1 is the first message row, flagged; the clean ones follow, dimmed, as far as they fit.
        #expect(g.line(layout.listRows.y).hasPrefix("KB1"))
        #expect(Screen.role(g, layout.listRows.y, at: "!4") == .anomaly)
        #expect(g.line(0).contains("! 4 anomalies"))
        let clean = layout.listRows.y..<layout.listRows.bottom
        let cleanRows = clean.filter { g.line($0).hasPrefix("C") }
        #expect(cleanRows.count == min(30, layout.listRows.height - 1), "the rest of the screen holds the latest finished messages")
        #expect(cleanRows.allSatisfy { g[0, $0].role == .dim || g[0, $0].role == .selected })
        // The most recent first: C30 right under KB1.
        #expect(g.line(layout.listRows.y + 1).hasPrefix("C30"))
    }

    @Test func messagesInFlightComeFirstThenFindings() throws {
        let m = Screen.monitor([Scenario.kb822105.log, Screen.clean("C1", minute: 20), Screen.kbInFlight.replacingOccurrences(of: "KB1", with: "KB2")])
        #expect(m.order == ["KB2", "KB1", "C1"])
        #expect(m.dimmedFrom == 2)
        let g = Render.frame(m)
        let y = try #require(Screen.row(g, containing: "KB2"))
        #expect(g.line(y).contains("in flight"))
    }

    @Test func fShowsEverythingAndAShowsOnlyFindings() throws {
        let later = (1...30).map { Screen.clean("C\($0)", minute: 10 + $0) }
        var m = Screen.monitor([Scenario.kb822105.log, Scenario.postfixBounce.log] + later)
        #expect(m.order.count == m.layout.listRows.height)
        Screen.press(&m, .char("f"))
        #expect(m.order.count == 32)
        #expect(Render.frame(m).line(m.layout.status.y).contains("showing every message (f: back)"))
        // The list scrolls to keep the selection in sight: the last row, and back to the first.
        Screen.press(&m, .end)
        var g = Render.frame(m)
        let last = try #require(m.order.last)
        let y = try #require((0..<g.height).first { g.line($0).hasPrefix(last + " ") })
        #expect(m.selectedID == last && g[0, y].role == .selected)
        Screen.press(&m, .home)
        g = Render.frame(m)
        #expect(g.line(m.layout.listRows.y).hasPrefix(m.order[0]) && g[0, m.layout.listRows.y].role == .selected)
        Screen.press(&m, .char("f"), .char("a"))
        #expect(Set(m.order) == ["KB1", "PF1"])
        // Said once: the status line names the view one time.
        let status = Render.frame(m).line(m.layout.status.y)
        #expect(status.components(separatedBy: "findings only").count == 2, "\(status)")
    }

    @Test func acknowledgingMovesAMessageAmongTheFinishedOnes() throws {
        let later = (1...30).map { Screen.clean("C\($0)", minute: 10 + $0) }
        var m = Screen.monitor([Scenario.kb822105.log, Scenario.postfixBounce.log] + later)
        #expect(Array(m.order.prefix(2)).sorted() == ["KB1", "PF1"])
        // x on the selected message (the first row).
        let first = try #require(m.selectedID)
        Screen.press(&m, .char("x"))
        #expect(m.acknowledged == [first])
        #expect(m.order.first != first, "an acknowledged message joins the finished ones")
        #expect(m.order.count == m.layout.listRows.height)
        var g = Render.frame(m)
        #expect(g.line(m.layout.status.y).contains("\(first) acknowledged"))
        // X acknowledges every message shown with a finding: the header calms down.
        Screen.press(&m, .char("X"))
        #expect(m.acknowledged == ["KB1", "PF1"])
        g = Render.frame(m)
        #expect(g.line(0).contains("✓ 2 acknowledged"))
        #expect(!g.line(0).contains("anomalies"))
        // a still shows them, marked as seen; x again takes the acknowledgement back.
        Screen.press(&m, .char("a"))
        #expect(Set(m.order) == ["KB1", "PF1"])
        g = Render.frame(m)
        let y = try #require(Screen.row(g, containing: "KB1"))
        #expect(g.line(y).contains("✓4"))
        while m.selectedID != "KB1" { Screen.press(&m, .down) }
        Screen.press(&m, .char("x"), .char("a"))
        #expect(m.order.first == "KB1")
    }

    @Test func theFilterSearchesEveryMessageAndFindsAnyQueueID() throws {
        let later = (1...60).map { Screen.clean("C\($0)", minute: 10 + $0) }
        var m = Screen.monitor([Scenario.kb822105.log] + later)
        #expect(!m.order.contains("C3"), "an old clean message is not on the first screen")
        Screen.press(&m, .char("/"), .char("c"), .char("3"), .enter)
        #expect(Set(m.order) == Set(["C3"] + (30...39).map { "C\($0)" }))
        Screen.press(&m, .char("/"))
        for _ in 0..<2 { Screen.press(&m, .backspace) }
        for c in "c3 clean.example" { Screen.press(&m, .char(c)) }
        Screen.press(&m, .enter)
        #expect(m.order.contains("C3"))
        // A filter on a recipient's domain, on a code, on a rule.
        Screen.press(&m, .escape, .char("/"))
        for c in "rule:ndr-count" { Screen.press(&m, .char(c)) }
        Screen.press(&m, .enter)
        #expect(m.order == ["KB1"])
        let g = Render.frame(m)
        #expect(g.line(m.layout.status.y).contains("filter: rule:ndr-count (Esc clears)"))
        Screen.press(&m, .escape)
        #expect(m.filter.isEmpty)
    }

    @Test func enterOnAnEmptyListDoesNothing() {
        var m = Screen.monitor([Scenario.kb822105.log])
        Screen.press(&m, .char("/"))
        for c in "nosuch" { Screen.press(&m, .char(c)) }
        Screen.press(&m, .enter)
        #expect(m.order.isEmpty)
        Screen.press(&m, .enter)
        #expect(m.screen == .list)
        #expect(Render.frame(m).text.contains("no message matches the filter \"nosuch\""))
    }

    @Test func theSelectionStaysOnItsMessageWhileRowsChange() throws {
        var m = Screen.monitor([Scenario.lostRecipient.log.replacingOccurrences(of: "\"event\":\"done\"", with: "\"event\":\"hold\"")])
        #expect(m.selectedID == "LO1")
        // New messages arrive that sort before it (older queue times).
        let older = Scenario.peerLimit20.log.replacingOccurrences(of: "2026-11-29T08:00:00", with: "2026-11-29T07:00:00")
            .replacingOccurrences(of: "\"event\":\"done\"", with: "\"event\":\"hold\"")
        Screen.feed(&m, [older])
        #expect(m.order == ["PL1", "LO1"])
        #expect(m.selectedID == "LO1")
        let g = Render.frame(m)
        let y = try #require(Screen.row(g, containing: "LO1"))
        #expect(g[0, y].role == .selected)
    }

    @Test func malformedLinesAreCountedOnTheStatusLine() {
        let m = Screen.monitor([Scenario.correctResend.log + "garbage\n{\"v\":1\n"])
        #expect(Render.frame(m).line(22).contains("2 malformed (line "))
    }

    @Test func mouseClickSelectsThenOpens() {
        var m = Screen.monitor([Scenario.kb822105.log, Scenario.dsnQuotesNeighbour.log])
        let second = m.order[1]
        _ = m.update(.mouse(.click(x: 5, y: m.layout.listRows.y + 1)))
        #expect(m.selectedID == second && m.screen == .list)
        _ = m.update(.mouse(.click(x: 5, y: m.layout.listRows.y + 1)))
        #expect(m.screen == .message(second, .recipients))
    }
}

/// The header and footer at 80 columns.
@Suite struct ChromeTests {
    @Test func theSparklineShowsAt80Columns() {
        var m = Screen.monitor([])
        // Events in five different seconds.
        for s in 0..<5 {
            _ = m.update(.tick(Screen.start + 100 + Double(s)))
            Screen.feed(&m, [Screen.clean("S\(s)", minute: s, rcpts: 1 + s)])
        }
        let g = Render.frame(m)
        let header = g.roles(0)
        let bars = header.indices.filter { header[$0] == .sparkline && g[$0, 0].text != " " }
        #expect(bars.count >= 4, "\(g.line(0))")
        #expect(g.line(0).contains("no anomalies"))
    }

    @Test func hintsAndHelpComeFromTheKeyTable() {
        // Every key is bound once per screen, so the dispatch is never ambiguous.
        for screen in ScreenKind.allCases {
            var seen = Set<Key>()
            for b in KeyMap.bindings where b.screens.contains(screen) {
                for k in b.keys { #expect(seen.insert(k).inserted, "\(k) is bound twice on \(screen)") }
            }
        }
        var m = Screen.monitor([Scenario.kb822105.log], width: 200, height: 60)
        // At 200 columns every hint of the list shows, and each one's key does what the help says.
        let bar = Render.frame(m).line(59)
        for (key, word) in KeyMap.hints(on: .list, relay: false).left + KeyMap.hints(on: .list, relay: false).pinned {
            #expect(bar.contains("\(key) \(word)"), "\(key) \(word) missing from \(bar)")
        }
        Screen.press(&m, .char("?"))
        let help = Render.frame(m).text
        for b in KeyMap.bindings where !b.relay {
            #expect(help.contains(b.summary), "help lacks \(b.summary)")
        }
        #expect(help.contains("the relay (needs --socket)"))
        // Any key but the scrolling ones closes it; then keys work again.
        Screen.press(&m, .char("z"))
        #expect(m.helpTop == nil)
        #expect(Screen.press(&m, .char("q")) == [.quit])
    }

    @Test func theHelpScrollsOnASmallScreen() {
        var m = Screen.monitor([Scenario.kb822105.log])
        Screen.press(&m, .char("?"))
        let first = Render.frame(m).text
        #expect(first.contains("relaywatch keys"))
        Screen.press(&m, .pageDown, .pageDown)
        let later = Render.frame(m).text
        #expect(later.contains("recipient letters"))
        #expect(!later.contains("relaywatch keys"))
    }

    @Test func startUpWarningsAreSaidOnceThenGo() {
        var settings = Monitor.Settings()
        settings.notices = ["theme mine: unknown role \"reply.9xx\""]
        var m = Monitor(settings)
        _ = m.update(.resize(width: 80, height: 24))
        _ = m.update(.tick(1000))
        #expect(Render.frame(m).line(22).contains("unknown role"))
        _ = m.update(.tick(1020))
        #expect(!Render.frame(m).line(22).contains("unknown role"))
    }

    @Test func sortAndThemeKeysCycleAndSaySo() {
        var settings = Monitor.Settings()
        settings.themeNames = ["default", "light", "monochrome"]
        var m = Monitor(settings)
        _ = m.update(.resize(width: 80, height: 24))
        #expect(Screen.press(&m, .char("t")) == [.loadTheme("light")])
        #expect(Render.frame(m).line(22).contains("theme light"))
        Screen.press(&m, .char("s"))
        #expect(m.sort == .findings)
        #expect(Render.frame(m).line(22).contains("sorted by findings"))
    }

    @Test func smallScreensSaySo() {
        var m = Screen.monitor([Scenario.kb822105.log])
        _ = m.update(.resize(width: 10, height: 3))
        #expect(Render.frame(m).line(0).hasPrefix("relaywatch"))
    }
}

/// A grid in a failed expectation is its text, not a quarter of a million cells.
extension Grid: CustomTestStringConvertible {
    public var testDescription: String { "\n" + text }
}

/// The mouse over the help scrolls it, and a click closes it rather than acting behind it.
@Suite struct HelpMouseTests {
    @Test func theWheelScrollsTheHelpAndAClickClosesIt() {
        var m = Screen.monitor([Scenario.kb822105.log, Scenario.dsnQuotesNeighbour.log])
        let selected = m.selectedID
        Screen.press(&m, .char("?"))
        for _ in 0..<20 { _ = m.update(.mouse(.wheelDown)) }
        #expect(!Render.frame(m).text.contains("relaywatch keys"))
        #expect(m.selectedID == selected, "the list behind did not move")
        // It stops at its last line, so one turn back up shows more at once.
        let bottom = Render.frame(m).text
        _ = m.update(.mouse(.wheelUp))
        #expect(Render.frame(m).text != bottom)
        _ = m.update(.mouse(.click(x: 5, y: m.layout.listRows.y + 1)))
        #expect(m.helpTop == nil)
        #expect(m.selectedID == selected && m.screen == .list)
    }
}
