import Foundation
import Testing
import RelayCore

@Suite struct LogCodecTests {
    static let ts = Timestamp(rfc3339: "2026-11-29T08:09:45.123456Z")!

    /// One of every event, with the awkward values: null sender, Unicode, escapes, nulls.
    static let everyEvent: [DeliveryEvent] = [
        DeliveryEvent(ts: ts, msg: "Q1", .queued(Queued(from: "", rcpts: ["a@x.test", "josé@exämple.test"], size: 1234, messageID: "<id@x>"))),
        DeliveryEvent(ts: ts, msg: nil, .session(Session(session: "s1", peer: "127.0.0.1:2526", ehlo: ["PIPELINING", "SIZE 1000"]))),
        DeliveryEvent(ts: ts, msg: "Q1", .txn(Transaction(txn: "t1", session: "s1", attempt: 2, pipelined: false, rcpts: ["a@x.test"]))),
        DeliveryEvent(ts: ts, msg: "Q1", .reply(ReplyRecord(txn: "t1", command: .rcpt, index: 0, rcpt: "a@x.test",
                                                            reply: SMTPReply(code: 552, enhanced: EnhancedStatus("5.5.3"), text: "Too \"many\"\trecipients\\")))),
        DeliveryEvent(ts: ts, msg: "Q1", .reply(ReplyRecord(txn: "t1", command: .dot, reply: SMTPReply(code: 250, enhanced: nil, text: "ok\n")))),
        DeliveryEvent(ts: ts, msg: "Q1", .tally(Tally(txn: "t1", accepted: 1, deferred: 2, bounced: 3))),
        DeliveryEvent(ts: ts, msg: "Q1", .outcome(Outcome(rcpt: "a@x.test", status: .deferred, txn: "t1", reason: "452", retryAt: ts.adding(seconds: 300)))),
        DeliveryEvent(ts: ts, msg: "Q1", .outcome(Outcome(rcpt: "a@x.test", status: .expired, txn: nil, reason: ""))),
        DeliveryEvent(ts: ts, msg: "Q1", .ndr(NDR(ndrMsg: nil, rcpts: ["a@x.test"], diagnostics: ["a@x.test": "smtp; 552 5.5.3 x"]))),
        DeliveryEvent(ts: ts, msg: "Q1", .ndr(NDR(ndrMsg: "N1", rcpts: []))),
        DeliveryEvent(ts: ts, msg: "Q1", .retry(Retry(rcpts: nil, source: "control"))),
        DeliveryEvent(ts: ts, msg: "Q1", .retry(Retry(rcpts: ["a@x.test"], source: "schedule"))),
        DeliveryEvent(ts: ts, msg: "Q1", .hold),
        DeliveryEvent(ts: ts, msg: "Q1", .release),
        DeliveryEvent(ts: ts, msg: "Q1", .done),
    ]

    @Test(arguments: everyEvent)
    func roundTrip(_ event: DeliveryEvent) {
        let line = LogEncoder.line(event)
        #expect(line.hasSuffix("}\n"))
        #expect(line.hasPrefix("{\"v\":1,\"ts\":\"2026-11-29T08:09:45.123456Z\",\"event\":\"\(event.name)\""))
        guard case .event(let back) = LogDecoder.decode(String(line.dropLast())) else {
            Issue.record("did not decode: \(line)")
            return
        }
        #expect(back == event)
    }

    /// The reader guesses the writer's key order to save work; any other order or spacing must
    /// give the same event.
    @Test(arguments: everyEvent)
    func keyOrderAndSpacingDoNotMatter(_ event: DeliveryEvent) throws {
        let line = String(LogEncoder.line(event).dropLast())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        // Reversed key order, and spaces around every colon and comma.
        let reversed = object.keys.sorted(by: >)
        var parts: [String] = []
        for key in reversed {
            let value = try JSONSerialization.data(withJSONObject: object[key]!, options: [.fragmentsAllowed, .withoutEscapingSlashes])
            parts.append("\"\(key)\" : " + String(decoding: value, as: UTF8.self))
        }
        let respaced = "{ " + parts.joined(separator: " , ") + " }"
        guard case .event(let back) = LogDecoder.decode(respaced) else {
            Issue.record("did not decode: \(respaced)")
            return
        }
        #expect(back == event, "\(respaced)")
        // The writer's order with one space before a colon: the expected key is not taken whole.
        let spaced = line.replacingOccurrences(of: "\"txn\":", with: "\"txn\" :")
        guard case .event(let again) = LogDecoder.decode(spaced) else {
            Issue.record("did not decode: \(spaced)")
            return
        }
        #expect(again == event)
    }

