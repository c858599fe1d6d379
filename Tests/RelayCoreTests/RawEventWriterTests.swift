import EximLog
import Foundation
import PostfixLog
import Testing
@testable import RelayCore
import RelayScenarios

/// An event applied straight to the store (an adapter's, the control socket's) must be read
/// exactly as its line would be: the same fields, values, bits and verdict, and the same records
/// in the store afterwards.
@Suite struct RawEventWriterTests {
    /// Everything the store reads from a raw event, with each slice as the text it stands for
    /// (the two forms keep their bytes in different places).
    static func meaning(_ raw: RawEvent) -> String {
        let sc = raw.scanner
        return Mirror(reflecting: raw).children.filter { $0.label != "scanner" }.map { child -> String in
            let value: String
            switch child.value {
            case let s as StringSlice:
                value = s == .none ? "none" : "\"\(sc.string(s))\""
            case let c as ContainerSlice where child.label == "diagnostics":
                var pairs: [String] = []
                sc.forEachPair(in: c) { pairs.append("\(sc.string($0))=\(sc.string($1))") }
                value = c == .none ? "none" : "{\(pairs.joined(separator: ","))}"
            case let c as ContainerSlice:
                var list: [String] = []
                sc.forEachString(in: c) { list.append(sc.string($0)) }
                value = c == .none ? "none" : "\(list)"
            default:
                value = "\(child.value)"
            }
            return "\(child.label ?? "?")=\(value)"
        }.joined(separator: " ")
    }

    /// The event written straight and its line read back agree; returns the verdict.
    @discardableResult
    static func readAlike(_ event: DeliveryEvent, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        var line = LogEncoder.line(event)
        line.removeLast()
        let (lineVerdict, lineMeaning) = line.withUTF8 { p -> (String, String) in
            let bytes = UnsafeRawBufferPointer(p)
            var raw = RawEvent(JSONScanner(bytes))
            let v = LogDecoder.scan(bytes, into: &raw)
            return ("\(v)", meaning(raw))
        }
        var writer = RawEventWriter()
        let (writtenVerdict, writtenMeaning) = writer.withRaw(of: event) { raw, v in ("\(v)", meaning(raw)) }
        #expect(writtenVerdict == lineVerdict, "\(line)", sourceLocation: sourceLocation)
        #expect(writtenMeaning == lineMeaning, "\(line)", sourceLocation: sourceLocation)
        return writtenVerdict
    }

    static let t0 = Timestamp(seconds: 1_795_000_000)

    /// Events with every optional present and absent, strings that need escaping, and values the
    /// reader refuses (each must be refused, with the same reason, both ways).
    static let oddEvents: [DeliveryEvent] = {
        let awkward = ["", "plain", "quote\"d", "back\\slash", "tab\there", "line\nbreak", "nul\u{0}", "del\u{7F}", "csi\u{9B}2J",
                       "ünïcödé", "🦆 duck", String(repeating: "x", count: 300)]
        var list: [DeliveryEvent] = []
        for (k, s) in awkward.enumerated() {
            let t = Timestamp(microseconds: t0.microseconds + Int64(k) * 1_234_567)
            list.append(DeliveryEvent(ts: t, msg: s, .queued(Queued(from: s, rcpts: [s, "b@x", s], size: k, messageID: k % 2 == 0 ? s : nil))))
            list.append(DeliveryEvent(ts: t, msg: nil, .session(Session(session: s, peer: s, ehlo: [s, "PIPELINING"]))))
            list.append(DeliveryEvent(ts: t, msg: s, .txn(Transaction(txn: s, session: s, attempt: k, pipelined: k % 2 == 0, rcpts: [s]))))
            list.append(DeliveryEvent(ts: t, msg: s, .reply(ReplyRecord(txn: s, command: .rcpt, index: k, rcpt: s,
                                                                          reply: SMTPReply(code: 552, enhanced: EnhancedStatus(klass: 5, subject: 5, detail: 3), text: s)))))
            list.append(DeliveryEvent(ts: t, msg: s, .reply(ReplyRecord(txn: s, command: .data, reply: SMTPReply(code: 354, enhanced: nil, text: s)))))
            list.append(DeliveryEvent(ts: t, msg: s, .reply(ReplyRecord(txn: s, command: .other(s), reply: SMTPReply(code: 250, text: s)))))
            list.append(DeliveryEvent(ts: t, msg: s, .tally(Tally(txn: s, accepted: k, deferred: 1, bounced: 2))))
            list.append(DeliveryEvent(ts: t, msg: s, .outcome(Outcome(rcpt: s, status: .deferred, txn: k % 2 == 0 ? s : nil, reason: s,
                                                                        retryAt: k % 3 == 0 ? nil : t, reply: SMTPReply(code: 451, enhanced: EnhancedStatus(klass: 4, subject: 7, detail: 1), text: s),
                                                                        command: k % 2 == 0 ? .rcpt : nil, peer: k % 2 == 0 ? s : nil))))
            list.append(DeliveryEvent(ts: t, msg: s, .outcome(Outcome(rcpt: s, status: .expired, txn: nil, reason: s))))
            list.append(DeliveryEvent(ts: t, msg: s, .ndr(NDR(ndrMsg: k % 2 == 0 ? s : nil, rcpts: [s, "z@y"],
                                                            diagnostics: k % 3 == 0 ? nil : [s: s, "z@y": "smtp; 552 5.5.3 too many"]))))
            list.append(DeliveryEvent(ts: t, msg: s, .retry(Retry(rcpts: k % 2 == 0 ? nil : [s], source: s))))
            list.append(DeliveryEvent(ts: t, msg: s, .hold))
            list.append(DeliveryEvent(ts: t, msg: s, .release))
            list.append(DeliveryEvent(ts: t, msg: s, .done))
        }
        // Refused by the reader's checks: a negative size, a code out of range, a message-less event.
        list.append(DeliveryEvent(ts: t0, msg: "M", .queued(Queued(from: "a@b", rcpts: ["c@d"], size: -1))))
        list.append(DeliveryEvent(ts: t0, msg: "M", .reply(ReplyRecord(txn: "T", command: .mail, reply: SMTPReply(code: 42, text: "odd")))))
        list.append(DeliveryEvent(ts: t0, msg: "M", .reply(ReplyRecord(txn: "T", command: .rcpt, reply: SMTPReply(code: 250, text: "no index")))))
        list.append(DeliveryEvent(ts: t0, msg: nil, .done))
        list.append(DeliveryEvent(ts: t0, msg: "M", .tally(Tally(txn: "T", accepted: -3, deferred: 0, bounced: 0))))
        return list
    }()

