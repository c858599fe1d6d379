/// The events an adapter reads in bulk (a message's arrival, a recipient's outcome, a message's
/// `done`), written straight from the bytes of the adapter's line into the raw form the store
/// ingests: no ``DeliveryEvent`` is built, and no String for the addresses or the reason.
///
/// Why: an Exim or Postfix log is mostly one delivery line per recipient. Making an event of
/// each, writing its fields out again for the store (``RawEventWriter``) and destroying it cost
/// about a quarter of the report's instructions. A draft keeps the same fields, in the same
/// order as the event's line (``DeliveryEvent/writeFields(to:)``), set as the readers' own
/// ``RawEvent/assign(_:_:)`` sets them, and runs the line's checks (``RawEvent/verdict()``) on
/// the result: the store cannot tell a draft from the event. `EventDraftsTests` and the MTA-log
/// fuzzers check that against the events themselves.
///
/// The report's adapters draft; everything else that reads another MTA's log (the monitor,
/// `convert`, a stage that hands events to another thread) takes whole events.
public struct EventDrafts {
    private struct Entry {
        var kind: EventKind
        var ts: Timestamp
        var msg: StringSlice
        var rcpt = StringSlice.none
        var status = Outcome.Status.delivered
        var reason = StringSlice.none
        var command: StringSlice?
        var reply: (code: Int, enhanced: EnhancedStatus?, text: StringSlice)?
        var peer: StringSlice?
        var from = StringSlice.none
        var rcpts = ContainerSlice.none
        var size = 0
        var messageID: StringSlice?
    }

    /// The drafts' strings. It starts with the event and status names every draft refers to.
    private var bytes: [UInt8]
    private var entries: [Entry] = []

    private static let names: [UInt8] = Array("outcomedonequeued".utf8)
    private static let outcomeName = StringSlice(start: 0, count: 7, escaped: false)
    private static let doneName = StringSlice(start: 7, count: 4, escaped: false)
    private static let queuedName = StringSlice(start: 11, count: 6, escaped: false)
    /// Each status's name, after the event names.
    private static let statusNames: [(Outcome.Status, StringSlice)] = {
        var start = Int32(names.count)
        return Outcome.Status.allCases.map { s in
            defer { start += Int32(s.rawValue.utf8.count) }
            return (s, StringSlice(start: start, count: Int32(s.rawValue.utf8.count), escaped: false))
        }
    }()
    private static let prefix: [UInt8] = names + Outcome.Status.allCases.flatMap { Array($0.rawValue.utf8) }

