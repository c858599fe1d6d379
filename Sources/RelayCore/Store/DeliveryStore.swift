#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rebuilds messages from the delivery log, in log order.
///
/// One owner of the per-message state; the report feeds it lines and analyses each message when it
/// leaves the queue, the monitor keeps it as its model. Lines are ingested straight from the bytes
/// (``apply(line:unplaced:)``): a reply's recipient is checked against the RCPT at its position by
/// comparing bytes, and a 2yz reply's text is not even copied when the options say so, which is
/// what lets the report read a million-event log in well under a second. Events from elsewhere (an
/// adapter of another MTA's log, the control socket) are put in the same raw form by the fields
/// the encoder writes and the reader's own checks (``apply(_:unplaced:)``, see ``RawEventWriter``),
/// and so are the report's adapters' drafts (``applyDraft(_:_:unplaced:)``, see ``EventDrafts``):
/// there is one ingest path.
///
/// Events the store cannot place (a reply for a transaction it never saw) are counted and
/// described, never fatal: logs start mid-stream after a rotation, and a reader must still make
/// sense of the rest.
public struct DeliveryStore: Sendable {
    public struct Options: Sendable {
        /// Keep the text of 2yz replies, and the reason of a delivered outcome (the text of the
        /// 250 that delivered it). The monitor shows them; the report does not need them (the
        /// analyser quotes only the reason of an outcome that was not final), and dropping them
        /// keeps a million-recipient log in a few tens of megabytes and saves building a String
        /// for most outcome lines.
        public var keepAcceptedReplyText: Bool
        /// Forget a message once it is `done` (the report analyses it first).
        public var dropFinished: Bool

        public init(keepAcceptedReplyText: Bool = true, dropFinished: Bool = false) {
            self.keepAcceptedReplyText = keepAcceptedReplyText
            self.dropFinished = dropFinished
        }
    }

    /// Something in the log the store could not place, with the reason.
    public struct Unplaced: Sendable, Hashable {
        public var msg: String?
        public var reason: String
    }

    /// What one line was, once applied. (Small on purpose: it is returned for every line, and a
    /// record inside it would be copied each time; a finished record waits in ``takeFinished()``.)
    public enum Applied {
        case event
        /// The message's `done`: ``takeFinished()`` hands over its final record.
        case finished
        case unknownEvent(String)
        case blank
        case malformed(String)
    }

    public let options: Options
    /// Records in slots, so a message is found once and changed in place.
    private var records: [MessageRecord] = []
    private var live: [Bool] = []
    private var freeSlots: [Int] = []
    private var slotByID: [String: Int] = [:]
    /// Consecutive events are usually for the same message: check it before hashing.
    private var lastSlot = -1
    /// The sessions of the window (and up to a quarter more older ones not yet swept away),
    /// with their peers and places: a transaction takes its peer from here when it starts.
    public private(set) var peers = SessionPeers()
    /// How many sessions have been read.
    public private(set) var sessionsRead = 0
    /// A transaction names the peer of its session when that session is among the last this
    /// many of the log. Delivery-log v1 has no event that ends a session, so without a bound the
    /// map would grow with the log; a session this far back is long closed (a relay keeps a
    /// connection for minutes). Counted by place in the log, not by what is in the map, so a
    /// log read in parts names the same peers as one read in one pass.
    public static let sessionWindow = 50_000
    public private(set) var unplacedCount = 0
    private var finishedRecord: MessageRecord?
    /// The queue id of the message the last applied event was about (nil after a session event).
    /// Derived from the slot the event went to, so the report's hot path keeps no extra String.
    public var lastMessageID: String? {
        guard !lastWasSession, lastSlot >= 0, live[lastSlot] else { return lastFinishedID }
        return records[lastSlot].id
    }
    private var lastWasSession = false
    /// A message dropped at its `done` no longer has a slot; its id is kept for that one event.
    private var lastFinishedID: String?
    /// Reading a later chunk: the ids of messages queued in it (hashed; a collision only costs a
    /// re-read), and those whose events are left to the chunks before.
    private var bornIDs: [Int] = []
    private var deferredIDs: Set<String> = []
    /// Kept between events for its buffers' capacity.
    private var eventWriter = RawEventWriter()
    /// The minute of the last line's time (most lines share it).
    private var minute = MinuteCache()
    /// The last outcome's peer: an MTA's deliveries of a message mostly go to one host, one
    /// line after another, so its String serves again instead of being made for each.
    private var lastPeer = ""

