import RelayCore

/// Postfix's mail log as delivery-log v1 events (see <doc:PostfixLogs>).
///
/// What it reads, by program: qmgr's `from=… (queue active)` (the message queued, and each later
/// activation a new attempt), `status=expired, returned to sender` and `removed`; cleanup's
/// `message-id=` and `hold:`; pickup's `orig_id=` (a requeued message keeps its history under its
/// first queue id); one line per recipient per attempt from smtp, lmtp, local, virtual, error and
/// the other delivery agents (an outcome, with the peer's reply and the command it answered when
/// the line quotes one); bounce's `sender non-delivery notification` (an NDR); postsuper's hold,
/// release and removal.
///
/// Postfix logs no RCPT positions, no replies to accepted RCPTs and no tally, so the events carry
/// none: every reply rides on the recipient's outcome. An NDR names the recipients that failed for
/// good since the message's previous notification, which is what Postfix's bounce daemon puts in
/// it (it sends one notice per queue file from the recipients logged as bounced or expired).
///
/// Queue ids are unique per host only. Messages of the first host seen (or of `homeHost`) are
/// keyed by their queue id; those of any other host in the same file (a central log server) by
/// `host/queue-id`, so they cannot collide and the host shows wherever the message does.
public struct PostfixAdapter: LogAdapter {
    public internal(set) var counts = AdapterCounts()
    /// Every host seen, in order of first appearance.
    public private(set) var hosts: [String] = []
    public var syslog: SyslogReader
    private var home: [UInt8]?
    private var messages: [String: MessageState] = [:]
    /// A requeued message's new queue id (its key) -> the key it is known by.
    private var aliases: [String: String] = [:]

    struct MessageState {
        var messageID: String?
        var queued = false
        var recipients = RecipientLedger()
        /// New queue ids this message has had (requeues), to forget with it.
        var aliasKeys: [String] = []
    }

    /// Whether a delivered recipient's outcome carries the reply, reason and next hop (the
    /// monitor and `convert` show them); the report's analysis needs only that it was delivered,
    /// as it keeps no 2yz reply text of mailrelayd's either.
    public var keepsDeliveryDetail = true

    /// Set when this adapter reads a later part of a file (see ``PartOwnership``).
    public var ownership: PartOwnership?

    /// Set, qmgr's first `from=` of a message, delivery agents' outcomes and the `removed` that
    /// ends a message go here rather than to the events (see ``EventDrafts``): the report's
    /// reading, which applies each line's drafts after its events.
    public var drafts: EventDrafts?

    /// `reference`: the time RFC 3164 lines (which have no year) are read against, normally now;
    /// `utcOffset`: the zone of those lines, in seconds east of UTC.
    public init(reference: Timestamp, utcOffset: Int = 0, homeHost: String? = nil) {
        syslog = SyslogReader(reference: reference, utcOffset: utcOffset)
        home = homeHost.map { Array($0.utf8) }
        if let homeHost { hosts.append(homeHost) }
    }

    /// The key the log's events use for a queue id of the home host: what the live queue
    /// (`postqueue -j`) is matched against. A requeued message answers to its first queue id.
    public func key(forLocalQueueID qid: String) -> String { aliases[qid] ?? qid }

    /// The queue id to give postqueue/postsuper for a message key: its latest one when it was
    /// requeued. nil for a message of another host (a central log), which no local tool can reach.
    public func localQueueID(forKey key: String) -> String? {
        if let slash = key.firstIndex(of: "/"), hosts.dropFirst().contains(String(key[..<slash])) { return nil }
        return messages[key]?.aliasKeys.last ?? key
    }

    public mutating func read(line b: UnsafeRawBufferPointer, into events: inout [DeliveryEvent]) -> AdapterVerdict {
        counts.lines += 1
        if b.isBlankLine { return .ignored }
        guard let s = syslog.parse(b) else {
            counts.malformed += 1
            return .malformed("not a syslog line")
        }
        return record(b, ts: s.ts, host: s.host, tag: s.tag, message: s.message, into: &events)
    }

    public mutating func finish(into events: inout [DeliveryEvent]) {}

