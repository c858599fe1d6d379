/// Writes delivery-log v1 lines (see <doc:DeliveryLog>): one JSON object, keys in a fixed order
/// (`v`, `ts`, `event`, `msg`, then the event's own), no spaces, a trailing newline.
public enum LogEncoder {
    public static func line(_ event: DeliveryEvent) -> String {
        var out: [UInt8] = []
        append(event, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the event's line (with its newline) to a byte buffer: the relay batches these.
    public static func append(_ event: DeliveryEvent, to out: inout [UInt8]) {
        var w = JSONWriter(out: out)
        out = []
        // Room for a typical line at once, so the appends below do not grow the buffer piecemeal.
        w.out.reserveCapacity(w.out.count + 512)
        w.raw("{\"v\":1,\"ts\":\"")
        event.ts.appendRFC3339(to: &w.out)
        w.raw("\",\"event\":")
        w.string(event.name)
        if let msg = event.msg { w.key("msg"); w.string(msg) }
        switch event.body {
        case .queued(let q):
            w.key("from"); w.string(q.from)
            w.key("rcpts"); w.strings(q.rcpts)
            w.key("size"); w.int(q.size)
            if let id = q.messageID { w.key("message_id"); w.string(id) }
        case .session(let s):
            w.key("session"); w.string(s.session)
            w.key("peer"); w.string(s.peer)
            w.key("ehlo"); w.strings(s.ehlo)
        case .txn(let t):
            w.key("txn"); w.string(t.txn)
            w.key("session"); w.string(t.session)
            w.key("attempt"); w.int(t.attempt)
            w.key("pipelined"); w.raw(t.pipelined ? "true" : "false")
            w.key("rcpts"); w.strings(t.rcpts)
        case .reply(let r):
            w.key("txn"); w.string(r.txn)
            w.key("cmd"); w.string(r.command.description)
            if let index = r.index { w.key("index"); w.int(index) }
            if let rcpt = r.rcpt { w.key("rcpt"); w.string(rcpt) }
            w.key("code"); w.int(r.reply.code)
            w.key("enhanced")
            if let e = r.reply.enhanced { w.enhanced(e) } else { w.raw("null") }
            w.key("text"); w.string(r.reply.text)
        case .tally(let t):
            w.key("txn"); w.string(t.txn)
            w.key("accepted"); w.int(t.accepted)
            w.key("deferred"); w.int(t.deferred)
            w.key("bounced"); w.int(t.bounced)
        case .outcome(let o):
            w.key("rcpt"); w.string(o.rcpt)
            w.key("status"); w.string(o.status.rawValue)
            w.key("txn"); if let t = o.txn { w.string(t) } else { w.raw("null") }
            w.key("reason"); w.string(o.reason)
            if let at = o.retryAt {
                w.key("retry_at")
                w.out.append(0x22); at.appendRFC3339(to: &w.out); w.out.append(0x22)
            }
            if let reply = o.reply {
                if let c = o.command { w.key("cmd"); w.string(c.description) }
                w.key("code"); w.int(reply.code)
                w.key("enhanced")
                if let e = reply.enhanced { w.enhanced(e) } else { w.raw("null") }
                w.key("text"); w.string(reply.text)
            }
            if let peer = o.peer { w.key("peer"); w.string(peer) }
        case .ndr(let n):
            w.key("ndr_msg"); if let m = n.ndrMsg { w.string(m) } else { w.raw("null") }
            w.key("rcpts"); w.strings(n.rcpts)
            if let d = n.diagnostics {
                w.key("diagnostics")
                w.out.append(0x7B)
                // Sorted so the same event always writes the same bytes.
                for (k, (rcpt, diag)) in d.sorted(by: { $0.key < $1.key }).enumerated() {
                    if k > 0 { w.out.append(0x2C) }
                    w.string(rcpt); w.out.append(0x3A); w.string(diag)
                }
                w.out.append(0x7D)
            }
        case .retry(let r):
            w.key("rcpts"); if let list = r.rcpts { w.strings(list) } else { w.raw("null") }
            w.key("source"); w.string(r.source)
        case .hold, .release, .done:
            break
        }
        w.raw("}\n")
        out = w.out
    }
}
