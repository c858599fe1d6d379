import RelayCore

/// Exim's main log (4.9x) as delivery-log v1 events (see <doc:EximLogs>).
///
/// `<=` is the arrival (sender, size, Message-ID, and the recipients with
/// `+received_recipients`); `=>` and `->` deliveries (the `C="…"` confirmation is the end-of-data
/// reply); `**` failures and `==` deferrals, with the remote reply and the command it answered
/// when the line quotes one; `Completed`; `Frozen` and `Unfrozen`. A bounce (`<= <> R=PARENT`) is
/// the parent's `ndr`, naming the recipients that failed for good since the parent's previous
/// one. Like Postfix, Exim logs no RCPT positions, no accepted RCPT replies and no tally, and the
/// events invent none: each reply rides on its recipient's outcome.
public struct EximAdapter: LogAdapter {
    public internal(set) var counts = AdapterCounts()
    /// Seconds east of UTC for times logged without a zone (Exim's default).
    public var utcOffset: Int
    /// Whether a delivered recipient's outcome carries the reply, reason and next hop (see the
    /// Postfix adapter's option of the same name).
    public var keepsDeliveryDetail = true
    /// The messages in flight, each with the recipients that failed for good since its last
    /// bounce (what the next one reports). Exim's lines name every recipient they are about and
    /// it logs no expiry, so nothing else per recipient is kept (no ``RecipientLedger``: noting
    /// each listed and delivered address in one cost a tenth of the report's time).
    private var messages: [String: [String]] = [:]
    private var lastID: [UInt8] = []
    private var lastIDString = ""
    /// Whether `messages` is known to hold the last line's id (its lines mostly come together:
    /// each delivery line need not look it up).
    private var lastIDHeld = false
    /// A later part's verdict on the last line's id (see ``PartOwnership``), when a line that is
    /// not an arrival gave it: it stands for the id's next lines that are not arrivals either
    /// (a key owned or deferred stays so), which saves a lookup in a set of every id of the part
    /// for most lines, one that misses the cache as the set grows.
    private var lastIDOwned: Bool?
    private var minute = EximLine.MinuteCache()
    /// Set when this adapter reads a later part of a file (see ``PartOwnership``).
    public var ownership: PartOwnership?
    /// Set, arrivals (but a bounce's that notifies its parent), outcomes and `Completed`s go
    /// here rather than to the events (see ``EventDrafts``): the report's reading, which
    /// applies each line's drafts after its events.
    public var drafts: EventDrafts?

    public init(utcOffset: Int = 0) { self.utcOffset = utcOffset }

    public mutating func finish(into events: inout [DeliveryEvent]) {}

    public mutating func read(line b: UnsafeRawBufferPointer, into events: inout [DeliveryEvent]) -> AdapterVerdict {
        counts.lines += 1
        // A blank line, or the continuation of a multi-line entry (Exim indents those).
        if b.isEmpty || b[0] == 0x20 || b[0] == 0x09 || b.allSatisfy({ $0 == 0x0D }) { return .ignored }
        guard let line = EximLine.parse(b, utcOffset: utcOffset, cache: &minute) else {
            counts.malformed += 1
            return .malformed("not an Exim main log line")
        }
        // Lines about no message: queue runs, daemon starts, rejections before a message existed.
        guard let idRange = line.id else { return .ignored }
        counts.mtaLines += 1
        // A message's lines mostly come together: the last id's String serves again.
        let id: String
        if b.equals(idRange, lastID) {
            id = lastIDString
        } else {
            id = b.string(idRange)
            lastID = Array(UnsafeRawBufferPointer(rebasing: b[idRange]))
            lastIDString = id
            lastIDHeld = false
            lastIDOwned = nil
        }
        let t = line.text
        if ownership != nil, !owns(b, id, t) {
            // Read (and counted) where the parts before are merged.
            counts.lines -= 1
            counts.mtaLines -= 1
            return .deferred
        }
        let verdict: AdapterVerdict
        if b.has("<= ", at: t.lowerBound) {
            verdict = arrival(b, line.ts, id, (t.lowerBound + 3)..<t.upperBound, &events)
        } else if b.has("=> ", at: t.lowerBound) || b.has("-> ", at: t.lowerBound) || b.has("*> ", at: t.lowerBound) {
            verdict = delivery(b, line.ts, id, (t.lowerBound + 3)..<t.upperBound, status: .delivered, &events)
        } else if b.has("** ", at: t.lowerBound) {
            verdict = delivery(b, line.ts, id, (t.lowerBound + 3)..<t.upperBound, status: .bounced, &events)
        } else if b.has("== ", at: t.lowerBound) {
            verdict = delivery(b, line.ts, id, (t.lowerBound + 3)..<t.upperBound, status: .deferred, &events)
        } else if t.count == 9, b.has("Completed", at: t.lowerBound) {
            drafts.done(ts: line.ts, msg: id, orAppendTo: &events)
            messages[id] = nil
            lastIDHeld = false
            verdict = .used
        } else if b.has("Frozen", at: t.lowerBound) || b.has("frozen by ", at: t.lowerBound) {
            // "Frozen (delivery error message)" by Exim itself; "frozen by root" by exim -Mf.
            events.append(DeliveryEvent(ts: line.ts, msg: id, .hold))
            verdict = .used
        } else if b.has("Unfrozen", at: t.lowerBound) || b.has("unfrozen", at: t.lowerBound) {
            events.append(DeliveryEvent(ts: line.ts, msg: id, .release))
            verdict = .used
        } else {
            verdict = .ignored
        }
        switch verdict {
        case .used: counts.used += 1
        case .truncated: counts.used += 1; counts.truncated += 1
        case .malformed: counts.malformed += 1
        case .ignored, .deferred: break
        }
        return verdict
    }