    /// One record whose parts are already apart (a journal entry): `line` holds them all.
    public mutating func record(_ b: UnsafeRawBufferPointer, ts: Timestamp, host: Range<Int>, tag: Range<Int>,
                                message m: Range<Int>, into events: inout [DeliveryEvent]) -> AdapterVerdict {
        guard let daemon = PostfixDaemon.of(tag: b, tag) else { return .ignored }
        counts.mtaLines += 1
        if case .other = daemon { return .ignored }
        // "QID: text": a queue id is 5 to 24 letters and digits (short hex ids, long ids).
        var i = m.lowerBound
        while i < m.upperBound, i - m.lowerBound <= 24, isQueueIDByte(b[i]) { i += 1 }
        let idLength = i - m.lowerBound
        guard idLength >= 5, idLength <= 24, b.has(": ", at: i) else { return .ignored }
        let qid = m.lowerBound..<i
        let text = (i + 2)..<m.upperBound
        if ownership != nil, !owns(daemon, b, host, qid, text) {
            // Read (and counted) where the parts before are merged.
            counts.lines -= 1
            counts.mtaLines -= 1
            return .deferred
        }
        let verdict: AdapterVerdict
        switch daemon {
        case .delivery(let smtpReplies):
            guard b.has("to=<", at: text.lowerBound) else { return .ignored }
            verdict = delivery(b, ts, key(b, host, qid), text, smtpReplies: smtpReplies, &events)
        case .qmgr: verdict = qmgr(b, ts, key(b, host, qid), text, &events)
        case .cleanup: verdict = cleanup(b, ts, key(b, host, qid), text, &events)
        case .pickup: verdict = pickup(b, host, qid, text)
        case .bounce: verdict = bounce(b, ts, key(b, host, qid), text, &events)
        case .postsuper: verdict = postsuper(b, ts, key(b, host, qid), text, &events)
        case .other: return .ignored
        }
        switch verdict {
        case .used: counts.used += 1
        case .truncated: counts.used += 1; counts.truncated += 1
        case .malformed: counts.malformed += 1
        case .ignored, .deferred: break
        }
        return verdict
    }

    /// Whether this part reads the line (see ``PartOwnership``): cleanup's `message-id=` is the
    /// first line Postfix writes of every message it reads (pickup's plain `uid=` line, which the
    /// adapter passes by, may come before it); a requeue's pickup line names two keys.
    private mutating func owns(_ daemon: PostfixDaemon, _ b: UnsafeRawBufferPointer, _ host: Range<Int>,
                               _ qid: Range<Int>, _ text: Range<Int>) -> Bool {
        let k = key(b, host, qid)
        switch daemon {
        case .cleanup:
            return ownership!.owns(k, starts: b.has("message-id=", at: text.lowerBound))
        case .pickup:
            guard let at = b.find(" orig_id=", from: text.lowerBound, to: text.upperBound) else {
                return ownership!.owns(k, starts: true)
            }
            var e = at + 9
            while e < text.upperBound, isQueueIDByte(b[e]) { e += 1 }
            return ownership!.ownsAll([(key(b, host, (at + 9)..<e), false), (k, true)])
        default:
            return ownership!.owns(k, starts: false)
        }
    }

    /// Takes over the hosts a later part's adapter saw (see ``PartOwnership``), after this one's:
    /// that adapter saw the host of every line of its part, deferred or not, in order. Call
    /// before this adapter reads the lines that part deferred.
    public mutating func adoptHosts(of later: PostfixAdapter) {
        if home == nil, let h = later.home { home = h }
        for h in later.hosts where !hosts.contains(h) && hosts.count < 64 { hosts.append(h) }
    }

    /// Takes over a later part's messages still in flight and its aliases, and adds its counts.
    public mutating func adoptMessages(of later: inout PostfixAdapter) {
        for (k, st) in later.messages { messages[k] = st }
        for (a, k) in later.aliases { aliases[a] = k }
        later.messages = [:]
        later.aliases = [:]
        counts += later.counts
        // A cached key may have gained an alias.
        lastKey = ""
    }

    /// Whether a key names a message this adapter holds in flight, or is a requeued message's
    /// alias: a later part that owns it cannot be merged.
    public func holdsKey(_ k: String) -> Bool { messages[k] != nil || aliases[k] != nil }

    /// The keys held in flight and the aliases.
    public var heldKeys: [String] { Array(messages.keys) + Array(aliases.keys) }

    /// The host whose messages are keyed by their bare queue id (the first seen, or the one given).
    public var homeHost: String? { home.map { String(decoding: $0, as: UTF8.self) } }

    /// (Counted by ``record(_:ts:host:tag:message:into:)``, which every reader goes through.)
    private func malformed(_ why: String) -> AdapterVerdict { .malformed(why) }

    // MARK: keys