    @Test func readsTheSpecExampleWithSpacesAndOtherKeyOrder() {
        let line = #" { "event" : "reply", "text":"Too many recipients", "code": 552, "v": 1, "msg":"Q9", "enhanced":"5.5.3", "ts":"2026-11-29T09:00:00+01:00", "txn":"t7", "cmd":"RCPT", "index":100, "rcpt":"r@x" } "#
        guard case .event(let e) = LogDecoder.decode(line), case .reply(let r) = e.body else {
            Issue.record("not decoded")
            return
        }
        #expect(e.ts == Timestamp(rfc3339: "2026-11-29T08:00:00Z"))
        #expect(r.index == 100 && r.rcpt == "r@x" && r.reply.code == 552)
        #expect(r.reply.enhanced == EnhancedStatus(klass: 5, subject: 5, detail: 3))
    }

    @Test func unicodeEscapesAndSurrogatePairs() {
        let line = #"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"queued","msg":"Q","from":"\u00e9\ud83d\udce7@x","rcpts":["\u4e2d@\u4f8b.test"],"size":0}"#
        guard case .event(let e) = LogDecoder.decode(line), case .queued(let q) = e.body else {
            Issue.record("not decoded")
            return
        }
        #expect(q.from == "é📧@x")
        #expect(q.rcpts == ["中@例.test"])
    }

    @Test func unknownFieldsAreSkippedWhateverTheirShape() {
        // Names close to known ones ("rcptz", "msgs", "diagnosticsX") are other fields, not those.
        let line = #"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"Q","future":{"a":[1,2.5e3,{"b":null}],"c":true},"x":-0.5,"rcptz":1,"msgs":2,"diagnosticsX":3,"v\u0031":4}"#
        guard case .event(let e) = LogDecoder.decode(line) else {
            Issue.record("not decoded")
            return
        }
        #expect(e.body == .done)
    }

    @Test func aKnownFieldOfAnotherTypeOnlyMattersToEventsThatUseIt() {
        // A newer relay might put an object in `source` on a done event: still a done event.
        let done = #"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"Q","source":{"k":1}}"#
        guard case .event = LogDecoder.decode(done) else {
            Issue.record("done with odd source rejected")
            return
        }
        let reply = #"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"reply","msg":"Q","txn":"t","cmd":"MAIL","code":"250"}"#
        guard case .malformed(let why) = LogDecoder.decode(reply) else {
            Issue.record("string code accepted")
            return
        }
        #expect(why == "reply event: \"code\" has the wrong type or value")
    }

    @Test func unknownEventsAreNotErrors() {
        let line = #"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"tls","msg":"Q","cipher":"x"}"#
        guard case .unknownEvent(let name) = LogDecoder.decode(line) else {
            Issue.record("unknown event not recognised as such")
            return
        }
        #expect(name == "tls")
    }

