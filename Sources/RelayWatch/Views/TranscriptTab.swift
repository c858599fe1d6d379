import RelayCore

/// The Transcript tab: each transaction as sent, with the reply the relay paired with each
/// command by position. RCPTs with identical replies are one row (`RCPT #101–#150 → 552 5.5.3 Too
/// many recipients (50)`); Enter shows each of them, so every single reply stays reachable.
enum TranscriptTab {
    static func render(_ m: Monitor, _ record: MessageRecord, _ s: MessageSummary, _ d: MessageDetail,
                       rows area: Rect, top: Int, cursor: Int, into g: inout Grid) {
        for (n, row) in d.transcriptRows.dropFirst(top).prefix(area.height).enumerated() {
            let y = area.y + n
            let atCursor = top + n == cursor
            if atCursor { g.fill(y: y, role: .selected) }
            var line = self.line(row, record, s, m.store.peers)
            if atCursor { line = line.map { ($0.0, $0.1 == .text || $0.1 == .dim ? .selected : $0.1) } }
            MessageView.draw(line, y: y, width: g.width, into: &g)
        }
    }

    static func line(_ row: TranscriptRow, _ m: MessageRecord, _ s: MessageSummary, _ peers: SessionPeers) -> Line {
        func command(_ text: String, _ reply: SMTPReply?, _ cmd: SMTPCommand, role: Role = .text) -> Line {
            [("  ", .text), (Format.cell(text, 42) + " ", role), (reply?.description ?? "(no reply)", Format.role(of: reply, command: cmd))]
        }
        switch row {
        case .empty:
            if !m.outcomes.isEmpty {
                // An MTA such as Postfix logs decisions with replies, not the conversation.
                return [("  the log holds no SMTP transcript for this message (no MAIL, RCPT or DATA lines); each recipient's last reply is on the Recipients tab", .dim)]
            }
            return [("  no transaction logged yet", .dim)]
        case .header(let k):
            let t = m.transactions[k]
            let peer = (t.peer ?? peers[t.session]).map { " · peer \($0)" } ?? ""
            let mode = t.pipelined ? "pipelined: MAIL, the RCPTs and DATA sent as one group" : "one command at a time"
            return [("── \(t.id) · session \(t.session)\(peer) · attempt \(t.attempt) · \(mode) ──", .title)]
        case .mail(let k):
            return command("MAIL FROM:<\(m.from ?? "")>", m.transactions[k].mail, .mail)
        case .rcpt(let k, let i, let member):
            let t = m.transactions[k]
            let r = Int(t.rcpts[i])
            let flagged = s.statuses[r].anomaly
            let text = (member ? "  " : "") + "RCPT TO:<\(m.recipients[r])>  #\(i + 1)"
            var line = command(text, t.rcptReplies[i], .rcpt, role: flagged ? .anomaly : .text)
            if flagged { line.append(("  ! \(s.statuses[r].ndr ? "NDR'd" : "flagged")", .anomaly)) }
            return line
        case .rcptRun(let k, let range, let expanded):
            let t = m.transactions[k]
            let reply = t.rcptReplies[range.lowerBound]
            let text = "\(expanded ? "▾" : "▸") RCPT #\(range.lowerBound + 1)–#\(range.upperBound + 1) → "
            return [(text, .text), (reply?.description ?? "(no reply)", Format.role(of: reply, command: .rcpt)), (" (\(range.count))", .dim)]
        case .data(let k):
            return command("DATA", m.transactions[k].data, .data)
        case .dot(let k):
            return command(".  (end of data)", m.transactions[k].dot, .dot)
        case .stray(let k, let j):
            let stray = m.transactions[k].strayReplies[j]
            let what: String
            switch stray.kind {
            case .indexOutOfRange: what = "reply logged for RCPT #\(stray.index + 1), which was never sent"
            case .duplicate: what = "a second reply logged for RCPT #\(stray.index + 1)"
            case .wrongRecipient(let expected): what = "reply at #\(stray.index + 1) logged for \(stray.rcpt), but that RCPT was \(expected)"
            }
            return [("  ! " + what + ": ", .warning), (stray.reply.description, .warning)]
        case .tally(let k):
            guard let tally = m.transactions[k].tally else { return [] }
            return [("  relay's tally: \(tally.accepted) accepted, \(tally.deferred) deferred, \(tally.bounced) bounced", .dim)]
        case .blank:
            return []
        case .ndr(let j):
            let ndr = m.ndrs[j]
            return [("NDR \(ndr.ndrMsg ?? "(not sent)") reports \(ndr.rcpts.count) recipient\(ndr.rcpts.count == 1 ? "" : "s") as failed", .ndr)]
        }
    }
}
