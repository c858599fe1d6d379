/// Stage two for a line in the order the relay writes it (``LogEncoder``; see
/// `DeliveryEvent.writeFields(to:)`): `v`, `ts`, `event`, `msg`, then each event's own fields in
/// a fixed order, each with the type the writer gives it. Each key is a constant here, matched in
/// two word compares, and each value is read as the type its field takes and stored straight in
/// its field, where the general walk (``RawEvent/walk(_:_:_:from:expecting:)``) looks each key
/// up, makes a token of any type and sets the field through a switch on it.
///
/// It decides nothing that walk does not. It reads only the writer's plain form of a value (a
/// string where a string goes, digits where a count goes, a time in the relay's own form) and
/// sets exactly what ``RawEvent/assign(_:_:)`` sets for that value. At the first key, type or value
/// it does not take, it stops, with the cursor still at that key, and the general walk reads the
/// rest of the line from there with every field so far already set as it would have set them. So
/// any field order, extra or missing fields, nulls, odd values and every refusal come out as
/// they always did: only the common line is read faster.
extension RawEvent {
    mutating func walkInWriterOrder(_ quotes: QuoteBitmap, _ b: UnsafePointer<UInt8>, _ count: Int,
                                    minute: inout MinuteCache) -> Bool {
        if count == 2 { return true }
        var c = WriterOrder(quotes: quotes, b: b, count: count)
        if readHead(&c, &minute), let kind {
            switch kind {
            case .session: readSession(&c)
            case .queued: readQueued(&c)
            case .txn: readTransaction(&c)
            case .reply: readReply(&c)
            case .tally: readTally(&c)
            case .outcome: readOutcome(&c)
            case .ndr: readNDR(&c)
            case .retry: readRetry(&c)
            case .hold, .release, .done: _ = c.string(.msg, &msg, &present)
            }
        }
        return c.rest(&self)
    }

    /// `"v":N,"ts":"…","event":"…"`, every line's start. True when a known event's own fields
    /// follow. `minute`: the last line's, as most lines share it.
    private mutating func readHead(_ c: inout WriterOrder, _ minute: inout MinuteCache) -> Bool {
        guard c.count(.v, &v, &present) else { return false }
        // The relay's own time form only (the general walk reads the others).
        guard let t = c.string(.ts), t.count == 27,
              let time = Timestamp.parseCanonical(scanner.bytes(t), minute: &minute) else {
            return c.refuse(.ts)
        }
        ts = time
        present |= FieldName.ts.bit
        guard c.pass(t), let e = c.string(.event), let k = EventKind.match(scanner.bytes(e)) else { return c.refuse(.event) }
        eventName = e
        kind = k
        present |= FieldName.event.bit
        return c.pass(e)
    }

    private mutating func readSession(_ c: inout WriterOrder) {
        _ = c.string(.session, &session, &present) && c.string(.peer, &peer, &present)
            && c.strings(.ehlo, &ehlo, &present)
    }

    private mutating func readQueued(_ c: inout WriterOrder) {
        _ = c.string(.msg, &msg, &present) && c.string(.from, &from, &present)
            && c.strings(.rcpts, &rcpts, &present) && c.count(.size, &size, &present)
            && c.string(.messageID, &messageID, &present)
    }

    private mutating func readTransaction(_ c: inout WriterOrder) {
        guard c.string(.msg, &msg, &present), c.string(.txn, &txn, &present),
              c.string(.session, &session, &present), c.count(.attempt, &attempt, &present) else { return }
        guard let (value, end) = c.bool(.pipelined) else { return }
        pipelined = value
        present |= FieldName.pipelined.bit
        guard c.pass(to: end) else { return }
        _ = c.strings(.rcpts, &rcpts, &present)
    }

    private mutating func readReply(_ c: inout WriterOrder) {
        guard c.string(.msg, &msg, &present), c.string(.txn, &txn, &present), readCommand(&c) else { return }
        // A RCPT's reply has its index and address; MAIL's, DATA's and the dot's have not.
        guard c.countIfThere(.index, &index, &present), c.stringIfThere(.rcpt, &rcpt, &present) else { return }
        _ = readReplyCode(&c) && readEnhanced(&c) && c.string(.text, &text, &present)
    }

