import EximLog
import PostfixLog
import Testing
@testable import RelayCore
import RelayScenarios

/// A drafted outcome or `done` (``EventDrafts``, what the report's adapters write) must read
/// exactly as the event it stands for: the same fields, values, bits and verdict, and the same
/// records in the store afterwards. And an adapter that drafts must say what it says when it
/// makes events.
@Suite struct EventDraftsTests {
    static let t0 = Timestamp(seconds: 1_795_000_000)

    /// Strings as an adapter's line holds them: escapes, controls, UTF-8, and bytes that are not
    /// UTF-8 (a lone continuation byte, a cut sequence, an overlong form), which the event's
    /// String repairs.
    static let awkward: [[UInt8]] = [
        [], Array("user@example.net".utf8), Array("quote\"d@x".utf8), Array("back\\slash".utf8), Array("tab\there".utf8),
        Array("nul\u{0}".utf8), Array("del\u{7F}".utf8), Array("csi\u{9B}2J".utf8), Array("ünïcödé@exämple.org".utf8),
        Array("🦆 duck".utf8), [0x61, 0x80, 0x62], [0x61, 0xE2, 0x82], [0xC0, 0xAF, 0x40, 0x78], [0xFF, 0xFE],
        Array(String(repeating: "x", count: 300).utf8),
    ]

    /// Every outcome shape the adapters draft, over the awkward strings, and a `done` and an
    /// arrival of each.
    static func cases() -> [(draft: (inout EventDrafts) -> Void, event: DeliveryEvent)] {
        var list: [(draft: (inout EventDrafts) -> Void, event: DeliveryEvent)] = []
        let replies: [(SMTPReply, SMTPCommand?)?] = [
            nil,
            (SMTPReply(code: 552, enhanced: EnhancedStatus(klass: 5, subject: 5, detail: 3), text: "too many recipients"), .rcpt),
            (SMTPReply(code: 451, enhanced: nil, text: "try later"), nil),
            (SMTPReply(code: 250, text: "2.0.0 Ok: queued"), .dot),
            (SMTPReply(code: 554, text: "go away"), .other("CONNECT")),
        ]
        for (k, bytes) in awkward.enumerated() {
            let text = String(decoding: bytes, as: UTF8.self)
            let msg = k % 2 == 0 ? "1xXpdw-000001-zG" : text
            let t = Timestamp(microseconds: t0.microseconds + Int64(k) * 1_234_567)
            for (j, status) in Outcome.Status.allCases.enumerated() {
                let r = replies[(k + j) % replies.count]
                let peer: String? = (k + j) % 3 == 0 ? nil : (k % 2 == 0 ? "mx.example.net [203.0.113.5]" : text)
                let reply = r.map { SMTPReply(code: $0.0.code, enhanced: $0.0.enhanced, text: k % 2 == 1 ? text : $0.0.text) }
                let reasonBytes = j % 2 == 0 ? bytes : []
                list.append((
                    draft: { d in
                        bytes.withUnsafeBytes { rb in
                            reasonBytes.withUnsafeBytes { reason in
                                d.outcome(ts: t, msg: msg, rcpt: rb, status: status, reason: reason, reply: reply, command: r?.1, peer: peer)
                            }
                        }
                    },
                    event: DeliveryEvent(ts: t, msg: msg, .outcome(Outcome(rcpt: text, status: status, txn: nil,
                                                                          reason: String(decoding: reasonBytes, as: UTF8.self),
                                                                          reply: reply, command: reply == nil ? nil : r?.1, peer: peer)))))
            }
            list.append((draft: { $0.done(ts: t, msg: msg) }, event: DeliveryEvent(ts: t, msg: msg, .done)))
            // Arrivals: no recipients, or this string among plain ones; with and without a Message-ID.
            let others: [[UInt8]] = k % 3 == 0 ? [] : [Array("b@x".utf8), bytes, Array("c@y".utf8), bytes]
            let id: String? = k % 2 == 0 ? "<\(text)>" : nil
            list.append((
                draft: { d in
                    // The sender and the recipients in one buffer, as in a line.
                    var flat = bytes, ranges: [Range<Int>] = []
                    for o in others { ranges.append(flat.count..<(flat.count + o.count)); flat += o }
                    flat.withUnsafeBytes { all in
                        d.queued(ts: t, msg: msg, from: UnsafeRawBufferPointer(rebasing: all[0..<bytes.count]), size: k * 1000,
                                 messageID: id, rcpts: ranges.count) { UnsafeRawBufferPointer(rebasing: all[ranges[$0]]) }
                    }
                },
                event: DeliveryEvent(ts: t, msg: msg, .queued(Queued(from: text, rcpts: others.map { String(decoding: $0, as: UTF8.self) },
                                                                     size: k * 1000, messageID: id)))))
        }
        return list
    }

    @Test func eachDraftReadsAsItsEvent() {
        var drafts = EventDrafts()
        var compared = 0
        var byDrafts = DeliveryStore(options: .init(dropFinished: false))
        var byEvents = DeliveryStore(options: .init(dropFinished: false))
        for c in Self.cases() {
            // Several drafts in one buffer, as an adapter's line may leave: each keeps its own bytes.
            if drafts.count == 3 { drafts.removeAll() }
            c.draft(&drafts)
            let k = drafts.count - 1
            let (draftVerdict, draftMeaning) = drafts.withRaw(k) { raw, v in ("\(v)", RawEventWriterTests.meaning(raw)) }
            var writer = RawEventWriter()
            let (eventVerdict, eventMeaning) = writer.withRaw(of: c.event) { raw, v in ("\(v)", RawEventWriterTests.meaning(raw)) }
            #expect(draftVerdict == eventVerdict, "\(c.event)")
            #expect(draftMeaning == eventMeaning, "\(c.event)")
            #expect(drafts.event(k) == c.event)
            // The store keeps addresses as bytes: those must be the event's bytes too (the
            // String's repair of bytes that are not UTF-8 included), not only read alike.
            #expect("\(byDrafts.applyDraft(drafts, k))" == "\(byEvents.applyEvent(c.event))")
            compared += 1
        }
        #expect(compared == Self.awkward.count * (Outcome.Status.allCases.count + 2))
        #expect(byDrafts.unfinished == byEvents.unfinished)
    }