    /// The last line's queue id and host bytes and the key they gave: a message's lines mostly
    /// come together, so most lines skip building and looking up the key.
    private var lastID: [UInt8] = []
    private var lastHost: [UInt8] = []
    private var lastKey = ""

    private mutating func key(_ b: UnsafeRawBufferPointer, _ host: Range<Int>, _ qid: Range<Int>) -> String {
        if !lastKey.isEmpty, b.equals(qid, lastID), b.equals(host, lastHost) { return lastKey }
        let k = freshKey(b, host, qid)
        lastID = Array(UnsafeRawBufferPointer(rebasing: b[qid]))
        lastHost = Array(UnsafeRawBufferPointer(rebasing: b[host]))
        lastKey = k
        return k
    }

    private mutating func freshKey(_ b: UnsafeRawBufferPointer, _ host: Range<Int>, _ qid: Range<Int>) -> String {
        let id = b.string(qid)
        let own: Bool
        if host.isEmpty {
            own = true
        } else if let home {
            own = b.equals(host, home)
            if !own { noteHost(b.string(host)) }
        } else {
            home = Array(UnsafeRawBufferPointer(rebasing: b[host]))
            hosts.append(b.string(host))
            own = true
        }
        let k = own ? id : b.string(host) + "/" + id
        return aliases[k] ?? k
    }

    private mutating func noteHost(_ h: String) {
        if hosts.count < 64, !hosts.contains(h) { hosts.append(h) }
    }

    // MARK: delivery agents

    /// `to=<a>[, orig_to=<b>], relay=R, [conn_use=N, ]delay=…, delays=…, [tls=…, ]dsn=X.Y.Z, status=S (REASON)`
    private mutating func delivery(_ b: UnsafeRawBufferPointer, _ ts: Timestamp, _ key: String, _ text: Range<Int>,
                                   smtpReplies: Bool, _ events: inout [DeliveryEvent]) -> AdapterVerdict {
        let start = text.lowerBound + 4
        // The address ends at the first '>' that is followed by the next field (an address may
        // itself hold '>' inside quotes).
        var j = start
        var relayAt: Int? = nil
        while let gt = b.find(">", from: j, to: text.upperBound) {
            if b.has(">, relay=", at: gt) { relayAt = gt + 9; break }
            if b.has(">, orig_to=<", at: gt) {
                guard let close = b.find(">, relay=", from: gt + 12, to: text.upperBound) else { break }
                relayAt = close + 9
                break
            }
            j = gt + 1
        }
        guard let relayStart = relayAt, let addressEnd = b.find(">", from: start, to: relayStart) else {
            return malformed("Postfix delivery line cut short before relay=")
        }
        var addressClose = addressEnd
        // With orig_to the first matching '>' closes to=; find the one that precedes ", orig_to=<".
        if let orig = b.find(">, orig_to=<", from: start, to: relayStart) { addressClose = orig }
        let rcptRange = start..<addressClose
        let relayEnd = b.find(", ", from: relayStart, to: text.upperBound) ?? text.upperBound
        guard let statusAt = b.find(", status=", from: relayEnd, to: text.upperBound) else {
            return malformed("Postfix delivery line for <\(b.string(rcptRange))> cut short before status=")
        }
        var k = statusAt + 9
        let wordStart = k
        while k < text.upperBound, b[k] != 0x20 { k += 1 }
        // Told by its bytes (a String of the word cost every delivery line one to build).
        let status: Outcome.Status
        let word = wordStart..<k
        if b.isWord("sent", word) { status = .delivered }
        else if b.isWord("deferred", word) { status = .deferred }
        else if b.isWord("bounced", word) { status = .bounced }
        else if b.isWord("expired", word) { status = .expired }
        else { return .ignored }  // deliverable/undeliverable: address probes, not deliveries
        var reasonRange = k..<k
        var cut = false
        if b.has(" (", at: k) {
            if b[text.upperBound - 1] == UInt8(ascii: ")") {
                reasonRange = (k + 2)..<(text.upperBound - 1)
            } else {
                reasonRange = (k + 2)..<text.upperBound
                cut = true
            }
        }
        // For analysis alone: a delivery's reply, reason and next hop decide nothing.
        let detail = status != .delivered || keepsDeliveryDetail
        var reply: SMTPReply? = nil
        var command: SMTPCommand? = nil
        var peer: String? = nil
        if detail {
            let relay = b.string(relayStart..<relayEnd)
            if !cut { (reply, command) = Self.reply(b, reasonRange, status: status, smtpReplies: smtpReplies) }
            peer = relay == "none" ? nil : relay
        }
        if !detail { reasonRange = k..<k }
        drafts.outcome(ts: ts, msg: key, rcpt: UnsafeRawBufferPointer(rebasing: b[rcptRange]), status: status,
                       reason: UnsafeRawBufferPointer(rebasing: b[reasonRange]), reply: reply, command: command, peer: peer,
                       orAppendTo: &events)
        // In place (a copy out of the dictionary would copy the recipient lists on every line).
        messages[key, default: MessageState()].recipients.note(UnsafeRawBufferPointer(rebasing: b[rcptRange]), status: status)
        return cut ? .truncated("Postfix delivery line for <\(b.string(rcptRange))> cut short in its reason") : .used
    }