    private mutating func readTally(_ c: inout WriterOrder) {
        _ = c.string(.msg, &msg, &present) && c.string(.txn, &txn, &present)
            && c.count(.accepted, &accepted, &present) && c.count(.deferred, &deferred, &present)
            && c.count(.bounced, &bounced, &present)
    }

    private mutating func readOutcome(_ c: inout WriterOrder) {
        guard c.string(.msg, &msg, &present), c.string(.rcpt, &rcpt, &present) else { return }
        guard let s = c.string(.status), let st = Outcome.Status.match(scanner.bytes(s)) else {
            _ = c.refuse(.status)
            return
        }
        statusText = s
        status = st
        present |= FieldName.status.bit
        guard c.pass(s), c.stringOrNull(.txn, &txn, &present, &null),
              c.string(.reason, &reason, &present) else { return }
        // A retry time when deferred; the reply that decided it, when there was one; its peer.
        if let s = c.string(.retryAt) {
            guard let time = Timestamp(rfc3339: scanner.string(s)) else {
                _ = c.refuse(.retryAt)
                return
            }
            retryAt = time
            present |= FieldName.retryAt.bit
            guard c.pass(s) else { return }
        }
        if c.at(.cmd) != nil { guard readCommand(&c) else { return } }
        if c.at(.code) != nil { guard readReplyCode(&c) else { return } }
        if c.at(.enhanced) != nil { guard readEnhanced(&c) else { return } }
        guard c.stringIfThere(.text, &text, &present) else { return }
        _ = c.stringIfThere(.peer, &peer, &present)
    }

    private mutating func readNDR(_ c: inout WriterOrder) {
        guard c.string(.msg, &msg, &present), c.stringOrNull(.ndrMsg, &ndrMsg, &present, &null),
              c.strings(.rcpts, &rcpts, &present) else { return }
        _ = c.pairs(.diagnostics, &diagnostics, &present)
    }

    private mutating func readRetry(_ c: inout WriterOrder) {
        guard c.string(.msg, &msg, &present) else { return }
        if c.null(.rcpts) != nil {
            guard c.takeNull(.rcpts, &present, &null) else { return }
        } else {
            guard c.strings(.rcpts, &rcpts, &present) else { return }
        }
        _ = c.string(.source, &source, &present)
    }

    /// `"cmd":"…"`, a command this reader knows by name.
    private mutating func readCommand(_ c: inout WriterOrder) -> Bool {
        guard let s = c.string(.cmd), let command = SMTPCommand.match(scanner.bytes(s)) else { return c.refuse(.cmd) }
        cmd = s
        self.command = command
        present |= FieldName.cmd.bit
        return c.pass(s)
    }

    /// `"code":NNN`, a reply code.
    private mutating func readReplyCode(_ c: inout WriterOrder) -> Bool {
        guard let (n, end) = c.number(.code), (100...999).contains(n) else { return c.refuse(.code) }
        code = n
        present |= FieldName.code.bit
        return c.pass(to: end)
    }

    /// `"enhanced":"X.Y.Z"` or `"enhanced":null`: a reply's enhanced status, read as the
    /// general walk reads it (text that is not one leaves it nil, and is not an error).
    private mutating func readEnhanced(_ c: inout WriterOrder) -> Bool {
        if c.null(.enhanced) != nil { return c.takeNull(.enhanced, &present, &null) }
        guard let s = c.string(.enhanced) else { return false }
        enhanced = EnhancedStatus.parse(scanner.bytes(s))
        present |= FieldName.enhanced.bit
        return c.pass(s)
    }
}

