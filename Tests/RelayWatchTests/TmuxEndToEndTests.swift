import Foundation
import Testing
import RelayScenarios
import TestSupport

/// The colour of each character of a captured line: a small SGR reader, enough for tmux's output.
struct StyledChar {
    var char: Character
    var fg: String
    var bg: String
    var bold: Bool
}

func styled(_ line: String) -> [StyledChar] {
    var out: [StyledChar] = []
    var fg = "", bg = "", bold = false
    var i = line.startIndex
    while i < line.endIndex {
        if line[i] == "\u{1B}", line.index(after: i) < line.endIndex, line[line.index(after: i)] == "[" {
            var j = line.index(i, offsetBy: 2)
            while j < line.endIndex, !line[j].isLetter { j = line.index(after: j) }
            let params = line[line.index(i, offsetBy: 2)..<j].split(separator: ";").map(String.init)
            var k = 0
            while k < params.count {
                let p = params[k]
                switch p {
                case "0", "": fg = ""; bg = ""; bold = false
                case "1": bold = true
                case "22": bold = false
                case "39": fg = ""
                case "49": bg = ""
                case "38", "48":
                    let value = params[k..<min(params.count, k + 3)].joined(separator: ";")
                    if p == "38" { fg = value } else { bg = value }
                    k += 2
                default:
                    if let n = Int(p), (30...37).contains(n) || (90...97).contains(n) { fg = p }
                    if let n = Int(p), (40...47).contains(n) || (100...107).contains(n) { bg = p }
                }
                k += 1
            }
            i = j < line.endIndex ? line.index(after: j) : j
            continue
        }
        out.append(StyledChar(char: line[i], fg: fg, bg: bg, bold: bold))
        i = line.index(after: i)
    }
    return out
}

@Suite(.serialized) struct TmuxEndToEndTests {
    @Test func theMonitorUnderTmux() throws {
        let dir = try TempDir()
        // The KB822105 message still in the queue (no done), so it is on the first screen.
        let inFlight = Scenario.kb822105.log.split(separator: "\n").filter { !$0.contains("\"event\":\"done\"") }
        let log = try dir.write("relay.log", inFlight.joined(separator: "\n") + "\n")
        let session = try TmuxSession(width: 120, height: 40,
                                      command: "\(Run.relaywatch.path) --log \(log); echo EXITED $?; sleep 60")

        var screen = try session.wait("the list") { $0.contains("KB1") && $0.contains("! 4 anomalies") }
        #expect(screen.contains("QUEUE ID"))

        // The too-many recipients carry the limit colour (magenta, bold), the wrongly NDR'd ones
        // the anomaly colours, the delivered ones green.
        let coloured = try session.colours().split(separator: "\n").map(String.init)
        let row = try #require(coloured.first { $0.contains("KB1") })
        let cells = styled(row)
        // The strip is the row's tail, from the first green D on.
        let stripStart = try #require(cells.firstIndex { $0.char == "D" && $0.fg == "32" })
        let limit = cells[stripStart...].filter { $0.char == "l" }
        #expect(!limit.isEmpty)
        #expect(limit.allSatisfy { $0.fg == "35" && $0.bold }, "\(limit.map { "\($0.fg)/\($0.bold)" }) in \(row.debugDescription)")
        #expect(cells.contains { $0.char == "!" && $0.bg == "41" })
        #expect(cells.contains { $0.char == "D" && $0.fg == "32" })

        // Enter opens the message; Esc comes back.
        try session.keys("Enter")
        screen = try session.wait("the message view") { $0.contains("150 recipients") && $0.contains("Anomalies (4)") }
        #expect(screen.contains("user1@example.net"))
        try session.keys("Escape")
        try session.wait("the list again") { $0.contains("QUEUE ID") }

        // / filters.
        try session.keys("/", "n", "o", "s", "u", "c", "h", "Enter")
        try session.wait("the empty filter result") { $0.contains("no message matches") }
        try session.keys("Escape")
        try session.wait("the filter cleared") { $0.contains("KB1") }

        // A resize redraws at the new size.
        try session.tmux(["resize-window", "-t", "main", "-x", "90", "-y", "30"])
        screen = try session.wait("the redraw at 90x30") { s in
            let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
            // The header's findings sit at the right edge of the new width.
            return lines.count >= 30 && lines[0].count <= 90 && lines[0].trimmingCharacters(in: .whitespaces).hasSuffix("! 4 anomalies")
        }

        // Lines appended to the log appear.
        let more = Scenario.correctResend.log.split(separator: "\n").filter { !$0.contains("\"event\":\"done\"") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((more.joined(separator: "\n") + "\n").utf8))
        try handle.close()
        try session.wait("the appended message") { $0.contains("OK1") }

        // q quits and puts the terminal back: the shell's line is there, the monitor is gone.
        try session.keys("q")
        screen = try session.wait("the exit") { $0.contains("EXITED 0") }
        #expect(!screen.contains("QUEUE ID"))
    }

    @Test func sigtermRestoresTheTerminalToo() throws {
        let dir = try TempDir()
        let log = try dir.write("relay.log", Scenario.mailboxFull.log)
        let pidFile = dir.path("pid")
        // The monitor in the foreground (it needs the terminal); a helper sends SIGTERM.
        let session = try TmuxSession(width: 100, height: 30,
                                      command: "(sleep 1.5; kill -TERM $(cat \(pidFile))) & sh -c 'echo $$ > \(pidFile); exec \(Run.relaywatch.path) --log \(log)'; echo EXITED $?; sleep 60")
        let screen = try session.wait("the exit after SIGTERM", seconds: 15) { $0.contains("EXITED") }
        #expect(screen.contains("EXITED 0"))
        #expect(!screen.contains("QUEUE ID"))
    }

    @Test func ctrlCQuitsAndRestoresTheTerminal() throws {
        let dir = try TempDir()
        let log = try dir.write("relay.log", Scenario.mailboxFull.log)
        let session = try TmuxSession(width: 100, height: 30,
                                      command: "\(Run.relaywatch.path) --log \(log); echo EXITED $?; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 60")
        try session.wait("the monitor") { $0.contains("QUEUE ID") }
        try session.keys("C-c")
        let screen = try session.wait("the exit after Ctrl-C") { $0.contains("EXITED") && $0.contains("icanon") }
        #expect(screen.contains("EXITED 0"))
        #expect(screen.split(separator: "\n").contains { $0 == "icanon" })
    }

    @Test func aCrashRestoresTheTerminal() throws {
        let dir = try TempDir()
        let log = try dir.write("relay.log", Scenario.mailboxFull.log)
        let pidFile = dir.path("pid")
        // SIGSEGV takes the same path as a crash in Swift code: the handler puts the terminal back
        // (canonical mode, cursor, main screen), then Swift's backtracer or the default action runs.
        let session = try TmuxSession(width: 100, height: 30, command: """
            (sleep 1.5; kill -SEGV $(cat \(pidFile))) & SWIFT_BACKTRACE=interactive=no sh -c 'echo $$ > \(pidFile); exec \(Run.relaywatch.path) --log \(log)'; \
            echo EXITED $?; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 60
            """)
        let screen = try session.wait("the crash exit", seconds: 20) { $0.contains("EXITED") && $0.contains("icanon") }
        #expect(screen.contains("EXITED 139"))
        #expect(screen.split(separator: "\n").contains { $0 == "icanon" }, "the terminal is left in canonical mode")
        #expect(!screen.contains("QUEUE ID"))
    }
}
