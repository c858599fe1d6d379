import RelayCore

/// The Recipients tab: every recipient with its replies and the relay's outcome; runs of
/// recipients with the same replies and outcome share a row (▸, Enter opens it) and a flagged
/// recipient always has its own.
enum RecipientsTab {
    /// Column widths; at 120 columns and more the MAIL and DATA replies get columns too.
    struct Columns {
        let wide: Bool
        let number, txn, pos, outcome: Int
        let address: Int
        let reply: Int

        init(width: Int) {
            wide = width >= 120
            number = wide ? 13 : 11
            txn = wide ? 6 : 4
            pos = wide ? 9 : 6
            outcome = wide ? 10 : 9
            // mark, number, glyph, address gap, txn, pos, [mail], reply gap, [data], dot, outcome, ndr, !
            let fixed = 1 + number + 2 + 1 + txn + pos + 1 + 4 + outcome + 4 + 1 + (wide ? 10 : 0)
            address = wide ? max(16, min(40, width / 3)) : max(14, (width - fixed) * 11 / 20)
            reply = max(10, width - fixed - address)
        }
    }

    static func render(_ m: Monitor, _ record: MessageRecord, _ s: MessageSummary, _ d: MessageDetail,
                       titles y0: Int, rows area: Rect, top: Int, cursor: Int, into g: inout Grid) {
        if !m.traits.logsRcptPositions {
            return WithoutPositions.render(m, record, s, d, titles: y0, rows: area, top: top, cursor: cursor, into: &g)
        }
        let c = Columns(width: g.width)
        var header = " " + Format.cell("#", c.number) + "  " + Format.cell("ADDRESS", c.address) + " " + Format.cell("TXN", c.txn) + Format.cell("POS", c.pos)
        if c.wide { header += Format.cell("MAIL", 5) }
        header += Format.cell(m.traits.logsRcptPositions ? "RCPT REPLY" : "REPLY", c.reply) + " "
        if c.wide { header += Format.cell("DATA", 5) }
        header += Format.cell("DOT", 4) + Format.cell("OUTCOME", c.outcome) + "NDR !"
        g.fill(y: y0, role: .title)
        g.put(header, x: 0, y: y0, role: .title)
        guard area.height > 0, !d.recipientRows.isEmpty else { return }
        for (n, row) in d.recipientRows.dropFirst(top).prefix(area.height).enumerated() {
            let y = area.y + n
            let start = rowStart(m, record, s, d, row, y: y, atCursor: top + n == cursor, number: c.number, address: c.address, into: &g)
            var x = start.x
            let (first, status, base, quiet) = (start.first, start.status, start.base, start.quiet)
            let atCursor = top + n == cursor
            let seen = d.appearances[first]
            guard let last = seen.last else {
                // With events missed, no transaction seen is not the same as none sent.
                let never = record.missedEvents ? "not seen (events missed)" : "never sent"
                let why = d.outcome[first].map { "\(never): \($0.rawValue)" } ?? never
                g.put(Format.cell(why, 30), x: x, y: y, role: atCursor ? .selected : .pending)
                continue
            }
            let t = record.transactions[last.txn]
            var txn = t.id
            var pos = "#\(last.pos + 1)"
            if case .run(let range, _) = row, let end = d.appearances[d.order[range.upperBound]].last {
                let endTxn = record.transactions[end.txn].id
                if endTxn != txn { txn += "…" }
                pos = end.txn == last.txn ? "#\(last.pos + 1)–\(end.pos + 1)" : "#\(last.pos + 1)…"
            }
            x = g.put(Format.cell(txn, c.txn) + Format.cell(m.traits.logsRcptPositions ? pos : "-", c.pos - 1) + " ", x: x, y: y, role: quiet)
            if c.wide { x = g.put(Format.cell(t.mail.map { String($0.code) } ?? "-", 5), x: x, y: y, role: Format.role(of: t.mail, command: .mail)) }
            let reply = t.rcptReplies[last.pos]
            x = replyChain(seen, record, into: &g, x: x, y: y, width: c.reply, gap: base)
            x += 1
            if c.wide {
                let data = reply?.replyClass == .positive ? t.data : nil
                x = g.put(Format.cell(data.map { String($0.code) } ?? "-", 5), x: x, y: y, role: data == nil ? quiet : Format.role(of: data, command: .data))
            }
            let dot = reply?.replyClass == .positive ? t.dot : nil
            x = g.put(Format.cell(dot.map { String($0.code) } ?? "-", 4), x: x, y: y, role: dot == nil ? quiet : Format.role(of: dot, command: .dot))
            let outcome = d.outcome[first]
            x = g.put(Format.cell(outcome?.rawValue ?? "-", c.outcome), x: x, y: y, role: outcome.map(MessageView.role(of:)) ?? .pending)
            x = g.put(status.ndr ? " N  " : "    ", x: x, y: y, role: status.ndr ? .ndr : base)
            g.put(status.anomaly ? "!" : " ", x: x, y: y, role: status.anomaly ? .anomaly : base)
        }
    }

