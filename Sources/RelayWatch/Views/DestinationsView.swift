import RelayCore

/// The destinations view (`d`): one row per next hop, and per recipient domain where recipients
/// were never sent anywhere, the most troubled first. What waits there, what was deferred,
/// bounced and delivered, the recipient limit the peer showed, its last reply, and the ages of
/// the recipients still waiting, in qshape's buckets.
enum DestinationsView {
    struct Columns {
        let wide: Bool
        let name, count, limit, last: Int
        /// One column per qshape bucket when there is room, else one small histogram.
        let numericAges: Bool
        let ages: Int

        init(width: Int) {
            wide = width >= 120
            name = wide ? 22 : 14
            count = wide ? 10 : 5
            limit = wide ? 15 : 13
            let rest = width - (name + 4 * count + limit + 6)
            numericAges = rest - 51 >= 16
            ages = numericAges ? 50 : 10
            last = max(8, rest - ages - 1)
        }
    }

    static func render(_ m: Monitor, into g: inout Grid) {
        let layout = m.layout
        let c = Columns(width: g.width)
        let y0 = layout.listTitles.y
        g.fill(y: y0, role: .title)
        var x = 0
        let counts = c.wide ? ["WAITING", "DEFERRED", "BOUNCED", "DELIVERED"] : ["WAIT", "DEFER", "BOUNC", "DELIV"]
        let titles = [("DESTINATION", c.name)] + counts.map { ($0, c.count) } + [("LIMIT", c.limit), ("LAST REPLY", c.last)]
        for (title, w) in titles {
            x = g.put(Format.cell(title, w) + " ", x: x, y: y0, role: .title)
        }
        if c.numericAges {
            for b in DestinationRow.bucketMinutes.map(String.init) + ["\(DestinationRow.bucketMinutes.last!)+"] {
                x = g.put(Format.cell(b, 5), x: x, y: y0, role: .title)
            }
        } else {
            g.put("AGES <5m…21h+", x: x, y: y0, role: .title)
        }
        let area = layout.listRows
        if m.destinationRows.isEmpty {
            g.put("  no destination yet: no message has been sent anywhere", x: 0, y: area.y, role: .dim)
            return
        }
        let shown = m.destinationRows.dropFirst(m.destinationTop).prefix(area.height)
        if shown.count < area.height {
            let note = c.wide ? "counts are messages/recipients · LIMIT: RCPTs the peer took before its first too-many reply · ages: minutes waiting (qshape's buckets)"
                              : "counts are recipients · LIMIT: RCPTs before the first too-many · AGES: <5m to 21h+"
            g.put("  " + note, x: 0, y: area.y + shown.count + (shown.count < area.height - 1 ? 1 : 0), role: .dim)
        }
        for (n, row) in shown.enumerated() {
            let y = area.y + n
            let selected = m.destinationTop + n == m.destinationCursor
            if selected { g.fill(y: y, role: .selected) }
            let base: Role = selected ? .selected : .text
            var x = g.put(Format.cell(row.total.isHop ? row.name : "\(row.name) (no hop)", c.name) + " ", x: 0, y: y, role: base)
            func count(_ messages: Int, _ recipients: Int, _ role: Role) {
                let text = c.wide ? "\(Format.grouped(messages))/\(Format.grouped(recipients))" : Format.grouped(recipients)
                x = g.put(Format.cell(text, c.count) + " ", x: x, y: y, role: recipients == 0 ? (selected ? .selected : .dim) : role)
            }
            let t = row.total
            count(row.messages.waiting, t.waiting, base)
            count(row.messages.deferred, t.deferred, .reply4xx)
            count(row.messages.bounced, t.bounced, .reply5xx)
            count(row.messages.delivered, t.delivered, .reply2xx)
            let limit = t.limit.map { "\($0) \(t.limitReply ?? "")" } ?? "-"
            x = g.put(Format.cell(limit, c.limit) + " ", x: x, y: y, role: t.limit == nil ? (selected ? .selected : .dim) : .replyLimit)
            let last: String
            if let at = t.lastReplyAt, let reply = t.lastReply {
                last = "\(Format.age(m.now - at.seconds))\(c.wide ? " ago" : "") \(reply)"
            } else {
                last = "-"
            }
            x = g.put(Format.cell(last, c.last) + " ", x: x, y: y, role: role(of: t.lastReplyClass, selected: selected))
            let buckets = row.buckets(now: m.now)
            if c.numericAges {
                for b in buckets { x = g.put(Format.cell(String(b), 5), x: x, y: y, role: b == 0 ? .dim : base) }
            } else {
                g.put(Format.sparkline(buckets, width: buckets.count), x: x, y: y, role: .sparkline)
            }
        }
    }

    static func role(of c: ReplyClass?, selected: Bool) -> Role {
        switch c {
        case .positive?, .intermediate?: .reply2xx
        case .transient?: .reply4xx
        case .permanent?: .reply5xx
        default: selected ? .selected : .dim
        }
    }
}