    /// The reply a reason quotes: `host H[IP] said: 552 5.5.3 text (in reply to RCPT TO command)`,
    /// `host H[IP] refused to talk to me: 554 …` (the greeting), or, for a delivery by SMTP or
    /// LMTP, the end-of-data reply itself (`250 2.0.0 Ok: queued as X`).
    static func reply(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, status: Outcome.Status,
                      smtpReplies: Bool) -> (SMTPReply?, SMTPCommand?) {
        guard smtpReplies, !r.isEmpty else { return (nil, nil) }
        if let said = b.find(" said: ", from: r.lowerBound, to: r.upperBound) {
            var end = r.upperBound
            var command: SMTPCommand = .other("unknown")
            if end - r.lowerBound > 9, b.has(" command)", at: end - 9),
               // Searched past " said: " only: a reply of nothing but its command's note
               // ("said: (in reply to …)") would end before it starts.
               let open = b.findLast(" (in reply to ", from: said + 7, to: end - 9) {
                command = Self.command(b.string((open + 14)..<(end - 9)))
                end = open
            }
            return (SMTPReply(parsing: UnsafeRawBufferPointer(rebasing: b[(said + 7)..<end])), command)
        }
        if let refused = b.find(" refused to talk to me: ", from: r.lowerBound, to: r.upperBound) {
            return (SMTPReply(parsing: UnsafeRawBufferPointer(rebasing: b[(refused + 24)..<r.upperBound])), .other("CONNECT"))
        }
        if status == .delivered, r.count >= 3, isDigit(b[r.lowerBound]), isDigit(b[r.lowerBound + 1]), isDigit(b[r.lowerBound + 2]) {
            return (SMTPReply(parsing: UnsafeRawBufferPointer(rebasing: b[r])), .dot)
        }
        return (nil, nil)
    }

    static func command(_ name: String) -> SMTPCommand {
        switch name {
        case "RCPT TO": .rcpt
        case "MAIL FROM": .mail
        case "DATA": .data
        case "end of DATA": .dot
        case "RSET": .rset
        case "QUIT": .quit
        default: .other(name)
        }
    }

    // MARK: qmgr

    private mutating func qmgr(_ b: UnsafeRawBufferPointer, _ ts: Timestamp, _ key: String, _ text: Range<Int>,
                               _ events: inout [DeliveryEvent]) -> AdapterVerdict {
        if b.has("removed", at: text.lowerBound), text.count == 7 { return done(ts, key, &events) }
        guard b.has("from=<", at: text.lowerBound) else { return .ignored }
        let start = text.lowerBound + 6
        if let sizeAt = b.find(">, size=", from: start, to: text.upperBound) {
            let size = b.number(at: sizeAt + 8)?.0 ?? 0
            if messages[key]?.queued == true {
                // Back in the active queue: a new delivery attempt (the back-off ran out, or
                // `postqueue -i`/`-f` asked for one).
                events.append(DeliveryEvent(ts: ts, msg: key, .retry(Retry(rcpts: nil, source: "schedule"))))
            } else {
                messages[key, default: MessageState()].queued = true
                drafts.queued(ts: ts, msg: key, from: UnsafeRawBufferPointer(rebasing: b[start..<sizeAt]), size: size,
                              messageID: messages[key]?.messageID, rcpts: 0, { _ in UnsafeRawBufferPointer(start: nil, count: 0) },
                              orAppendTo: &events)
            }
            return .used
        }
        if b.find(">, status=expired", from: start, to: text.upperBound) != nil {
            // The queue lifetime ran out: every recipient still waiting expires, and goes into the
            // notification the bounce daemon sends next.
            for r in messages[key, default: MessageState()].recipients.expireWaiting() {
                events.append(DeliveryEvent(ts: ts, msg: key, .outcome(Outcome(rcpt: r, status: .expired, txn: nil,
                                                                        reason: "expired, returned to sender"))))
            }
            return .used
        }
        return b.find(">, status=", from: start, to: text.upperBound) == nil
            ? malformed("qmgr line cut short after from=") : .ignored
    }

