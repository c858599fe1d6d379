import Foundation
import Testing
import TestSupport

/// Postfix's lines from the systemd journal (`journalctl -o json`) through the same adapter: the
/// report reads journal records from a file or a pipe as it reads syslog lines, and, where this
/// machine runs journald, from the real journal with --journal.
@Suite struct PostfixJournalTests {
    static func record(_ seconds: Int, _ identifier: String, _ message: String) -> String {
        let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"__CURSOR":"s=1;i=\#(seconds)","__REALTIME_TIMESTAMP":"\#(seconds)000000","_HOSTNAME":"deb13","SYSLOG_FACILITY":"2","SYSLOG_IDENTIFIER":"\#(identifier)","SYSLOG_PID":"4242","MESSAGE":"\#(escaped)"}"#
    }

    static let bounce552: [String] = [
        record(1_796_161_990, "postfix/qmgr", "ABCDE12345: from=<sender@example.org>, size=276, nrcpt=2 (queue active)"),
        record(1_796_161_991, "postfix/smtp", "ABCDE12345: to=<a@example.net>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)"),
        record(1_796_161_991, "postfix/smtp", "ABCDE12345: to=<b@example.net>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.5.3, status=bounced (host mx[192.0.2.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))"),
        record(1_796_161_992, "postfix/bounce", "ABCDE12345: sender non-delivery notification: BCDEF23456"),
        record(1_796_161_992, "postfix/qmgr", "ABCDE12345: removed"),
        record(1_796_161_992, "systemd", "Started something unrelated."),
    ]

    @Test func journalRecordsOnStdinAreToldByTheirFirstLine() throws {
        let run = try Run.relaywatch(["report", "--json", "-"], stdin: Data((Self.bounce552.joined(separator: "\n") + "\n").utf8))
        #expect(run.status == 1, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["format"] as? String == "postfix-journal")
        #expect(json["malformed"] as? Int == 0)
        let anomalies = json["anomalies"] as? [[String: Any]] ?? []
        #expect(anomalies.map { $0["rule"] as? String } == ["limit-bounced"])
        #expect(anomalies.first?["rcpts"] as? [String] == ["b@example.net"])
        #expect(json["hosts"] as? [String] == ["deb13"])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/run/systemd/journal/socket"), "this machine runs no systemd-journald"))
    func theRealJournal() throws {
        // A message of our own making, logged under Postfix's identifiers, then read back.
        let qid = "F" + String(UInt32.random(in: 0x1000_0000...0xFFFF_FFFE), radix: 16, uppercase: true)
        for (tag, text) in [("postfix/qmgr", "\(qid): from=<s@example.org>, size=1, nrcpt=1 (queue active)"),
                            ("postfix/smtp", "\(qid): to=<x@example.net>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.5.3, status=bounced (host mx[192.0.2.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))"),
                            ("postfix/qmgr", "\(qid): removed")] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/logger")
            p.arguments = ["--journald"]
            let input = Pipe()
            p.standardInput = input
            try p.run()
            input.fileHandleForWriting.write(Data("SYSLOG_IDENTIFIER=\(tag)\nMESSAGE=\(text)\n".utf8))
            try input.fileHandleForWriting.close()
            p.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: 1)
        let run = try Run.relaywatch(["report", "--journal", "--since", "-10min", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
        let mine = (json["anomalies"] as? [[String: Any]] ?? []).filter { $0["msg"] as? String == qid }
        #expect(mine.map { $0["rule"] as? String } == ["limit-bounced"])
    }

    /// A real systemd-journald of the test's own, in a private mount namespace (its sockets and
    /// journal on tmpfs there; the host's /run is untouched), fed Postfix's lines over its syslog
    /// socket. `relaywatch --postfix --journal` follows it through journalctl, and `report --journal`
    /// reads it back.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd-journald"),
                   "needs root and Debian's systemd-journald"))
    func aJournaldOfOurOwn() throws {
        let scratch = try TempDir()
        let shellPID = scratch.path + "/shell.pid", journaldPID = scratch.path + "/journald.pid"
        let relaywatch = Built.binary("relaywatch")
        let script = """
            echo $$ > \(shellPID)
            mkdir -p /run/systemd /run/log && mount -t tmpfs tmpfs /run/systemd && mount -t tmpfs tmpfs /run/log || exit 1
            /lib/systemd/systemd-journald > \(scratch.path)/journald.out 2>&1 &
            echo $! > \(journaldPID)
            while [ ! -S /run/systemd/journal/socket ]; do sleep 0.05; done
            exec \(relaywatch) --postfix --journal --postfix-config \(scratch.path)/no-postfix-here --queue-interval 1
            """
        try script.write(toFile: scratch.path + "/ns.sh", atomically: true, encoding: .utf8)
        let tmux = try TmuxSession(width: 120, height: 30, command: "unshare -m --propagation private sh \(scratch.path)/ns.sh")
        defer {
            if let text = try? String(contentsOfFile: journaldPID, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
            }
        }
        try tmux.wait("the monitor on the journal", seconds: 15) { $0.contains("no delivery events yet (following)") }
        let pid = try String(contentsOfFile: shellPID, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // journald's syslog socket, as the namespace has it.
        let devLog = "/proc/\(pid)/root/run/systemd/journal/dev-log"
        let lines: [(String, String)] = [
            ("postfix/qmgr", "ABCDE12345: from=<sender@example.org>, size=276, nrcpt=2 (queue active)"),
            ("postfix/smtp", "ABCDE12345: to=<a@example.net>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)"),
            ("postfix/smtp", "ABCDE12345: to=<b@example.net>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.5.3, status=bounced (host mx[192.0.2.1] said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))"),
            ("postfix/bounce", "ABCDE12345: sender non-delivery notification: BCDEF23456"),
            ("postfix/qmgr", "ABCDE12345: removed"),
        ]
        for (tag, text) in lines {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/logger")
            p.arguments = ["-u", devLog, "-t", tag, "--", text]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "logger to \(devLog)")
        }
        // The message arrives live, with its finding, and its recipients as Postfix logged them.
        // (Records arrive one by one: wait for the last, the removal, not just the finding.)
        let screen = try tmux.wait("the message from the journal", seconds: 15) { screen in
            screen.split(separator: "\n").contains { $0.hasPrefix("ABCDE12345") && $0.contains("done") }
        }
        let row = try #require(screen.split(separator: "\n").first { $0.contains("ABCDE12345") })
        #expect(row.contains("done"), "\(screen)")
        #expect(row.contains("!1"), "\(screen)")
        // The same journal through report --journal, inside the namespace.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        p.arguments = ["-t", pid, "-m", relaywatch, "report", "--journal", "--json"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(String(decoding: data, as: UTF8.self))")
        #expect(p.terminationStatus == 1)
        #expect(json["format"] as? String == "postfix-journal")
        let anomalies = json["anomalies"] as? [[String: Any]] ?? []
        #expect(anomalies.map { $0["rule"] as? String } == ["limit-bounced"])
        #expect(anomalies.first?["msg"] as? String == "ABCDE12345")
    }
}