    @Test(arguments: [
        ("", "blank"),
        ("   ", "blank"),
        ("not json", "line is not a JSON object at byte 1"),
        ("[1,2]", "line is not a JSON object at byte 1"),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"Q""#, "line ends inside the object (truncated?) at byte 60"),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"Q"#, "unterminated string at byte 57"),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"Q"} trailing"#, "text after the JSON object at byte 62"),
        (#"{"v":2,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"Q"}"#, "log version 2 is not supported (this reader knows v1)"),
        (#"{"ts":"2026-11-29T08:00:00Z","event":"done","msg":"Q"}"#, "no \"v\" field"),
        (#"{"v":1,"ts":"yesterday","event":"done","msg":"Q"}"#, "\"ts\" is not an RFC 3339 time"),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done"}"#, "done event without \"msg\""),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"reply","msg":"Q","txn":"t","cmd":"RCPT","code":250}"#, "reply event without \"index\""),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"outcome","msg":"Q","rcpt":"a","status":"lost","txn":null}"#, "outcome status \"lost\" is not delivered, deferred, bounced or expired"),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"queued","msg":"Q","from":"","rcpts":["a",3],"size":1}"#, "queued event: \"rcpts\" has the wrong type or value"),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"a\qb"}"#, "unknown escape \\q at byte 59"),
        (#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"\ud800"}"#, "lone surrogate in \\u escape at byte 58"),
        ("{\"v\":1,\"ts\":\"2026-11-29T08:00:00Z\",\"event\":\"done\",\"msg\":\"\u{1}\"}", "control character in a string at byte 58"),
        (#"{"v":01,"ts":"2026-11-29T08:00:00Z","event":"done","msg":"Q"}"#, "expected ',' or '}' at byte 7"),
    ])
    func malformedLinesSayWhy(_ line: String, _ expected: String) {
        switch LogDecoder.decode(line) {
        case .blank: #expect(expected == "blank")
        case .malformed(let why): #expect(why == expected)
        case .event(let e): Issue.record("decoded as \(e)")
        case .unknownEvent(let n): Issue.record("decoded as unknown \(n)")
        }
    }

    @Test func invalidUTF8AndBinaryAreMalformedNotCrashes() {
        var bytes = Array(#"{"v":1,"ts":"2026-11-29T08:00:00Z","event":"done","msg":""#.utf8)
        bytes += [0xC3, 0x28, 0x22, 0x7D]
        let result = bytes.withUnsafeBytes { LogDecoder.decode($0) }
        guard case .malformed(let why) = result else {
            Issue.record("invalid UTF-8 accepted")
            return
        }
        #expect(why.hasPrefix("string is not valid UTF-8"))
        // Every prefix of a valid line is either malformed or blank, never an event or a trap.
        let line = Array(LogEncoder.line(LogCodecTests.everyEvent[3]).utf8.dropLast())
        for n in 0..<line.count {
            let r = line[..<n].withUnsafeBytes { LogDecoder.decode($0) }
            if case .event = r { Issue.record("prefix of \(n) bytes decoded as an event") }
        }
        // Random bytes.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let junk = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = junk.withUnsafeBytes { LogDecoder.decode($0) }
        }
    }

    @Test func deepNestingIsRefusedNotARecursionCrash() {
        let line = #"{"v":1,"x":"# + String(repeating: "[", count: 100_000)
        guard case .malformed(let why) = LogDecoder.decode(line) else {
            Issue.record("accepted")
            return
        }
        #expect(why.hasPrefix("nested too deeply"))
    }

    @Test func timestamps() {
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00Z")?.microseconds == 0)
        #expect(Timestamp(rfc3339: "2026-11-29T08:09:45.5Z")?.rfc3339 == "2026-11-29T08:09:45.500000Z")
        #expect(Timestamp(rfc3339: "2000-02-29T23:59:59.999999-00:30")?.rfc3339 == "2000-03-01T00:29:59.999999Z")
        #expect(Timestamp(rfc3339: "1969-12-31T23:59:59.000001Z")?.microseconds == -999_999)
        #expect(Timestamp(rfc3339: "2026-13-01T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "2026-11-29T08:09:4x.000000Z") == nil)
        // Any byte of the writer's form changed to a non-digit (or a separator changed) is refused.
        let good = Array("2026-11-29T08:09:45.123456Z".utf8)
        for i in good.indices {
            for bad in Array("/:aZ .\u{0}".utf8) where bad != good[i] {
                var line = good
                line[i] = bad
                let text = String(decoding: line, as: UTF8.self)
                let parsed = Timestamp(rfc3339: text)
                // One edit is still valid RFC 3339 (§5.6 allows a space for the "T").
                #expect(parsed == nil || (i == 10 && bad == 0x20), "\(text) parsed as \(String(describing: parsed))")
            }
        }
        // The writer's form takes a fast path: it must agree with the general one on every day
        // from 1600 to 2400 (leap days, centuries) and at odd instants.
        var day = Timestamp(rfc3339: "1600-01-01T00:00:00Z")!.microseconds
        let last = Timestamp(rfc3339: "2400-12-31T00:00:00Z")!.microseconds
        while day <= last {
            for offset: Int64 in [0, 86_399_999_999] {
                let t = Timestamp(microseconds: day + offset)
                #expect(Timestamp(rfc3339: t.rfc3339) == t, "\(t.rfc3339)")
            }
            day += 86_400_000_000
        }
        #expect(Timestamp(rfc3339: "2026-11-29 08:09:45") == nil)
    }
}

@Suite struct LineSplitterTests {
    func lines(_ chunks: [String], max: Int = LogDecoder.maxLineLength) -> [(Int, String, Bool)] {
        var s = LineSplitter(maxLineLength: max)
        var out: [(Int, String, Bool)] = []
        for c in chunks {
            var c = c
            c.withUTF8 { s.feed(UnsafeRawBufferPointer($0)) { n, b, o in out.append((n, String(decoding: b, as: UTF8.self), o)) } }
        }
        s.finish { n, b, o in out.append((n, String(decoding: b, as: UTF8.self), o)) }
        return out
    }

    @Test func linesAcrossChunksCRLFAndAMissingLastNewline() {
        let out = lines(["ab", "c\r\nde\n\nf", "g"])
        #expect(out.map(\.0) == [1, 2, 3, 4])
        #expect(out.map(\.1) == ["abc", "de", "", "fg"])
    }

    @Test func overlongLinesAreCutAndFlagged() {
        let out = lines([String(repeating: "x", count: 50), String(repeating: "y", count: 50) + "\nok\n"], max: 64)
        #expect(out.count == 2)
        #expect(out[0].2 == true)
        #expect(out[1].1 == "ok" && out[1].2 == false && out[1].0 == 2)
    }
}

@Suite struct MailDateTests {
    /// Checked against a DateFormatter ("EEE, dd MMM yyyy HH:mm:ss", UTC, en_US_POSIX) over a
    /// spread of instants, leap days and the epoch's neighbours included.
    @Test func rfc5322MatchesFoundationsFormatting() {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        var seconds: Int64 = -400 * 86_400
        while seconds < 4_200_000_000 {
            let t = Timestamp(microseconds: seconds * 1_000_000 + 999_999)
            #expect(t.rfc5322 == f.string(from: Date(timeIntervalSince1970: Double(seconds))), "\(seconds)")
            seconds += 7_777_777
        }
        #expect(Timestamp(rfc3339: "2024-02-29T07:05:09Z")!.rfc5322 == "Thu, 29 Feb 2024 07:05:09 +0000")
    }
}