    /// Whether this part reads the line (see ``PartOwnership``): a message starts with its
    /// arrival; a bounce's arrival also names its parent.
    private mutating func owns(_ b: UnsafeRawBufferPointer, _ id: String, _ t: Range<Int>) -> Bool {
        guard b.has("<= ", at: t.lowerBound) else {
            if let known = lastIDOwned { return known }
            let owned = ownership!.owns(id, starts: false)
            lastIDOwned = owned
            return owned
        }
        lastIDOwned = nil
        guard b.has("<= <> ", at: t.lowerBound),
              let parent = Self.parent(b, Self.fields(b, (t.lowerBound + 3)..<t.upperBound)) else {
            return ownership!.owns(id, starts: true)
        }
        return ownership!.ownsAll([(id, true), (parent, false)])
    }

    /// The message an arrival names as its parent (`R=`, before the recipients).
    static func parent(_ b: UnsafeRawBufferPointer, _ fields: [Range<Int>]) -> String? {
        var parent: String? = nil
        for f in fields.dropFirst() {
            if b.isWord("for", f) { break }
            if let v = b.value(of: "R=", f) { parent = b.string(v) }
        }
        return parent
    }

    /// Takes over a later part's messages still in flight (see ``PartOwnership``) and adds its
    /// counts.
    public mutating func adoptMessages(of later: inout EximAdapter) {
        for (k, failed) in later.messages { messages[k] = failed }
        later.messages = [:]
        later.lastIDHeld = false
        later.lastIDOwned = nil
        counts += later.counts
    }

    /// The ids of the messages held in flight.
    public var heldKeys: [String] { Array(messages.keys) }

    // MARK: arrivals

    /// `SENDER [H=…] [P=…] S=N [id=MSGID] [R=PARENT] … [for r1 r2 …]`; `<>` is the null sender.
    private mutating func arrival(_ b: UnsafeRawBufferPointer, _ ts: Timestamp, _ id: String, _ r: Range<Int>,
                                  _ events: inout [DeliveryEvent]) -> AdapterVerdict {
        // Fields as ranges of the line: only the few the event keeps become Strings.
        let fields = Self.fields(b, r)
        guard let sender = fields.first else { return .malformed("Exim arrival line without a sender") }
        let nullSender = b.isWord("<>", sender)
        var size = 0, messageID: String? = nil
        let parent = Self.parent(b, fields)
        // The recipients: the fields after `for`.
        var firstRcpt = fields.count
        for (k, f) in fields.enumerated().dropFirst() {
            if b.isWord("for", f) { firstRcpt = k + 1; break }
            if let v = b.value(of: "S=", f), let n = UInt(b.string(v)), let s = Int(exactly: n) { size = s }
            else if let v = b.value(of: "id=", f) { messageID = Self.angled(b, v) }
        }
        let rcpts = fields[min(firstRcpt, fields.count)...]
        // A bounce names its parent: the notice for the recipients that failed since the last.
        var notice: [String]? = nil
        if nullSender, let parent, let failed = messages[parent], !failed.isEmpty { notice = failed }
        // Drafted only when no event follows (a line's drafts are applied after its events): for a
        // bounce that notifies its parent the drafts are set aside (moved, not copied) meanwhile.
        var aside: EventDrafts? = nil
        if notice != nil { swap(&aside, &drafts) }
        drafts.queued(ts: ts, msg: id, from: nullSender ? UnsafeRawBufferPointer(start: nil, count: 0) : UnsafeRawBufferPointer(rebasing: b[sender]),
                      size: size, messageID: messageID, rcpts: rcpts.count, { UnsafeRawBufferPointer(rebasing: b[rcpts[rcpts.startIndex + $0]]) },
                      orAppendTo: &events)
        if notice != nil { swap(&aside, &drafts) }
        // In flight from its arrival (when that lists its recipients; else from its first
        // delivery line).
        if !rcpts.isEmpty, messages[id] == nil { messages[id] = [] }
        if let parent, let failed = notice {
            messages[parent] = []
            events.append(DeliveryEvent(ts: ts, msg: parent, .ndr(NDR(ndrMsg: id, rcpts: failed))))
        }
        return .used
    }