    @Test func oddEventsReadAsTheirLinesRead() {
        var refused = 0
        for e in Self.oddEvents where Self.readAlike(e).hasPrefix("malformed") { refused += 1 }
        // The refusals above are refused both ways (the test would prove little if none were).
        #expect(refused == 5)
    }

    /// Every event of every scenario and of generated relay traffic, and every event the Postfix
    /// and Exim adapters make of generated logs.
    static func manyEvents() -> [DeliveryEvent] {
        var events: [DeliveryEvent] = []
        var lines = Scenario.all.flatMap { $0.log.split(separator: "\n").map(String.init) }
        var generator = LoadGenerator(seed: 5)
        var bytes: [UInt8] = []
        generator.generate(events: 20_000, into: &bytes) { _ in }
        lines += String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        for line in lines { if case .event(let e) = LogDecoder.decode(line) { events.append(e) } }
        var postfix = PostfixAdapter(reference: Timestamp(seconds: 1_795_000_000))
        var pfLog = PostfixLogGenerator(seed: 11)
        for line in pfLog.text(lines: 20_000).split(separator: "\n") {
            var b = Array(line.utf8)
            _ = b.withUnsafeBytes { postfix.read(line: $0, into: &events) }
        }
        postfix.finish(into: &events)
        var exim = EximAdapter()
        var eximLog = EximLogGenerator(seed: 13)
        for line in eximLog.text(lines: 20_000).split(separator: "\n") {
            var b = Array(line.utf8)
            _ = b.withUnsafeBytes { exim.read(line: $0, into: &events) }
        }
        exim.finish(into: &events)
        return events
    }

    @Test func everyScenarioGeneratedAndAdaptedEventReadsAsItsLine() {
        let events = Self.manyEvents()
        var kinds = Set<String>()
        for e in events where Self.readAlike(e) == "event" { kinds.insert(e.name) }
        #expect(events.count > 50_000)
        #expect(kinds.count >= 9, "\(kinds.sorted())")
    }

    /// The store ends the same whether it was given the events or their lines.
    @Test func theStoreEndsTheSameFromEventsAsFromTheirLines() {
        var direct = DeliveryStore(options: .init(dropFinished: false))
        var lines = DeliveryStore(options: .init(dropFinished: false))
        var unplacedDirect: [String] = [], unplacedLines: [String] = []
        var appliedDirect: [String] = [], appliedLines: [String] = []
        for e in Self.manyEvents() + Self.oddEvents {
            appliedDirect.append("\(direct.applyEvent(e) { unplacedDirect.append("\($0)") })")
            var line = LogEncoder.line(e)
            line.removeLast()
            appliedLines.append("\(line.withUTF8 { lines.apply(line: UnsafeRawBufferPointer($0)) { unplacedLines.append("\($0)") } })")
        }
        #expect(appliedDirect == appliedLines)
        #expect(unplacedDirect == unplacedLines)
        #expect(direct.messageCount == lines.messageCount)
        #expect(direct.peers == lines.peers)
        let a = direct.unfinished, b = lines.unfinished
        #expect(a.count == b.count)
        // The first record that differs, not every record.
        if let k = a.indices.first(where: { k in k < b.count && a[k] != b[k] }) {
            #expect(a[k] == b[k])
        }
    }
}