    /// Generated Postfix and Exim logs, with lines that are cut, odd or not UTF-8 among them.
    static func logs() -> [(name: String, lines: [[UInt8]])] {
        var pf = PostfixLogGenerator(seed: 17)
        var ex = EximLogGenerator(seed: 19)
        var postfix = pf.text(lines: 20_000).split(separator: "\n").map { Array($0.utf8) }
        var exim = ex.text(lines: 20_000).split(separator: "\n").map { Array($0.utf8) }
        // Every tenth line of each also as it would be cut short, and with a byte that is not UTF-8
        // in its address.
        for k in stride(from: 0, to: 20_000, by: 10) {
            postfix.append(Array(postfix[k].prefix(postfix[k].count * 2 / 3)))
            exim.append(Array(exim[k].prefix(exim[k].count * 2 / 3)))
            postfix.append(postfix[k].map { $0 == UInt8(ascii: "@") ? 0xC3 : $0 })
            exim.append(exim[k].map { $0 == UInt8(ascii: "@") ? 0xFF : $0 })
        }
        return [("postfix", postfix), ("exim", exim)]
    }

    /// One adapter drafting and one making events read the same lines: each line gives the same
    /// verdict and events (drafts after the others), and two stores given them end the same.
    @Test func adaptersSayTheSameWhetherTheyDraftOrNot() {
        // The report's setting (no delivery detail) and the other, where a delivery's reply and
        // next hop are drafted too.
        for log in Self.logs() { for detail in [false, true] {
            var plain = AnyAdapter(log.name, detail: detail, drafting: false)
            var drafting = AnyAdapter(log.name, detail: detail, drafting: true)
            var byEvents = DeliveryStore(options: .init(dropFinished: false))
            var byDrafts = DeliveryStore(options: .init(dropFinished: false))
            var appliedEvents: [String] = [], appliedDrafts: [String] = []
            var drafted = 0
            for line in log.lines {
                var events: [DeliveryEvent] = [], mixed: [DeliveryEvent] = []
                var drafts = EventDrafts()
                let (v1, v2) = line.withUnsafeBytes { b in (plain.read(b, &events, nil), drafting.read(b, &mixed, &drafts)) }
                #expect(v1 == v2, "\(log.name): \(String(decoding: line, as: UTF8.self))")
                for e in events { appliedEvents.append("\(byEvents.applyEvent(e))") }
                for e in mixed { appliedDrafts.append("\(byDrafts.applyEvent(e))") }
                for k in 0..<drafts.count {
                    appliedDrafts.append("\(byDrafts.applyDraft(drafts, k))")
                    if let e = drafts.event(k) { mixed.append(e) }
                }
                drafted += drafts.count
                // As their lines: what the store reads of an event. (An Exim outcome may hold the
                // command a cut reply answered, which its line, and so its draft, leaves out.)
                #expect(mixed.map(LogEncoder.line) == events.map(LogEncoder.line), "\(log.name): \(String(decoding: line, as: UTF8.self))")
            }
            #expect(appliedDrafts == appliedEvents, "\(log.name)")
            #expect(byDrafts.messageCount == byEvents.messageCount)
            let a = byDrafts.unfinished, b = byEvents.unfinished
            #expect(a.count == b.count)
            if let k = a.indices.first(where: { k in k < b.count && a[k] != b[k] }) { #expect(a[k] == b[k]) }
            // Most of each log's events are drafted (the test would prove little otherwise).
            #expect(drafted > 10_000, "\(log.name): \(drafted) drafted")
        } }
    }

    /// The Postfix or Exim adapter, with delivery detail or without (as the report sets it up),
    /// drafting or not.
    struct AnyAdapter {
        var postfix: PostfixAdapter?
        var exim: EximAdapter?

        init(_ name: String, detail: Bool, drafting: Bool) {
            if name == "postfix" {
                var a = PostfixAdapter(reference: EventDraftsTests.t0, utcOffset: 3600)
                a.keepsDeliveryDetail = detail
                if drafting { a.drafts = EventDrafts() }
                postfix = a
            } else {
                var a = EximAdapter(utcOffset: -18000)
                a.keepsDeliveryDetail = detail
                if drafting { a.drafts = EventDrafts() }
                exim = a
            }
        }

        /// Reads a line; its drafts (when drafting) are copied to `drafts`.
        mutating func read(_ b: UnsafeRawBufferPointer, _ events: inout [DeliveryEvent], _ drafts: UnsafeMutablePointer<EventDrafts>?) -> AdapterVerdict {
            let v: AdapterVerdict
            if postfix != nil {
                postfix!.drafts?.removeAll()
                v = postfix!.read(line: b, into: &events)
                if let d = postfix!.drafts { drafts?.pointee = d }
            } else {
                exim!.drafts?.removeAll()
                v = exim!.read(line: b, into: &events)
                if let d = exim!.drafts { drafts?.pointee = d }
            }
            return v
        }
    }
}