    public init(options: Options = Options()) {
        self.options = options
    }

    public var messageCount: Int { slotByID.count }

    public func message(_ id: String) -> MessageRecord? { slotByID[id].map { records[$0] } }

    /// Every message the store holds (with `dropFinished`, those still in the queue).
    public var unfinished: [MessageRecord] { slotByID.values.sorted().map { records[$0] } }

    /// Applies an event from anywhere but the log file (an adapter, the control socket), in the
    /// raw form its line would read as (see ``RawEventWriter``).
    @discardableResult
    public mutating func apply(_ event: DeliveryEvent, unplaced: (Unplaced) -> Void = { _ in }) -> MessageRecord? {
        if case .finished = applyEvent(event, unplaced: unplaced) { return takeFinished() }
        return nil
    }

    /// The same, saying what the event was (a `done` leaves its record in ``takeFinished()``).
    public mutating func applyEvent(_ event: DeliveryEvent, unplaced: (Unplaced) -> Void = { _ in }) -> Applied {
        // The writer is taken out for the call and put back, so self is not borrowed twice.
        var writer = eventWriter
        eventWriter = RawEventWriter()
        defer { eventWriter = writer }
        return writer.withRaw(of: event) { raw, scanned in
            apply(&raw, scanned, unplaced: unplaced, inChunk: false).here
        }
    }

    /// Applies an adapter's draft `k` (see ``EventDrafts``), as ``applyEvent(_:unplaced:)``
    /// applies the event it stands for.
    public mutating func applyDraft(_ drafts: EventDrafts, _ k: Int, unplaced: (Unplaced) -> Void = { _ in }) -> Applied {
        drafts.withRaw(k) { raw, scanned in
            apply(&raw, scanned, unplaced: unplaced, inChunk: false).here
        }
    }

    /// The record of the message whose `done` was the last line applied (once).
    public mutating func takeFinished() -> MessageRecord? {
        // Moved out, not copied: a copy retained every array and string of the record, to be
        // released again a moment later.
        var record: MessageRecord? = nil
        swap(&record, &finishedRecord)
        return record
    }

    /// Reads one log line (without its newline) and applies it.
    public mutating func apply(line: UnsafeRawBufferPointer, unplaced: (Unplaced) -> Void = { _ in }) -> Applied {
        apply(line: line, unplaced: unplaced, inChunk: false).here
    }

    /// What a store reading a later chunk of a log did with a line (``applyInChunk(line:unplaced:)``).
    public enum ChunkApplied {
        case applied(Applied)
        /// Not applied: its message began before this chunk (or this chunk holds no `queued` for
        /// it before this line). The line is replayed on the store of the chunks before, in
        /// order, with the peer given (a `txn` line's, looked up here where its session may be).
        case deferred(TransactionPeer?)

        /// Read outside a later chunk, where nothing is deferred.
        var here: Applied {
            if case .applied(let a) = self { return a }
            return .event
        }
    }

    /// The peer a `txn` line's transaction gets.
    public enum TransactionPeer: Sendable {
        /// Found (or known to be missing).
        case named(String?)
        /// Not in this chunk's sessions: look it up in the store of the chunks before, as it was
        /// after `sessions` more sessions (those this chunk read before the line).
        case after(sessions: Int)
    }

