import RelayCore

extension RecipientsTab {
    /// The Recipients tab for a source whose log has no RCPT positions and no transactions
    /// (Postfix): each recipient's latest reply as the log gave it with the decision, the next hop
    /// that gave it and the outcome. No TXN, POS, MAIL, DATA or DOT columns: the log has none, and
    /// the band above says so.
    enum WithoutPositions {
        struct Columns {
            let number, address, reply, hop, outcome: Int

            init(width: Int) {
                number = width >= 120 ? 13 : 11
                outcome = 10
                hop = width >= 120 ? 26 : 0
                // mark, number, glyph, address gap, reply gap, hop, outcome, ndr, !
                let fixed = 1 + number + 2 + 1 + 1 + hop + outcome + 4 + 1
                address = max(14, min(40, (width - fixed) * 2 / 5))
                reply = max(10, width - fixed - address)
            }
        }

        static func render(_ m: Monitor, _ record: MessageRecord, _ s: MessageSummary, _ d: MessageDetail,
                           titles y0: Int, rows area: Rect, top: Int, cursor: Int, into g: inout Grid) {
            let c = Columns(width: g.width)
            var header = " " + Format.cell("#", c.number) + "  " + Format.cell("ADDRESS", c.address) + " "
            header += Format.cell("LAST REPLY (or the relay's reason)", c.reply) + " "
            if c.hop > 0 { header += Format.cell("NEXT HOP", c.hop) }
            header += Format.cell("OUTCOME", c.outcome) + "NDR !"
            g.fill(y: y0, role: .title)
            g.put(header, x: 0, y: y0, role: .title)
            guard area.height > 0, !d.recipientRows.isEmpty else { return }
            for (n, row) in d.recipientRows.dropFirst(top).prefix(area.height).enumerated() {
                let y = area.y + n
                let atCursor = top + n == cursor
                let start = rowStart(m, record, s, d, row, y: y, atCursor: atCursor, number: c.number, address: c.address, into: &g)
                var x = start.x
                let (first, status, base, quiet) = (start.first, start.status, start.base, start.quiet)
                let o = d.lastOutcome[first]
                if let reply = o?.reply {
                    let to = o?.command.map { $0 == .dot ? " (end of data)" : $0 == .rcpt ? " (RCPT)" : " (\($0))" } ?? ""
                    x = g.put(Format.cell(reply.description + to, c.reply), x: x, y: y, role: Format.role(of: reply, command: o?.command ?? .rcpt))
                } else {
                    x = g.put(Format.cell(o.map { $0.reason.isEmpty ? "no reply logged" : $0.reason } ?? "not tried yet", c.reply), x: x, y: y, role: atCursor ? .selected : .pending)
                }
                x = g.put(" ", x: x, y: y, role: base)
                if c.hop > 0 { x = g.put(Format.cell(o?.peer ?? "-", c.hop - 1) + " ", x: x, y: y, role: quiet) }
                let outcome = d.outcome[first]
                x = g.put(Format.cell(outcome?.rawValue ?? "-", c.outcome), x: x, y: y, role: outcome.map(MessageView.role(of:)) ?? .pending)
                x = g.put(status.ndr ? " N  " : "    ", x: x, y: y, role: status.ndr ? .ndr : base)
                g.put(status.anomaly ? "!" : " ", x: x, y: y, role: status.anomaly ? .anomaly : base)
            }
        }
    }
}
