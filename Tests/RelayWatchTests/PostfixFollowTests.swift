import Foundation
@testable import RelayWatch
import Testing
import TestSupport

/// `relaywatch --postfix --maillog FILE` follows Postfix's log with the same follower as any log:
/// a file not there yet, then lines as they come, across a rotation (logrotate's rename and a
/// new file), on the runtime's test terminal.
@Suite struct PostfixFollowTests {
    @Test func aMaillogNotThereYetThenRotated() throws {
        let scratch = try TempDir()
        let path = scratch.path("mail.log")
        let terminal = TestTerminal(width: 120, height: 30)
        var options = MonitorOptions(logPath: path)
        options.catchSignals = false
        options.format = .postfix
        options.themeFolders = [Built.root + "/Themes"]
        let runtime = MonitorRuntime(options: options, terminal: terminal)
        #expect(runtime.monitor.traits.name == "Postfix")
        try RuntimeWiringTests.until(runtime, terminal, "waiting for the file") { $0.contains("no delivery events yet") }

        func append(_ text: String) throws {
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try h.seekToEnd()
            try h.write(contentsOf: Data(text.utf8))
            try h.close()
        }
        try append("""
            Dec 01 21:53:10 mx postfix/qmgr[1]: ABCDE10001: from=<s@example.org>, size=1, nrcpt=2 (queue active)
            Dec 01 21:53:11 mx postfix/smtp[2]: ABCDE10001: to=<a@example.net>, relay=p[127.0.0.1]:25, delay=1, delays=0/0/0/1, dsn=5.5.3, status=bounced (host p[127.0.0.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))

            """)
        var screen = try RuntimeWiringTests.until(runtime, terminal, "the first message") { $0.contains("ABCDE10001") }
        #expect(screen.contains("in flight"))
        // logrotate: the file moves away, a new one takes its place; the message goes on in it.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        try append("""
            Dec 01 21:53:12 mx postfix/smtp[2]: ABCDE10001: to=<b@example.net>, relay=p[127.0.0.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
            Dec 01 21:53:12 mx postfix/bounce[3]: ABCDE10001: sender non-delivery notification: ABCDE10002
            Dec 01 21:53:13 mx postfix/qmgr[1]: ABCDE10001: removed

            """)
        screen = try RuntimeWiringTests.until(runtime, terminal, "the message finished after the rotation") { screen in
            screen.split(separator: "\n").contains { $0.hasPrefix("ABCDE10001") && $0.contains("done") }
        }
        let row = try #require(screen.split(separator: "\n").first { $0.hasPrefix("ABCDE10001") })
        #expect(row.contains("1/0/0/1"), "one delivered, one refused as too many: \(screen)")
        #expect(screen.contains("rotated"), "the header says the log rotated: \(screen)")
    }
}
