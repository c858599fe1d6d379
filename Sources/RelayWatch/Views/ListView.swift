import RelayCore

/// The message list: one row per message (in flight, then findings not yet acknowledged, then the
/// latest finished ones dimmed), with a recipient strip coloured and lettered by each
/// recipient's latest reply.
enum ListView {
    struct Columns {
        var id = 12, age = 5, sender = 14, rcpt = 5, counts = 13, state = 9, flag = 4
        var strip = 10
        /// The relay's view of the message (held, sending, next attempt): only with a relay.
        var relay = 0

        /// `queues`: the source names its queues and delay reasons (Postfix), which need room.
        /// `idWidth`: the longest queue id to show (Exim's are 16 or 23 characters).
        init(width: Int, live: Bool, queues: Bool = false, idWidth: Int = 11) {
            id = max(12, min(24, idWidth + 1))
            // A queue name and delay reason want 22 columns; below 120 they give way, so the
            // findings column and the recipients strip always keep their room.
            if live { relay = queues ? max(9, min(22, (width - 80) / 3 + 9)) : 9 }
            let fixed = id + age + rcpt + counts + state + flag + 7 + (live ? relay + 1 : 0)
            let rest = width - fixed
            sender = max(8, min(28, rest / 3))
            strip = max(4, rest - sender - 1)
        }
    }

    static func render(_ m: Monitor, into g: inout Grid) {
        let layout = m.layout
        let live = m.live.link != nil
        let c = Columns(width: g.width, live: live, queues: m.live.namesQueues,
                        idWidth: m.order.prefix(layout.listRows.height + m.listTop).reduce(0) { max($0, $1.count) })
        let titleRow = layout.listTitles.y
        g.fill(y: titleRow, role: .title)
        var x = 0
        var titles = [("QUEUE ID", c.id), ("AGE", c.age), ("SENDER", c.sender), ("RCPT", c.rcpt),
                      ("D/T/F/L", c.counts), ("STATE", c.state)]
        if live { titles.append(("RELAY", c.relay)) }
        for (title, w) in titles + [("!", c.flag), ("RECIPIENTS", c.strip)] {
            g.put(Format.cell(title, w), x: x, y: titleRow, role: .title)
            x += w + 1
        }
        let area = layout.listRows
        if m.order.isEmpty {
            let why: String
            if m.summaries.isEmpty {
                why = m.source.events == 0 ? "no delivery events yet (\(m.source.state))" : "no messages"
            } else if !m.filter.isEmpty {
                why = "no message matches the filter \"\(m.filter.source)\" (Esc clears it)"
            } else {
                why = "no message has a finding (a shows every message again)"
            }
            g.put("  " + why, x: 0, y: area.y, role: .dim)
            return
        }
        for (n, id) in m.order.dropFirst(m.listTop).prefix(area.height).enumerated() {
            guard let s = m.summaries[id] else { continue }
            let y = area.y + n
            let selected = s.id == m.selectedID
            let dimmed = m.listTop + n >= m.dimmedFrom
            let base: Role = selected ? .selected : dimmed ? .dim : .text
            if selected { g.fill(y: y, role: .selected) }
            var x = 0
            x = put(s.id, c.id, x, y, base, &g)
            x = put(Format.age(m.now - s.firstSeen.seconds), c.age, x, y, base, &g)
            x = put(s.from.isEmpty ? "<>" : s.from, c.sender, x, y, base, &g)
            x = put(String(s.recipients), c.rcpt, x, y, base, &g)
            x = put("\(s.delivered)/\(s.transient)/\(s.permanent)/\(s.tooMany)", c.counts, x, y, base, &g)
            x = put(s.stateLabel, c.state, x, y, base, &g)
            if live {
                let q = m.live.queueLabel(s.id, now: m.now)
                x = put(q, c.relay, x, y, q == "held" || q == "hold" || q == "frozen" ? .warning : (selected ? .selected : .dim), &g)
            }
            if s.anomalies.isEmpty {
                x = put("", c.flag, x, y, base, &g)
            } else if m.acknowledged.contains(s.id) {
                x = put("✓\(s.anomalies.count)", c.flag, x, y, base, &g)
            } else {
                x = put("!\(s.anomalies.count)", c.flag, x, y, .anomaly, &g)
            }
            strip(s.statuses, x: x, y: y, width: min(c.strip, g.width - x), into: &g)
        }
    }

    private static func put(_ text: String, _ w: Int, _ x: Int, _ y: Int, _ role: Role, _ g: inout Grid) -> Int {
        g.put(Format.cell(text, w), x: x, y: y, role: role)
        return x + w + 1
    }

    /// How bad a status is, for showing a group of recipients in one cell.
    static func severity(_ s: RecipientStatus) -> Int {
        if s.anomaly { return 7 }
        if s.ndr { return 6 }
        switch s.state {
        case .tooMany: return 5
        case .permanent: return 4
        case .transient: return 3
        case .pending: return 2
        case .accepted: return 1
        case .delivered: return 0
        }
    }

    /// One cell per recipient, or per group of recipients when there are more than cells (the
    /// cell then shows the group's worst status).
    static func strip(_ statuses: [RecipientStatus], x: Int, y: Int, width: Int, into g: inout Grid) {
        guard width > 0, !statuses.isEmpty else { return }
        let group = (statuses.count + width - 1) / width
        var cx = x
        var i = 0
        while i < statuses.count, cx < x + width {
            let slice = statuses[i..<min(statuses.count, i + group)]
            let worst = slice.max { severity($0) < severity($1) }!
            g.put(String(worst.glyph), x: cx, y: y, role: Format.role(of: worst))
            cx += 1
            i += group
        }
    }
}