    public init() { bytes = Self.prefix }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Forgets the drafts (an adapter's next line), keeping the room they took. The strings'
    /// bytes are let run on over many lines and cut back only past 64 kB: cutting them back on
    /// every line cost 5% of the Postfix report.
    public mutating func removeAll() {
        if !entries.isEmpty { entries.removeAll(keepingCapacity: true) }
        if bytes.count > 1 << 16 {
            bytes.removeSubrange(Self.prefix.count...)
            lastMsg = nil
        }
    }

    /// The message id the last draft named, and where its bytes are: a message's lines mostly
    /// come together, and an adapter hands the same String for each, so it is written once.
    private var lastMsg: (id: String, slice: StringSlice)?

    private mutating func append(msg: String) -> StringSlice {
        if let last = lastMsg, last.id == msg { return last.slice }
        let slice = append(msg)
        lastMsg = (msg, slice)
        return slice
    }

    /// A recipient's outcome, as ``Outcome`` with no `txn` and no `retryAt` would be written:
    /// `rcpt` and `reason` are the bytes of the strings (UTF-8; bytes that are not are read as
    /// `String(decoding:as:)` reads them).
    public mutating func outcome(ts: Timestamp, msg: String, rcpt: UnsafeRawBufferPointer, status: Outcome.Status,
                                 reason: UnsafeRawBufferPointer, reply: SMTPReply? = nil, command: SMTPCommand? = nil,
                                 peer: String? = nil) {
        var e = Entry(kind: .outcome, ts: ts, msg: append(msg: msg))
        e.rcpt = append(rcpt)
        e.status = status
        e.reason = append(reason)
        if let reply {
            // As the event's line: the command only with a reply.
            if let command { e.command = append(command.description) }
            e.reply = (reply.code, reply.enhanced, append(reply.text))
        }
        if let peer { e.peer = append(peer) }
        entries.append(e)
    }

    /// A message's arrival, as ``Queued`` would be written: `from` and each of the `count`
    /// recipients (`rcpt(k)`) are the bytes of the strings, as for ``outcome(ts:msg:rcpt:status:reason:reply:command:peer:)``.
    public mutating func queued(ts: Timestamp, msg: String, from: UnsafeRawBufferPointer, size: Int, messageID: String?,
                                rcpts count: Int, _ rcpt: (Int) -> UnsafeRawBufferPointer) {
        var e = Entry(kind: .queued, ts: ts, msg: append(msg: msg))
        e.from = append(from)
        // The list as JSON text, as the event's line has it (the store walks it as it walks a
        // line's): a plain address is copied between quotes, any other is escaped by the
        // writer the log's own lines are written with.
        let start = bytes.count
        bytes.append(UInt8(ascii: "["))
        for k in 0..<count {
            if k > 0 { bytes.append(UInt8(ascii: ",")) }
            let b = rcpt(k)
            if let base = b.baseAddress, isPlain(b) {
                bytes.append(UInt8(ascii: "\""))
                bytes.append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: b.count))
                bytes.append(UInt8(ascii: "\""))
            } else {
                var w = JSONWriter(out: bytes)
                bytes = []
                w.string(String(decoding: b, as: UTF8.self))
                bytes = w.out
            }
        }
        bytes.append(UInt8(ascii: "]"))
        e.rcpts = ContainerSlice(start: Int32(truncatingIfNeeded: start), end: Int32(truncatingIfNeeded: bytes.count),
                                 count: Int32(truncatingIfNeeded: count))
        e.size = size
        if let messageID { e.messageID = append(messageID) }
        entries.append(e)
    }

    /// A message's `done`.
    public mutating func done(ts: Timestamp, msg: String) {
        entries.append(Entry(kind: .done, ts: ts, msg: append(msg: msg)))
    }

    /// Draft `k`'s raw form, valid inside `body` only, with the verdict reading its line would
    /// give. The fields are assigned in the order ``DeliveryEvent/writeFields(to:)`` writes them.
    func withRaw<R>(_ k: Int, _ body: (inout RawEvent, LogDecoder.Scanned) -> R) -> R {
        let e = entries[k]
        return bytes.withUnsafeBytes { all in
            var raw = RawEvent(JSONScanner(all))
            // The fields every draft has, and a delivery's, set here as assign sets them from
            // these values (its switch and its matching of the event and status names cost a
            // twentieth of the Exim report; EventDraftsTests compare the result, bit for bit,
            // with the event's raw form). The rarer fields go through assign itself.
            func bit(_ f: FieldName) -> UInt32 { 1 << f.rawValue }
            raw.v = 1
            raw.ts = e.ts
            raw.eventName = e.kind == .outcome ? Self.outcomeName : e.kind == .done ? Self.doneName : Self.queuedName
            raw.kind = e.kind
            raw.msg = e.msg
            raw.present = bit(.v) | bit(.ts) | bit(.event) | bit(.msg)
            if e.kind == .queued {
                raw.assign(.from, .string(e.from))
                raw.assign(.rcpts, .strings(e.rcpts))
                raw.assign(.size, .number(e.size))
                if let id = e.messageID { raw.assign(.messageID, .string(id)) }
            } else if e.kind == .outcome {
                raw.rcpt = e.rcpt
                raw.statusText = Self.statusNames.first { $0.0 == e.status }!.1
                raw.status = e.status
                raw.reason = e.reason
                raw.present |= bit(.rcpt) | bit(.status) | bit(.txn) | bit(.reason)
                raw.null |= bit(.txn)
                if let reply = e.reply {
                    if let c = e.command { raw.assign(.cmd, .string(c)) }
                    raw.assign(.code, .number(reply.code))
                    if let en = reply.enhanced { raw.assign(.enhanced, .enhanced(en)) } else { raw.assign(.enhanced, .null) }
                    raw.assign(.text, .string(reply.text))
                }
                if let p = e.peer { raw.assign(.peer, .string(p)) }
            }
            let verdict = raw.verdict()
            return body(&raw, verdict)
        }
    }

    /// Draft `k` as the event it stands for (nil if its line would not read as one): for the
    /// tests and the fuzzers, which compare it with the event an adapter makes when not drafting.
    public func event(_ k: Int) -> DeliveryEvent? {
        withRaw(k) { raw, verdict in
            guard case .event = verdict else { return nil }
            return raw.event()
        }
    }

    // MARK: strings

    private mutating func append(_ s: String) -> StringSlice {
        var s = s
        return s.withUTF8 { append(validUTF8: $0) }
    }

    private mutating func append(_ b: UnsafeRawBufferPointer) -> StringSlice {
        // As the adapter's String of them reads: bytes that are not UTF-8 repaired.
        b.withRepairedUTF8 { v in
            append(validUTF8: UnsafeBufferPointer(start: v.baseAddress?.assumingMemoryBound(to: UInt8.self), count: v.count))
        }
    }

    /// (Typed bytes: a raw buffer would be appended byte by byte.)
    private mutating func append(validUTF8 b: UnsafeBufferPointer<UInt8>) -> StringSlice {
        let start = bytes.count
        bytes.append(contentsOf: b)
        return StringSlice(start: Int32(truncatingIfNeeded: start), count: Int32(truncatingIfNeeded: b.count), escaped: false)
    }

    /// Printable ASCII without a quote or a backslash: what JSONWriter writes as it is.
    private func isPlain(_ b: UnsafeRawBufferPointer) -> Bool {
        for c in b where c < 0x20 || c > 0x7E || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { return false }
        return true
    }
}