/// Where ``RawEvent/walkInWriterOrder(_:_:_:minute:)`` is in its line. Each reader below looks at the
/// key at ``i`` and returns nil (or false) without moving when it is not the one asked for or
/// its value is not of the plain form; ``pass(to:)`` then moves past a value taken.
struct WriterOrder {
    let quotes: RawEvent.QuoteBitmap
    let b: UnsafePointer<UInt8>
    let count: Int
    /// At a key's opening quote while the line goes on.
    private(set) var i = 1
    /// Set once the line has ended: whether it was read (true) or refused.
    private(set) var ended: Bool? = nil
    /// The key last looked for and not taken at i (the general walk's first guess there).
    private var missed: FieldName? = nil

    init(quotes: RawEvent.QuoteBitmap, b: UnsafePointer<UInt8>, count: Int) {
        self.quotes = quotes
        self.b = b
        self.count = count
    }

    /// The line's verdict: as it ended, or the general walk's from the key the cursor stopped at.
    mutating func rest(_ raw: inout RawEvent) -> Bool {
        if let ended { return ended }
        return raw.walk(quotes, b, count, from: i, expecting: missed)
    }

    /// Where the value of `f` starts, when its key is at i.
    @_transparent mutating func at(_ f: FieldName) -> Int? {
        guard ended == nil, b[i] == 0x22, let past = Self.key(f.literal, b, i, count) else {
            missed = f
            return nil
        }
        return past
    }

    /// Not taken after all (a value of another form): the general walk reads `f` from here.
    /// Always false, for the caller to return.
    @_transparent mutating func refuse(_ f: FieldName) -> Bool {
        missed = f
        return false
    }

    /// Past a value that ends before byte `end`: at the next key (true), or the line's end.
    /// As the general walk: `,` and another key follow a value, or `}` as the line's last byte.
    @_transparent mutating func pass(to end: Int) -> Bool {
        missed = nil
        if b[end] == 0x2C {
            i = end + 1
            return true
        }
        ended = b[end] == 0x7D && end == count - 1
        return false
    }

    @_transparent mutating func pass(_ s: StringSlice) -> Bool { pass(to: Int(s.start) + Int(s.count) + 1) }

    // MARK: values

    /// A string value of `f` (a closing quote is never the line's last byte, which is `}`).
    @_transparent mutating func string(_ f: FieldName) -> StringSlice? {
        guard let p = at(f), b[p] == 0x22, let close = quotes.first(from: p + 1) else { return missed(f) }
        return StringSlice(start: Int32(truncatingIfNeeded: p + 1), count: Int32(truncatingIfNeeded: close - p - 1), escaped: false)
    }

    /// A number of `f` in plain digits (what ``RawEvent/scalar(_:_:_:)`` reads as one, less its
    /// sign), and the byte after it. The line's last byte is `}`, so the digits end inside it.
    @_transparent mutating func number(_ f: FieldName) -> (Int, Int)? {
        guard let p = at(f) else { return nil }
        var j = p, v = 0
        while j - p < 18, b[j] &- 0x30 < 10 {
            v = v &* 10 &+ Int(b[j] &- 0x30)
            j += 1
        }
        guard j > p, b[p] != 0x30 || j == p + 1, b[j] == 0x2C || b[j] == 0x7D else { return missed(f) }
        return (v, j)
    }

    /// `true` or `false` for `f`, and the byte after it.
    @_transparent mutating func bool(_ f: FieldName) -> (Bool, Int)? {
        guard let p = at(f) else { return nil }
        if b[p] == 0x74, b[p + 1] == 0x72, b[p + 2] == 0x75, b[p + 3] == 0x65, b[p + 4] == 0x2C || b[p + 4] == 0x7D {
            return (true, p + 4)
        }
        // `false` runs to p + 4; the `}` at the line's end lies past it, so p + 5 is in the line.
        if b[p] == 0x66, b[p + 1] == 0x61, b[p + 2] == 0x6C, b[p + 3] == 0x73, b[p + 4] == 0x65,
           b[p + 5] == 0x2C || b[p + 5] == 0x7D {
            return (false, p + 5)
        }
        return missed(f)
    }