    /// `<` + the bytes + `>` as one String, decoded once (as "<" + String + ">" reads them: the
    /// brackets end no UTF-8 sequence differently), without the two appends.
    static func angled(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: r.count + 2) { buf in
            buf[0] = UInt8(ascii: "<")
            if !r.isEmpty { UnsafeMutableRawPointer(buf.baseAddress! + 1).copyMemory(from: b.baseAddress! + r.lowerBound, byteCount: r.count) }
            buf[r.count + 1] = UInt8(ascii: ">")
            return String(decoding: buf, as: UTF8.self)
        }
    }

    /// Space-separated fields, a quoted value (`T="a subject"`, `C="250 ok"`) kept whole.
    static func fields(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        // An arrival has a dozen fields or more: room for them at once, not grown from empty.
        out.reserveCapacity(24)
        var i = r.lowerBound
        while i < r.upperBound {
            while i < r.upperBound, b[i] == 0x20 { i += 1 }
            guard i < r.upperBound else { break }
            let start = i
            // Outside quotes a field runs to the next space, inside them to the closing quote (a
            // backslash there escapes the byte after it): each found eight bytes at a time.
            var quoted = false
            while i < r.upperBound {
                if !quoted {
                    i = b.first(0x20, or: UInt8(ascii: "\""), from: i, to: r.upperBound)
                    guard i < r.upperBound, b[i] == UInt8(ascii: "\"") else { break }
                    quoted = true
                } else {
                    i = b.first(UInt8(ascii: "\""), or: UInt8(ascii: "\\"), from: i, to: r.upperBound)
                    guard i < r.upperBound else { break }
                    if b[i] == UInt8(ascii: "\\") { i += 1 } else { quoted = false }
                }
                i += 1
            }
            out.append(start..<min(i, r.upperBound))
        }
        return out
    }

    // MARK: deliveries, failures, deferrals

    /// `ADDR [<ORIG>] [(PARENT)] R=router T=transport [defer (N)] [H=host [ip]] … [C="reply"] [: reason]`.
    private mutating func delivery(_ b: UnsafeRawBufferPointer, _ ts: Timestamp, _ id: String, _ r: Range<Int>,
                                   status: Outcome.Status, _ events: inout [DeliveryEvent]) -> AdapterVerdict {
        // The address: the first field; a file or pipe delivery names the address after it in <>.
        // A quoted local part may hold spaces and colons: skip over it whole.
        var end = r.lowerBound
        var quoted = false
        while end < r.upperBound {
            let c = b[end]
            if c == UInt8(ascii: "\"") { quoted.toggle() }
            else if !quoted, c == 0x20 || (c == UInt8(ascii: ":") && (end + 1 == r.upperBound || b[end + 1] == 0x20)) { break }
            end += 1
        }
        guard end > r.lowerBound else { return .malformed("Exim delivery line without an address") }
        var rcptRange = r.lowerBound..<end
        if b[r.lowerBound] == UInt8(ascii: "/") || b[r.lowerBound] == UInt8(ascii: "|"), end + 1 < r.upperBound,
           b[end + 1] == UInt8(ascii: "<"), let close = b.find(">", from: end + 2, to: r.upperBound) {
            rcptRange = (end + 2)..<close
        }
        // The reason: everything after the first ": " past the address (failures and deferrals).
        var reasonRange: Range<Int>? = nil
        if status != .delivered, let colon = b.find(": ", from: end, to: r.upperBound) {
            reasonRange = (colon + 2)..<r.upperBound
        } else if status != .delivered, end < r.upperBound, b[end] == UInt8(ascii: ":") {
            reasonRange = min(end + 2, r.upperBound)..<r.upperBound
        }
        let head = (reasonRange?.lowerBound).map { max(end, $0 - 2) } ?? r.upperBound
        // What the outcome says as its reason: a delivery's confirmation, a failure's reason.
        var reasonText = reasonRange ?? r.upperBound..<r.upperBound
        // The next hop, where the outcome keeps it.
        let peer = status == .delivered && !keepsDeliveryDetail ? nil : Self.host(b, end..<head)
        var reply: SMTPReply? = nil
        var command: SMTPCommand? = nil
        var cut = false
        if status == .delivered {
            if keepsDeliveryDetail, let c = b.find(" C=\"", from: end, to: r.upperBound) {
                if let close = b.find("\"", from: c + 4, to: r.upperBound) {
                    reply = SMTPReply(parsing: UnsafeRawBufferPointer(rebasing: b[(c + 4)..<close]))
                    command = .dot
                    reasonText = (c + 4)..<close
                } else {
                    cut = true
                }
            }
        } else if let rr = reasonRange {
            (reply, command) = Self.reply(b, rr)
        }
        if status == .bounced {
            messages[id, default: []].append(b.string(rcptRange))
        } else if !lastIDHeld, messages[id] == nil {
            messages[id] = []
        }
        // (`id` is the last line's id: see read(line:into:).)
        lastIDHeld = true
        // (A delivery's confirmation, reply and next hop are all nil or empty when its detail is not kept.)
        drafts.outcome(ts: ts, msg: id, rcpt: UnsafeRawBufferPointer(rebasing: b[rcptRange]), status: status,
                       reason: UnsafeRawBufferPointer(rebasing: b[reasonText]), reply: reply, command: command, peer: peer,
                       orAppendTo: &events)
        return cut ? .truncated("Exim delivery line for <\(b.string(rcptRange))> cut short in its confirmation") : .used
    }

    /// `H=mx.example.net [203.0.113.5]` in the fields (the host and its address).
    static func host(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> String? {
        guard let h = b.find(" H=", from: r.lowerBound, to: r.upperBound) else { return nil }
        var e = h + 3
        while e < r.upperBound, b[e] != 0x20 { e += 1 }
        // The address in brackets after the name.
        if e + 1 < r.upperBound, b[e + 1] == UInt8(ascii: "["), let close = b.find("]", from: e + 1, to: r.upperBound) {
            e = close + 1
        }
        return b.string((h + 3)..<e)
    }

    /// `SMTP error from remote mail server after [pipelined ]RCPT TO:<a>: 552 5.5.3 text`, also
    /// after MAIL FROM, DATA, end of data, the initial connection; an older form puts
    /// `host H [IP]: ` before the reply.
    static func reply(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> (SMTPReply?, SMTPCommand?) {
        guard let at = b.find("SMTP error from remote mail server after ", from: r.lowerBound, to: r.upperBound) else { return (nil, nil) }
        var i = at + 41
        if b.has("pipelined ", at: i) { i += 10 }
        let command: SMTPCommand
        var replyStart: Int?
        if b.has("RCPT TO:<", at: i) {
            command = .rcpt
            // The address may hold ">: " in quotes: the reply starts after the ">: " that a
            // reply code (or an older form's "host ") follows.
            var from = i + 9
            while let gt = b.find(">: ", from: from, to: r.upperBound) {
                let next = gt + 3
                let code = next + 3 <= r.upperBound && b[next] &- 0x30 < 10 && b[next + 1] &- 0x30 < 10 && b[next + 2] &- 0x30 < 10
                if code || b.has("host ", at: next) {
                    replyStart = next
                    break
                }
                from = gt + 1
            }
        } else if b.has("MAIL FROM:<", at: i) {
            command = .mail
            replyStart = b.find(": ", from: i + 11, to: r.upperBound).map { $0 + 2 }
        } else if b.has("end of data", at: i) {
            command = .dot
            replyStart = b.find(": ", from: i, to: r.upperBound).map { $0 + 2 }
        } else if b.has("DATA", at: i) {
            command = .data
            replyStart = b.find(": ", from: i, to: r.upperBound).map { $0 + 2 }
        } else if b.has("initial connection", at: i) {
            command = .other("CONNECT")
            replyStart = b.find(": ", from: i, to: r.upperBound).map { $0 + 2 }
        } else {
            let word = b.find(" ", from: i, to: r.upperBound) ?? r.upperBound
            command = .other(b.string(i..<min(word, b.find(":", from: i, to: r.upperBound) ?? word)))
            replyStart = b.find(": ", from: i, to: r.upperBound).map { $0 + 2 }
        }
        guard var start = replyStart, start < r.upperBound else { return (nil, command) }
        if b.has("host ", at: start), let colon = b.find("]: ", from: start, to: r.upperBound) { start = colon + 3 }
        return (SMTPReply(parsing: UnsafeRawBufferPointer(rebasing: b[start..<r.upperBound])), command)
    }
}