/// What an adapter does with a line that may be drafted: draft it when it has drafts (the
/// report's reading), else append the whole event, so each adapter says once what the line is
/// and the two forms cannot drift apart. (The strings of the event are the bytes' Strings, as
/// `String(decoding:as:)` reads them; the drafts read them the same way.)
extension Optional where Wrapped == EventDrafts {
    public mutating func outcome(ts: Timestamp, msg: String, rcpt: UnsafeRawBufferPointer, status: Outcome.Status,
                                 reason: UnsafeRawBufferPointer, reply: SMTPReply? = nil, command: SMTPCommand? = nil,
                                 peer: String? = nil, orAppendTo events: inout [DeliveryEvent]) {
        if self != nil {
            self!.outcome(ts: ts, msg: msg, rcpt: rcpt, status: status, reason: reason, reply: reply, command: command, peer: peer)
        } else {
            events.append(DeliveryEvent(ts: ts, msg: msg, .outcome(Outcome(rcpt: String(decoding: rcpt, as: UTF8.self), status: status, txn: nil,
                                                                           reason: String(decoding: reason, as: UTF8.self),
                                                                           reply: reply, command: command, peer: peer))))
        }
    }

    public mutating func queued(ts: Timestamp, msg: String, from: UnsafeRawBufferPointer, size: Int, messageID: String?,
                                rcpts count: Int, _ rcpt: (Int) -> UnsafeRawBufferPointer, orAppendTo events: inout [DeliveryEvent]) {
        if self != nil {
            self!.queued(ts: ts, msg: msg, from: from, size: size, messageID: messageID, rcpts: count, rcpt)
        } else {
            events.append(DeliveryEvent(ts: ts, msg: msg, .queued(Queued(from: String(decoding: from, as: UTF8.self),
                                                                         rcpts: (0..<count).map { String(decoding: rcpt($0), as: UTF8.self) },
                                                                         size: size, messageID: messageID))))
        }
    }

    public mutating func done(ts: Timestamp, msg: String, orAppendTo events: inout [DeliveryEvent]) {
        if self != nil { self!.done(ts: ts, msg: msg) } else { events.append(DeliveryEvent(ts: ts, msg: msg, .done)) }
    }
}