    /// Applies a line of a chunk that is not the log's first, when earlier chunks are read at the
    /// same time by other stores. Only messages whose `queued` event is in this chunk are built
    /// here; every other message's events are deferred, so a message is never split between two
    /// records. ``bornHere(_:)`` then says whether a message of the earlier chunks was queued
    /// again here (an id reused while still in flight), which this split cannot follow.
    public mutating func applyInChunk(line: UnsafeRawBufferPointer, unplaced: (Unplaced) -> Void = { _ in }) -> ChunkApplied {
        apply(line: line, unplaced: unplaced, inChunk: true)
    }

    /// The ids of the messages held (with `dropFinished`, those in flight), without their records.
    public var heldIDs: Dictionary<String, Int>.Keys { slotByID.keys }

    /// Whether this chunk's store built a message with this id (from a `queued` event). Call
    /// ``sealBorn()`` once the chunk is read, before asking.
    public func bornHere(_ id: String) -> Bool {
        let h = Self.bornHash(id)
        var lo = 0, hi = bornIDs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bornIDs[mid] < h { lo = mid + 1 } else { hi = mid }
        }
        return lo < bornIDs.count && bornIDs[lo] == h
    }

    /// An id's hash for ``bornHere(_:)``: the recipient table's, over its bytes (a SipHash per
    /// message queued in a later part was measurable on that part's core).
    private static func bornHash(_ id: String) -> Int {
        var id = id
        return id.withUTF8 { Int(truncatingIfNeeded: RecipientTable.hash(UnsafeRawBufferPointer($0))) }
    }

    /// Sorts the ids born here for ``bornHere(_:)`` (kept as a plain array of hashes while the
    /// chunk is read: 8 bytes a message, where a set takes about twice that).
    public mutating func sealBorn() { bornIDs.sort() }

    /// Names the peers of a record's transactions read in a later chunk whose sessions were
    /// not in it, from this store's sessions (those of the chunks before it). Call before
    /// ``adoptSessions(of:)``.
    public func resolvePeers(_ m: inout MessageRecord) {
        for k in m.transactions.indices {
            guard let after = m.transactions[k].peerAfterSessions else { continue }
            m.transactions[k].peer = peer(m.transactions[k].session, at: sessionsRead + after)
            m.transactions[k].peerAfterSessions = nil
        }
    }

    /// Takes over the messages of the chunk after this store's (still in flight at its end, none
    /// of them held here: see ``bornHere(_:)``) and its count of unplaced events, naming their
    /// peers from this store's sessions first.
    public mutating func adoptUnfinished(of later: inout DeliveryStore) {
        unplacedCount += later.unplacedCount
        let slots = later.slotByID.values.sorted()
        for s in slots {
            var record = MessageRecord(id: "", at: later.records[s].firstSeen)
            swap(&record, &later.records[s])
            resolvePeers(&record)
            let free = records.count
            slotByID[record.id] = free
            records.append(record)
            live.append(true)
        }
        later.slotByID = [:]
        later.records = []
        later.live = []
        later.freeSlots = []
        later.lastSlot = -1
    }

    /// Room in the session table for as many sessions as it ever holds (the window and the
    /// quarter over it before a sweep), for a store that reads a chunk of a split log: grown a
    /// doubling at a time, it was rebuilt as it grew.
    public mutating func reserveSessions() {
        peers.reserve(Self.sessionWindow + Self.sessionWindow / 4 + 1)
    }

    /// Takes over the sessions of the chunk after this store's, as if read here after its own.
    /// Last of the merge: until then this store's sessions are those before that chunk. The
    /// later chunk's table is kept as it is, with this store's sessions that a later transaction
    /// can still name (those in the window at the chunk's end) added to it, not the other way
    /// round (see ``SessionPeers``).
    public mutating func adoptSessions(of later: inout DeliveryStore) {
        let total = sessionsRead + later.sessionsRead
        peers.adopt(&later.peers, offset: sessionsRead, keepingFrom: total - Self.sessionWindow)
        sessionsRead = total
        later.sessionsRead = 0
        sweepSessions()
    }

    /// The peer of a session for a transaction that starts after `position` sessions of the log.
    private func peer(_ session: String, at position: Int) -> String? {
        guard let held = peers.lookup(session), held.place >= position - Self.sessionWindow else { return nil }
        return held.peer
    }

    /// Forgets sessions no later transaction can name (from time to time: the table holds the
    /// window and at most a quarter more).
    private mutating func sweepSessions() {
        guard peers.count > Self.sessionWindow + Self.sessionWindow / 4 else { return }
        peers.removeAll(before: sessionsRead - Self.sessionWindow)
    }

    /// Applies a line another chunk deferred (``ChunkApplied/deferred(_:)``), with the peer it
    /// found for a `txn` line.
    public mutating func applyDeferred(line: UnsafeRawBufferPointer, peer: TransactionPeer?, unplaced: (Unplaced) -> Void = { _ in }) -> Applied {
        apply(line: line, unplaced: unplaced, inChunk: false, givenPeer: peer).here
    }

    private mutating func apply(line: UnsafeRawBufferPointer, unplaced: (Unplaced) -> Void, inChunk: Bool,
                                givenPeer: TransactionPeer? = nil) -> ChunkApplied {
        var raw = RawEvent(JSONScanner(line))
        let scanned = LogDecoder.scan(line, into: &raw, minute: &minute)
        return apply(&raw, scanned, unplaced: unplaced, inChunk: inChunk, givenPeer: givenPeer)
    }

    /// Applies an event read and checked (a line's, or an event's written by ``RawEventWriter``),
    /// or says what else it was.
    private mutating func apply(_ raw: inout RawEvent, _ scanned: LogDecoder.Scanned, unplaced: (Unplaced) -> Void,
                                inChunk: Bool, givenPeer: TransactionPeer? = nil) -> ChunkApplied {
        switch scanned {
        case .event: break
        case .unknownEvent(let name): return .applied(.unknownEvent(name))
        case .blank: return .applied(.blank)
        case .malformed(let why): return .applied(.malformed(why))
        }
        let kind = raw.kind!
        if kind == .session {
            peers.set(raw.string(raw.session), peer: raw.string(raw.peer), place: sessionsRead)
            sessionsRead += 1
            sweepSessions()
            lastWasSession = true
            lastFinishedID = nil
            return .applied(.event)
        }
        // A transaction's session and its peer, from the sessions read so far (in a later
        // chunk, those of the chunk; one from before it is looked up at the merge).
        var txn: (session: String, peer: TransactionPeer)? = nil
        if kind == .txn {
            let session = raw.string(raw.session)
            let peer: TransactionPeer
            switch givenPeer {
            case .named(let name)?: peer = .named(name)
            case .after(let n)?: peer = .named(self.peer(session, at: sessionsRead + n))
            case nil:
                let name = self.peer(session, at: sessionsRead)
                peer = name == nil && inChunk ? .after(sessions: sessionsRead) : .named(name)
            }
            txn = (session, peer)
        }
        // Consecutive events are usually for the same message: its id is compared before any
        // String is made or hashed.
        let slot: Int
        if lastSlot >= 0, live[lastSlot], raw.scanner.matches(records[lastSlot].id, raw.msg) {
            slot = lastSlot
        } else if inChunk {
            // Looked up once, and the slot (or the new id) used as it is: this is a later part's
            // core, which the merge waits for.
            let name = raw.scanner.string(raw.msg)
            if let known = slotByID[name] {
                lastSlot = known
                slot = known
            } else {
                // Once deferred, always deferred: a later `queued` for the same id continues the
                // message of the chunks before, as it would in one pass.
                if kind != .queued || deferredIDs.contains(name) {
                    deferredIDs.insert(name)
                    return .deferred(txn?.peer)
                }
                bornIDs.append(Self.bornHash(name))
                slot = newSlot(name, at: raw.ts)
            }
        } else {
            slot = self.slot(named: raw.scanner.string(raw.msg), at: raw.ts)
        }
        lastWasSession = false
        lastFinishedID = nil
        var notes: [Unplaced] = []
        // inout, not by value: the raw event is a few hundred bytes and a copy per line shows.
        let keep = Self.ingest(&raw, kind, into: &records[slot], options: options, txn: txn, notes: &notes, lastPeer: &lastPeer)
        for n in notes {
            unplacedCount += 1
            records[slot].unplacedEvents += 1
            unplaced(n)
        }
        guard kind == .done else { return .applied(.event) }
        finishedRecord = keep ? records[slot] : release(slot)
        if !keep { lastFinishedID = finishedRecord?.id }
        return .applied(.finished)
    }

    /// The slot of the message with this id, made when new.
    private mutating func slot(named id: String, at ts: Timestamp) -> Int {
        if let s = slotByID[id] {
            lastSlot = s
            return s
        }
        return newSlot(id, at: ts)
    }

    /// A slot for a message not held.
    private mutating func newSlot(_ id: String, at ts: Timestamp) -> Int {
        let record = MessageRecord(id: id, at: ts)
        let s: Int
        if let free = freeSlots.popLast() {
            records[free] = record
            live[free] = true
            s = free
        } else {
            records.append(record)
            live.append(true)
            s = records.count - 1
        }
        slotByID[id] = s
        lastSlot = s
        return s
    }

    /// Events were dropped on their way here (a live feed that overflowed): every message not yet
    /// finished may have lost some. Marks them and returns their ids.
    @discardableResult
    public mutating func markEventsMissed() -> [String] {
        var ids: [String] = []
        for (id, slot) in slotByID where !records[slot].done {
            records[slot].missedEvents = true
            ids.append(id)
        }
        return ids
    }

    /// Forgets a message (the monitor's bounded history of finished messages).
    public mutating func remove(_ id: String) {
        if let slot = slotByID[id] { _ = release(slot) }
    }

    /// Frees a slot and hands back its record, moved out rather than copied.
    private mutating func release(_ slot: Int) -> MessageRecord {
        slotByID[records[slot].id] = nil
        var record = MessageRecord(id: "", at: records[slot].firstSeen)
        swap(&record, &records[slot])
        live[slot] = false
        freeSlots.append(slot)
        if lastSlot == slot { lastSlot = -1 }
        return record
    }

    /// Applies one event to its message. Returns false when the message should be forgotten.
    private static func ingest(_ r: inout RawEvent, _ kind: EventKind, into m: inout MessageRecord,
                               options: Options, txn given: (session: String, peer: TransactionPeer)?,
                               notes: inout [Unplaced], lastPeer: inout String) -> Bool {
        // Read the raw event's fields directly and its strings through `sc`: calling a method on
        // the inout raw event (or on the inout record) makes Swift copy the whole struct first.
        let sc = r.scanner
        let usable = r.present & ~r.null & ~r.bad
        func has(_ f: FieldName) -> Bool { usable & (1 << f.rawValue) != 0 }
        func optional(_ f: FieldName, _ slice: StringSlice) -> String? { has(f) ? sc.string(slice) : nil }
        m.lastSeen = max(m.lastSeen, r.ts)
        let seq = m.takeSeq()
        switch kind {
        case .session:
            break
        case .queued:
            m.from = sc.string(r.from)
            m.size = r.size
            if let id = optional(.messageID, r.messageID) { m.messageID = id }
            m.queuedAt = r.ts
            // Each recipient will get at least one outcome: size the list once.
            // (A handful when the arrival lists none, as Postfix's: grown from empty, the list was
            // reallocated a few times for most messages.)
            m.outcomes.reserveCapacity(Swift.max(Int(r.rcpts.count), 4))
            // The list's length and its span in the line size the table once (the span less
            // the quotes and commas is about what its addresses take).
            if r.rcpts.count > 1 { m.reserveRecipients(Int(r.rcpts.count), bytes: Int(r.rcpts.end - r.rcpts.start)) }
            var hint: MessageRecord.RecipientID = 0
            sc.forEachString(in: r.rcpts) { s in
                hint = m.recipient(sc, s, hint: hint, listed: true) + 1
            }
        case .txn:
            let ids = m.recipients(sc, in: r.rcpts)
            let txn = sc.string(r.txn)
            if MessageRecord.findTransaction(in: m.transactions, sc, r.txn) != nil {
                notes.append(Unplaced(msg: m.id, reason: "transaction \(txn) started twice"))
            } else {
                var t = TransactionRecord(id: txn, session: given?.session ?? sc.string(r.session), attempt: r.attempt,
                                          pipelined: r.pipelined, seq: seq, startedAt: r.ts, rcpts: ids)
                switch given?.peer {
                case .named(let name)?: t.peer = name
                case .after(let n)?: t.peerAfterSessions = n
                case nil: break
                }
                m.addTransaction(t)
            }
        case .reply:
            guard let k = MessageRecord.findTransaction(in: m.transactions, sc, r.txn) else {
                notes.append(Unplaced(msg: m.id, reason: "\(r.command) reply for unknown transaction \(sc.string(r.txn))"))
                break
            }
            let positive = r.code / 100 == 2
            let text = positive && !options.keepAcceptedReplyText ? "" : (optional(.text, r.text) ?? "")
            let reply = SMTPReply(code: r.code, enhanced: r.enhanced, text: text)
            m.transactions[k].lastReplyAt = r.ts
            switch r.command {
            case .mail: m.transactions[k].mail = reply
            case .data: m.transactions[k].data = reply
            case .dot: m.transactions[k].dot = reply
            case .rcpt:
                let index = r.index
                guard index < m.transactions[k].rcpts.count else {
                    m.transactions[k].strayReplies.append(.init(index: index, rcpt: sc.string(r.rcpt), reply: reply, kind: .indexOutOfRange))
                    break
                }
                let expected = m.transactions[k].rcpts[index]
                if !m.recipients.address(Int(expected), equals: sc, r.rcpt) {
                    m.transactions[k].strayReplies.append(.init(index: index, rcpt: sc.string(r.rcpt), reply: reply,
                                                                kind: .wrongRecipient(expected: m.recipients[Int(expected)])))
                } else if m.transactions[k].rcptReplies[index] != nil {
                    m.transactions[k].strayReplies.append(.init(index: index, rcpt: sc.string(r.rcpt), reply: reply, kind: .duplicate))
                } else {
                    m.transactions[k].rcptReplies[index] = reply
                    m.transactions[k].pairedReplyCount += 1
                }
            default:
                break
            }
        case .tally:
            guard let k = MessageRecord.findTransaction(in: m.transactions, sc, r.txn) else {
                notes.append(Unplaced(msg: m.id, reason: "tally for unknown transaction \(sc.string(r.txn))"))
                break
            }
            m.transactions[k].tally = Tally(txn: m.transactions[k].id, accepted: r.accepted, deferred: r.deferred, bounced: r.bounced)
        case .outcome:
            let id = m.recipient(sc, r.rcpt, hint: m.outcomeHint, listed: false)
            m.outcomeHint = id + 1
            var position: Int? = nil
            if has(.txn) {
                position = MessageRecord.findTransaction(in: m.transactions, sc, r.txn)
                if position == nil {
                    notes.append(Unplaced(msg: m.id, reason: "outcome for \(sc.string(r.rcpt)) names unknown transaction \(sc.string(r.txn))"))
                }
            }
            // Built in place in the list (a local appended was copied in, then destroyed).
            let reason = r.status == .delivered && !options.keepAcceptedReplyText ? "" : (optional(.reason, r.reason) ?? "")
            m.outcomes.append(OutcomeRecord(rcpt: id, status: r.status, transaction: position,
                                            reason: reason, seq: seq, at: r.ts))
            if has(.code) {
                let last = m.outcomes.count - 1
                m.outcomes[last].reply = SMTPReply(code: r.code, enhanced: r.enhanced, text: optional(.text, r.text) ?? "")
                m.outcomes[last].command = has(.cmd) ? r.command : nil
                if has(.peer) {
                    if !sc.matches(lastPeer, r.peer) { lastPeer = sc.string(r.peer) }
                    m.outcomes[last].peer = lastPeer
                }
            }
        case .ndr:
            let ids = m.recipients(sc, in: r.rcpts)
            var diags: [MessageRecord.RecipientID: String] = [:]
            if has(.diagnostics) {
                sc.forEachPair(in: r.diagnostics) { k, v in
                    diags[m.recipient(sc, k, hint: 0, listed: false)] = sc.string(v)
                }
            }
            m.ndrs.append(NDRRecord(ndrMsg: optional(.ndrMsg, r.ndrMsg), rcpts: ids, diagnostics: diags, seq: seq, at: r.ts))
        case .retry:
            m.retries += 1
        case .hold:
            m.held = true
        case .release:
            m.held = false
        case .done:
            m.done = true
            return !options.dropFinished
        }
        return true
    }
}