    /// What every Recipients row starts with, whatever the source: the cursor's fill, the mark
    /// (`*` all of the row's recipients, `+` some), the number or range, the state's glyph and the
    /// address (or the run's first and last). Returns where the row goes on, and what it needs.
    static func rowStart(_ m: Monitor, _ record: MessageRecord, _ s: MessageSummary, _ d: MessageDetail, _ row: RecipientRow, y: Int,
                         atCursor: Bool, number numberWidth: Int, address addressWidth: Int, into g: inout Grid)
        -> (x: Int, first: Int, status: RecipientStatus, base: Role, quiet: Role) {
        if atCursor { g.fill(y: y, role: .selected) }
        let range = row.recipients
        let ids = d.recipients(of: row)
        let first = ids[0]
        let status = s.statuses[first]
        let markedHere = ids.filter((m.marks[record.id] ?? []).contains).count
        // The cursor's row is drawn in the selection's colours, but for the replies'.
        let base: Role = atCursor ? .selected : .text
        let quiet: Role = atCursor ? .selected : .dim
        var x = g.put(markedHere == 0 ? " " : markedHere == range.count ? "*" : "+", x: 0, y: y, role: markedHere == 0 ? base : .filter)
        let number: String
        let address: String
        switch row {
        case .one(let p, let member):
            number = (member ? "  " : "") + "#\(p + 1)"
            address = record.recipients[d.order[p]]
        case .run(let range, let expanded):
            number = (expanded ? "▾" : "▸") + "#\(range.lowerBound + 1)–#\(range.upperBound + 1)"
            address = "\(range.count) recipients: \(record.recipients[d.order[range.lowerBound]]) … \(record.recipients[d.order[range.upperBound]])"
        }
        x = g.put(Format.cell(number, numberWidth), x: x, y: y, role: quiet)
        x = g.put(String(status.glyph) + " ", x: x, y: y, role: Format.role(of: status))
        x = g.put(Format.cell(address, addressWidth) + " ", x: x, y: y, role: status.anomaly ? .anomaly : base)
        return (x, first, status, base, quiet)
    }

    /// The recipient's RCPT replies across its transactions, the earlier ones by code only:
    /// "552 5.5.3 → 250 2.1.5 Ok". Returns the column after `width`.
    static func replyChain(_ seen: [MessageDetail.Appearance], _ record: MessageRecord, into g: inout Grid, x: Int, y: Int, width: Int, gap: Role) -> Int {
        var cx = x
        let end = x + width
        for (i, a) in seen.enumerated() {
            let t = record.transactions[a.txn]
            let reply = t.rcptReplies[a.pos]
            let lastOne = i == seen.count - 1
            let text = reply.map { lastOne ? $0.description : $0.codeLabel } ?? "no reply"
            if i > 0 { cx = g.put(" → ", x: cx, y: y, role: gap, limit: max(0, end - cx)) }
            cx = g.put(Format.fit(text, max(0, end - cx)), x: cx, y: y, role: Format.role(of: reply, command: .rcpt), limit: max(0, end - cx))
        }
        g.fill(y: y, from: cx, to: end + 1, role: gap)
        return end
    }
}
