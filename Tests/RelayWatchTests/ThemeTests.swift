import Foundation
import Testing
@testable import RelayWatch

@Suite struct ThemeTests {
    static let themesFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Themes").path

    @Test func theBuiltInDefaultIsThemesDefaultToml() throws {
        let file = try String(contentsOfFile: Self.themesFolder + "/default.toml", encoding: .utf8)
        #expect(file == ThemeLoader.builtinDefaultText + "\n")
        // And it gives every role a style of its own.
        #expect(Set(ThemeLoader.builtinDefault.styles.keys) == Set(Role.allCases))
    }

    @Test(arguments: ["default", "light", "high-contrast", "monochrome"])
    func shippedThemesLoadCleanly(_ name: String) {
        let loaded = ThemeLoader.resolve(name, folders: [Self.themesFolder], environment: [:])
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
        #expect(loaded.theme.name == name)
        #expect(Set(loaded.theme.styles.keys) == Set(Role.allCases))
        // Too-many must not look like any other 5xx, in any theme.
        #expect(loaded.theme.style(.replyLimit) != loaded.theme.style(.reply5xx))
    }

    @Test func aMissingRoleFallsBackToTheDefault() {
        let loaded = ThemeLoader.parse(#"[roles]"# + "\n" + #""reply.2xx" = { fg = "blue" }"#, name: "mine")
        #expect(loaded.warnings.isEmpty)
        #expect(loaded.theme.style(.reply2xx).fg == TermColor("blue"))
        #expect(loaded.theme.style(.reply5xx) == ThemeLoader.builtinDefault.style(.reply5xx))
    }

    @Test func mistakesAreReportedAndSkipped() {
        let text = """
            name = "broken"
            colour = "red"
            [roles]
            "reply.2xx" = { fg = "chartreuse-ish", bold = "yes", blink = true }
            "reply.9xx" = { fg = "red" }
            pending = "grey"
            "reply.4xx" = { fg = 300 }
            "reply.5xx" = { fg = "#12345" }
            anomaly = { bg = "#ff8800" }
            """
        let loaded = ThemeLoader.parse(text, name: "broken")
        #expect(loaded.warnings.count == 8, "\(loaded.warnings)")
        #expect(loaded.warnings.contains("theme broken: unknown key \"colour\""))
        #expect(loaded.warnings.contains("theme broken: unknown role \"reply.9xx\""))
        #expect(loaded.warnings.contains { $0.contains("reply.2xx.fg") && $0.contains("is not a colour") })
        #expect(loaded.warnings.contains("theme broken: reply.2xx.bold must be true or false"))
        #expect(loaded.warnings.contains("theme broken: unknown attribute \"blink\" for reply.2xx"))
        #expect(loaded.warnings.contains { $0.hasPrefix("theme broken: pending must be a table") })
        // What was right still applies.
        #expect(loaded.theme.style(.anomaly).bg == .rgb(0xFF, 0x88, 0x00))
        #expect(loaded.theme.name == "broken")
    }

    @Test func notTomlAtAllKeepsTheDefault() {
        // (This very input aborts toml++, which is why theme files have their own reader.)
        let loaded = ThemeLoader.parse("name = \"ok\"\n[[[ nope", name: "junk")
        #expect(loaded.warnings == ["theme junk: line 2: arrays of tables ([[...]]) are not supported; using default"])
        #expect(loaded.theme.style(.reply2xx) == ThemeLoader.builtinDefault.style(.reply2xx))
    }

    @Test func monochromeAndNoColorDropColourButKeepAttributes() {
        let mono = ThemeLoader.resolve("monochrome", folders: [Self.themesFolder], environment: [:]).theme
        for role in Role.allCases {
            #expect(mono.style(role).fg == .terminalDefault && mono.style(role).bg == .terminalDefault)
        }
        #expect(mono.style(.anomaly).reverse)
        let noColor = ThemeLoader.resolve("default", folders: [Self.themesFolder], environment: ["NO_COLOR": "1"]).theme
        #expect(noColor.style(.reply5xx).fg == .terminalDefault)
        #expect(noColor.style(.replyLimit).bold)
    }

    @Test func unknownThemeNamesAndUnreadablePathsSayWhy() {
        let missing = ThemeLoader.resolve("nosuch", folders: [Self.themesFolder], environment: [:])
        #expect(missing.warnings.first?.hasPrefix("no theme \"nosuch\"") == true)
        let unreadable = ThemeLoader.resolve("/nonexistent/theme.toml", folders: [], environment: [:])
        #expect(unreadable.warnings.first?.contains("cannot read it") == true)
        #expect(ThemeLoader.available(in: [Self.themesFolder]) == ["default", "high-contrast", "light", "monochrome"])
    }

    @Test func coloursMapDownToWhatTheTerminalHas() {
        #expect(TermColor("#ff0000")?.index(forColors: 256) == 196)
        #expect(TermColor("#ff0000")?.index(forColors: 8) == 1)
        #expect(TermColor("#808080")?.index(forColors: 256) == 244)
        #expect(TermColor("208")?.index(forColors: 16) == 3)  // orange: nearest of 16 is yellow
        #expect(TermColor("bright-blue")?.index(forColors: 8) == 4)
        #expect(TermColor("default")?.index(forColors: 256) == nil)
        #expect(TermColor("mauve") == nil)
        #expect(TermColor("256") == nil)
    }
}

@Suite struct GridTests {
    @Test func wideCharactersTakeTwoCellsAndAreNeverCut() {
        var g = Grid(width: 10, height: 1)
        let end = g.put("a中b", x: 0, y: 0, role: .text)
        #expect(end == 4)
        #expect(g.line(0) == "a中b      ")
        #expect(g[2, 0].width == 0)
        // A wide character that would straddle the limit is left out, not half-drawn.
        var h = Grid(width: 10, height: 1)
        h.put("abc中", x: 0, y: 0, role: .reply2xx, limit: 4)
        #expect(h.line(0) == "abc       ")
        #expect(h.roles(0)[0] == .reply2xx && h.roles(0)[3] == .text)
    }

    @Test func controlCharactersAreShownNotSentToTheTerminal() {
        var g = Grid(width: 6, height: 1)
        g.put("a\u{1B}[2Jb", x: 0, y: 0, role: .text)
        #expect(!g.line(0).contains("\u{1B}"))
        #expect(g.line(0) == "a·[2Jb")
        // C1 controls too: U+009B is CSI and U+009D OSC on terminals that take them (xterm does).
        var c1 = Grid(width: 12, height: 1)
        c1.put("a\u{9B}2Jb\u{9D}0;x\u{7F}", x: 0, y: 0, role: .text)
        #expect(c1.line(0) == "a·2Jb·0;x·  ")
    }

    @Test func widths() {
        #expect(Grid.displayWidth("josé@exämple.test") == 17)
        #expect(Grid.displayWidth("用户@例子.广告") == 14)
        #expect(Grid.displayWidth("e\u{301}") == 1)
        #expect(Grid.displayWidth("📧") == 2)
    }
}