extension JSONScanner {
    /// Whether a string of this line is `s`, by its bytes (no String built). Inlined: called for
    /// ids held in arrays, it would otherwise retain and release each one it is handed.
    @inline(__always) func matches(_ s: String, _ slice: StringSlice) -> Bool {
        if slice.escaped { return string(slice) == s }
        let b = bytes(slice)
        guard s.utf8.count == b.count else { return false }
        return s.utf8.withContiguousStorageIfAvailable { p in
            p.count == b.count && (b.count == 0 || equalBytes(p.baseAddress!, b.baseAddress!, b.count))
        } ?? (String(decoding: b, as: UTF8.self) == s)
    }
}

extension RecipientTable {
    /// Whether address `id` is the string at `slice` in the scanner's line. (Called on the table
    /// itself, so the message record is not copied to ask.)
    func address(_ id: Int, equals sc: JSONScanner, _ slice: StringSlice) -> Bool {
        if slice.escaped {
            var text = sc.string(slice)
            return text.withUTF8 { address(id, equals: UnsafeRawBufferPointer($0)) }
        }
        return address(id, equals: sc.bytes(slice))
    }
}

extension MessageRecord {
    /// The id of the recipient a string of the line names, interning it when new. `hint` is the
    /// id most likely to match (the next in order), tried before any hashing.
    mutating func recipient(_ sc: JSONScanner, _ s: StringSlice, hint: RecipientID, listed isListed: Bool) -> RecipientID {
        if hint < recipients.count, recipients.address(Int(hint), equals: sc, s) {
            if isListed { markListed(hint) }
            return hint
        }
        if s.escaped {
            var text = sc.string(s)
            return text.withUTF8 { intern(UnsafeRawBufferPointer($0), listed: isListed) }
        }
        return intern(sc.bytes(s), listed: isListed)
    }

    /// The ids of an array of addresses in the line (a txn's or an NDR's), interning new ones;
    /// each is tried first as the one after the previous (lists usually keep the queued order).
    mutating func recipients(_ sc: JSONScanner, in list: ContainerSlice) -> [RecipientID] {
        var ids: [RecipientID] = []
        ids.reserveCapacity(Int(list.count))
        var hint: RecipientID = 0
        sc.forEachString(in: list) { s in
            let id = recipient(sc, s, hint: hint, listed: false)
            ids.append(id)
            hint = id + 1
        }
        return ids
    }

    /// The position of the transaction a string of the line names, searching from the newest.
    /// (Static over the array: a method on an inout record would copy the record to call it.)
    static func findTransaction(in transactions: [TransactionRecord], _ sc: JSONScanner, _ s: StringSlice) -> Int? {
        var k = transactions.count - 1
        while k >= 0 {
            if sc.matches(transactions[k].id, s) { return k }
            k -= 1
        }
        return nil
    }
}