    private mutating func done(_ ts: Timestamp, _ key: String, _ events: inout [DeliveryEvent]) -> AdapterVerdict {
        drafts.done(ts: ts, msg: key, orAppendTo: &events)
        if let st = messages.removeValue(forKey: key) {
            for a in st.aliasKeys { aliases[a] = nil }
            if !st.aliasKeys.isEmpty { lastKey = "" }
        }
        return .used
    }

    // MARK: cleanup, pickup, bounce, postsuper

    private mutating func cleanup(_ b: UnsafeRawBufferPointer, _ ts: Timestamp, _ key: String, _ text: Range<Int>,
                                  _ events: inout [DeliveryEvent]) -> AdapterVerdict {
        if b.has("message-id=", at: text.lowerBound) {
            let id = b.string((text.lowerBound + 11)..<text.upperBound)
            messages[key, default: MessageState()].messageID = id.isEmpty ? nil : id
            return .used
        }
        if b.has("hold: ", at: text.lowerBound) || b.has("milter-hold: ", at: text.lowerBound) {
            events.append(DeliveryEvent(ts: ts, msg: key, .hold))
            return .used
        }
        if b.has("reject: ", at: text.lowerBound) || b.has("milter-reject: ", at: text.lowerBound)
            || b.has("discard: ", at: text.lowerBound) || b.has("milter-discard: ", at: text.lowerBound) {
            // Refused while it was being received: it never entered the queue.
            if messages[key]?.queued != true { messages[key] = nil }
            return .ignored
        }
        return .ignored
    }

    /// `NEWQID: uid=N from=<s> orig_id=OLDQID`: a message requeued by `postsuper -r` comes back
    /// through pickup under a new queue id.
    private mutating func pickup(_ b: UnsafeRawBufferPointer, _ host: Range<Int>, _ qid: Range<Int>, _ text: Range<Int>) -> AdapterVerdict {
        guard let at = b.find(" orig_id=", from: text.lowerBound, to: text.upperBound) else { return .ignored }
        var e = at + 9
        while e < text.upperBound, isQueueIDByte(b[e]) { e += 1 }
        let original = key(b, host, (at + 9)..<e)
        let newKey = key(b, host, qid)
        guard newKey != original else { return .ignored }
        aliases[newKey] = original
        messages[original, default: MessageState()].aliasKeys.append(newKey)
        lastKey = ""
        return .used
    }

    private mutating func bounce(_ b: UnsafeRawBufferPointer, _ ts: Timestamp, _ key: String, _ text: Range<Int>,
                                 _ events: inout [DeliveryEvent]) -> AdapterVerdict {
        guard b.has("sender non-delivery notification: ", at: text.lowerBound) else { return .ignored }
        let ndrID = b.string((text.lowerBound + 35)..<text.upperBound)
        let rcpts = messages[key]?.recipients.takeFailed() ?? []
        events.append(DeliveryEvent(ts: ts, msg: key, .ndr(NDR(ndrMsg: ndrID.isEmpty ? nil : ndrID, rcpts: rcpts))))
        return .used
    }

    private mutating func postsuper(_ b: UnsafeRawBufferPointer, _ ts: Timestamp, _ key: String, _ text: Range<Int>,
                                    _ events: inout [DeliveryEvent]) -> AdapterVerdict {
        let t = UnsafeRawBufferPointer(rebasing: b[text])
        func eq(_ s: StaticString) -> Bool { t.count == s.utf8CodeUnitCount && t.has(s, at: 0) }
        if eq("placed on hold") { events.append(DeliveryEvent(ts: ts, msg: key, .hold)); return .used }
        if eq("released from hold") { events.append(DeliveryEvent(ts: ts, msg: key, .release)); return .used }
        if eq("removed") { return done(ts, key, &events) }
        // "requeued": pickup's orig_id line links the new queue id; "expired": qmgr logs the expiry.
        return eq("requeued") || eq("expired") ? .used : .ignored
    }
}

@inline(__always) func isQueueIDByte(_ c: UInt8) -> Bool {
    (c &- 0x30 < 10) || (c &- 0x41 < 26) || (c &- 0x61 < 26)
}
