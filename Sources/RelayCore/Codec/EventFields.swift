/// What an event's fields are written to, in the order of its v1 line (see <doc:DeliveryLog>):
/// the encoder's JSON (``LogEncoder``), or the store's raw form for an event that never was a
/// line (``RawEventWriter``). Both take their fields from ``DeliveryEvent/writeFields(to:)``, so an
/// event applied straight from an adapter or the control socket has exactly the fields its line
/// would have.
protocol EventFieldSink {
    mutating func string(_ f: FieldName, _ s: String)
    mutating func strings(_ f: FieldName, _ list: [String])
    mutating func int(_ f: FieldName, _ n: Int)
    mutating func bool(_ f: FieldName, _ b: Bool)
    mutating func null(_ f: FieldName)
    mutating func enhanced(_ f: FieldName, _ e: EnhancedStatus)
    mutating func time(_ f: FieldName, _ t: Timestamp)
    /// An object of strings (an NDR's diagnostics), members in the order given.
    mutating func pairs(_ f: FieldName, _ members: [(String, String)])
}

extension DeliveryEvent {
    /// Every field of the event's line, in the line's order: `v`, `ts`, `event`, `msg`, then the
    /// event's own.
    func writeFields(to w: inout some EventFieldSink) {
        w.int(.v, 1)
        w.time(.ts, ts)
        w.string(.event, name)
        if let msg { w.string(.msg, msg) }
        switch body {
        case .queued(let q):
            w.string(.from, q.from)
            w.strings(.rcpts, q.rcpts)
            w.int(.size, q.size)
            if let id = q.messageID { w.string(.messageID, id) }
        case .session(let s):
            w.string(.session, s.session)
            w.string(.peer, s.peer)
            w.strings(.ehlo, s.ehlo)
        case .txn(let t):
            w.string(.txn, t.txn)
            w.string(.session, t.session)
            w.int(.attempt, t.attempt)
            w.bool(.pipelined, t.pipelined)
            w.strings(.rcpts, t.rcpts)
        case .reply(let r):
            w.string(.txn, r.txn)
            w.string(.cmd, r.command.description)
            if let index = r.index { w.int(.index, index) }
            if let rcpt = r.rcpt { w.string(.rcpt, rcpt) }
            w.reply(r.reply)
        case .tally(let t):
            w.string(.txn, t.txn)
            w.int(.accepted, t.accepted)
            w.int(.deferred, t.deferred)
            w.int(.bounced, t.bounced)
        case .outcome(let o):
            w.string(.rcpt, o.rcpt)
            w.string(.status, o.status.rawValue)
            if let t = o.txn { w.string(.txn, t) } else { w.null(.txn) }
            w.string(.reason, o.reason)
            if let at = o.retryAt { w.time(.retryAt, at) }
            if let reply = o.reply {
                if let c = o.command { w.string(.cmd, c.description) }
                w.reply(reply)
            }
            if let peer = o.peer { w.string(.peer, peer) }
        case .ndr(let n):
            if let m = n.ndrMsg { w.string(.ndrMsg, m) } else { w.null(.ndrMsg) }
            w.strings(.rcpts, n.rcpts)
            // Sorted so the same event always writes the same bytes.
            if let d = n.diagnostics { w.pairs(.diagnostics, d.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) }
        case .retry(let r):
            if let list = r.rcpts { w.strings(.rcpts, list) } else { w.null(.rcpts) }
            w.string(.source, r.source)
        case .hold, .release, .done:
            break
        }
    }
}

extension EventFieldSink {
    /// A reply's code, enhanced status (null when it has none) and text.
    fileprivate mutating func reply(_ r: SMTPReply) {
        int(.code, r.code)
        if let e = r.enhanced { enhanced(.enhanced, e) } else { null(.enhanced) }
        string(.text, r.text)
    }
}