    /// `null` for `f`: the byte after it.
    @_transparent mutating func null(_ f: FieldName) -> Int? {
        guard let p = at(f), b[p] == 0x6E, b[p + 1] == 0x75, b[p + 2] == 0x6C, b[p + 3] == 0x6C,
              b[p + 4] == 0x2C || b[p + 4] == 0x7D else { return missed(f) }
        return p + 4
    }

    /// An array of strings (or, with `pairs`, an object of strings) for `f`, and the byte after it.
    @_transparent mutating func container(_ f: FieldName, pairs: Bool) -> (ContainerSlice, Int)? {
        guard let p = at(f), b[p] == (pairs ? 0x7B : 0x5B) else { return missed(f) }
        var j = p
        guard let c = RawEvent.strings(quotes, b, &j, close: pairs ? 0x7D : 0x5D, pairs: pairs), j < count else { return missed(f) }
        return (c, j)
    }

    @_transparent private mutating func missed<T>(_ f: FieldName) -> T? {
        missed = f
        return nil
    }

    // MARK: fields: each true when taken with another key after it

    @_transparent mutating func string(_ f: FieldName, _ field: inout StringSlice, _ present: inout UInt32) -> Bool {
        guard let s = string(f) else { return false }
        field = s
        present |= f.bit
        return pass(s)
    }

    /// A count (a number the field takes only when not negative; a plain number never is).
    @_transparent mutating func count(_ f: FieldName, _ field: inout Int, _ present: inout UInt32) -> Bool {
        guard let (n, end) = number(f) else { return false }
        field = n
        present |= f.bit
        return pass(to: end)
    }

    @_transparent mutating func strings(_ f: FieldName, _ field: inout ContainerSlice, _ present: inout UInt32) -> Bool {
        guard let (c, end) = container(f, pairs: false) else { return false }
        field = c
        present |= f.bit
        return pass(to: end)
    }

    @_transparent mutating func pairs(_ f: FieldName, _ field: inout ContainerSlice, _ present: inout UInt32) -> Bool {
        guard let (c, end) = container(f, pairs: true) else { return false }
        field = c
        present |= f.bit
        return pass(to: end)
    }

    /// `null` taken for `f`, whose key is at i (``null(_:)`` said so).
    @_transparent mutating func takeNull(_ f: FieldName, _ present: inout UInt32, _ null: inout UInt32) -> Bool {
        guard let end = self.null(f) else { return false }
        present |= f.bit
        null |= f.bit
        return pass(to: end)
    }

    @_transparent mutating func stringOrNull(_ f: FieldName, _ field: inout StringSlice, _ present: inout UInt32, _ null: inout UInt32) -> Bool {
        if self.null(f) != nil { return takeNull(f, &present, &null) }
        return string(f, &field, &present)
    }

    /// A field the writer leaves out of some events: false only when the line has ended or the
    /// field is there in a form not taken.
    @_transparent mutating func stringIfThere(_ f: FieldName, _ field: inout StringSlice, _ present: inout UInt32) -> Bool {
        guard at(f) != nil else { return ended == nil }
        return string(f, &field, &present)
    }

    @_transparent mutating func countIfThere(_ f: FieldName, _ field: inout Int, _ present: inout UInt32) -> Bool {
        guard at(f) != nil else { return ended == nil }
        return count(f, &field, &present)
    }

    /// ``RawEvent/key(_:_:_:_:)``, and near the line's end (where two words would read past it)
    /// the same bytes compared one by one.
    @inline(__always) static func key(_ literal: (UInt64, UInt64, Int), _ b: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Int? {
        if i + 17 <= count { return RawEvent.key(literal, b, i, count) }
        let n = literal.2
        guard i + 1 + n <= count else { return nil }
        for j in 0..<n {
            let word = j < 8 ? literal.0 : literal.1
            guard b[i + 1 + j] == UInt8(truncatingIfNeeded: word >> (8 * UInt64(j & 7))) else { return nil }
        }
        return i + 1 + n
    }
}

extension FieldName {
    /// The field's bit in ``RawEvent/present`` and its other masks.
    @inline(__always) var bit: UInt32 { 1 << rawValue }
}
