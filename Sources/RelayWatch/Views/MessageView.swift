import RelayCore

/// One message: its recipients with every reply, the transcript of each transaction as sent with
/// the replies paired by position, and the findings explained.
enum MessageView {
    static let hints: [(String, String)] = [
        ("Tab", "next tab"), ("↑↓", "scroll"), ("PgUp/PgDn", "page"), ("Esc", "back"), ("?", "help"),
    ]

    static let liveHints: [(String, String)] = [
        ("Tab", "next tab"), ("↑↓", "move"), ("space", "mark"), ("R", "retry marked"), ("r", "retry all"),
        ("h/u", "hold/release"), ("Esc", "back"), ("?", "help"),
    ]

    /// A line of content: runs of text with their roles.
    typealias Line = [(String, Role)]

    static func render(_ m: Monitor, id: String, tab: Monitor.Tab, into g: inout Grid) {
        guard let record = m.store.message(id), let summary = m.summaries[id] else {
            g.put("  message \(id) is no longer in the history (Esc goes back)", x: 0, y: 2, role: .dim)
            return
        }
        // Row 1: the message itself.
        g.fill(y: 1, role: .title)
        let size = record.size.map { "  \(Format.grouped($0)) bytes" } ?? ""
        let mid = record.messageID.map { "  \($0)" } ?? ""
        var relay = ""
        if m.live.isConnected {
            if let e = m.live.entries[id] {
                relay = "  relay: \(m.live.queueLabel(id, now: m.now)), attempt \(e.attempts), \(e.pending) waiting"
            } else {
                relay = "  relay: not queued"
            }
        }
        g.put(" \(id)  from <\(summary.from)>  \(summary.recipients) recipients\(size)  \(summary.stateLabel)  age \(Format.age(m.now - summary.firstSeen.seconds))\(relay)\(mid)",
              x: 0, y: 1, role: .title)
        // Row 2: tabs.
        var x = 1
        for t in Monitor.Tab.allCases {
            let label = t == .anomalies ? " \(t.title) (\(summary.anomalies.count)) " : " \(t.title) "
            x = g.put(label, x: x, y: 2, role: t == tab ? .tabActive : (t == .anomalies && !summary.anomalies.isEmpty ? .anomaly : .tabInactive))
            x += 1
        }
        let top = 3, visible = max(0, g.height - top - 2)
        switch tab {
        case .recipients:
            recipients(record, summary, m: m, top: top, visible: visible, into: &g)
        case .transcript:
            let t = Transcript(record, peers: m.store.peers)
            let first = max(0, min(m.detailTop, max(0, t.count - visible)))
            draw(lines: (first..<min(t.count, first + visible)).map(t.line), from: 0, top: top, visible: visible, into: &g)
        case .anomalies:
            draw(lines: anomalies(summary, width: g.width), from: m.detailTop, top: top, visible: visible, into: &g)
        }
    }

    static func draw(lines: [Line], from start: Int, top: Int, visible: Int, into g: inout Grid) {
        let first = max(0, min(start, max(0, lines.count - visible)))
        for (n, line) in lines.dropFirst(first).prefix(visible).enumerated() {
            var x = 0
            for (text, role) in line { x = g.put(text, x: x, y: top + n, role: role) }
        }
    }

    // MARK: recipients

    static func recipients(_ m: MessageRecord, _ s: MessageSummary, m monitor: Monitor, top: Int, visible: Int, into g: inout Grid) {
        let wide = g.width >= 120
        let addressWidth = max(16, min(40, g.width / 3))
        let replyWidth = max(12, g.width - addressWidth - (wide ? 49 : 36))
        var header = " " + Format.cell("#", 5) + "  " + Format.cell("ADDRESS", addressWidth) + " " + Format.cell("TXN", 6) + Format.cell("POS", 5)
        if wide { header += Format.cell("MAIL", 5) }
        header += Format.cell("RCPT REPLY", replyWidth) + " "
        if wide { header += Format.cell("DATA", 5) }
        header += Format.cell("DOT", 4) + Format.cell("OUTCOME", 10) + "NDR !"
        g.fill(y: top, role: .title)
        g.put(header, x: 0, y: top, role: .title)
        let rows = visible - 1
        guard rows > 0, s.recipients > 0 else { return }
        // Where each recipient was last sent, and its latest outcome: one pass each.
        var last = [(txn: Int, pos: Int)?](repeating: nil, count: m.recipients.count)
        for (k, t) in m.transactions.enumerated() { for (i, r) in t.rcpts.enumerated() { last[Int(r)] = (k, i) } }
        var outcome = [Outcome.Status?](repeating: nil, count: m.recipients.count)
        for o in m.outcomes { outcome[Int(o.rcpt)] = o.status }
        let first = max(0, min(monitor.detailTop, max(0, s.recipients - rows)))
        let marked = monitor.marks[m.id] ?? []
        for n in 0..<min(rows, s.recipients - first) {
            let r = first + n
            let y = top + 1 + n
            let status = s.statuses[r]
            let atCursor = r == monitor.recipientCursor
            if atCursor { g.fill(y: y, role: .selected) }
            var x = g.put(marked.contains(r) ? "*" : " ", x: 0, y: y, role: .filter)
            x = g.put(Format.cell(String(r + 1), 5), x: x, y: y, role: atCursor ? .selected : .dim)
            x = g.put(String(status.glyph) + " ", x: x, y: y, role: Format.role(of: status))
            x = g.put(Format.cell(m.recipients[r], addressWidth) + " ", x: x, y: y, role: status.anomaly ? .anomaly : .text)
            guard let (k, i) = last[r] else {
                g.put(Format.cell("never sent", 11), x: x, y: y, role: .pending)
                continue
            }
            let t = m.transactions[k]
            x = g.put(Format.cell(t.id, 6) + Format.cell("#\(i + 1)", 5), x: x, y: y, role: .dim)
            if wide { x = g.put(Format.cell(t.mail.map { String($0.code) } ?? "-", 5), x: x, y: y, role: Format.role(of: t.mail, command: .mail)) }
            let reply = t.rcptReplies[i]
            x = g.put(Format.cell(reply?.description ?? "no reply", replyWidth) + " ", x: x, y: y, role: Format.role(of: reply, command: .rcpt))
            if wide {
                let data = reply?.replyClass == .positive ? t.data : nil
                x = g.put(Format.cell(data.map { String($0.code) } ?? "-", 5), x: x, y: y, role: data == nil ? .dim : Format.role(of: data, command: .data))
            }
            let dot = reply?.replyClass == .positive ? t.dot : nil
            x = g.put(Format.cell(dot.map { String($0.code) } ?? "-", 4), x: x, y: y, role: dot == nil ? .dim : Format.role(of: dot, command: .dot))
            let outcomeText = outcome[r]?.rawValue ?? "-"
            x = g.put(Format.cell(outcomeText, 10), x: x, y: y, role: outcome[r].map(role(of:)) ?? .pending)
            x = g.put(status.ndr ? " N  " : "    ", x: x, y: y, role: status.ndr ? .ndr : .text)
            g.put(status.anomaly ? "!" : " ", x: x, y: y, role: status.anomaly ? .anomaly : .text)
        }
    }

    static func role(of status: Outcome.Status) -> Role {
        switch status {
        case .delivered: .reply2xx
        case .deferred: .reply4xx
        case .bounced, .expired: .reply5xx
        }
    }

    // MARK: transcript

    /// Each transaction as sent, with the reply paired with each command by position. Lines are
    /// made on demand: a 10,000-recipient message has 10,000 RCPT lines, and a frame shows fifty.
    struct Transcript {
        let m: MessageRecord
        let peers: [String: String]
        /// Where each transaction's lines start; the NDR lines follow the last one.
        let starts: [Int]
        let count: Int

        init(_ m: MessageRecord, peers: [String: String]) {
            self.m = m
            self.peers = peers
            var starts: [Int] = []
            var n = 0
            for t in m.transactions {
                starts.append(n)
                n += Transcript.lineCount(t)
            }
            self.starts = starts
            count = m.transactions.isEmpty ? 1 : n + m.ndrs.count
        }

        /// Header, MAIL, the RCPTs, DATA and end of data when logged, strays, tally, a blank.
        static func lineCount(_ t: TransactionRecord) -> Int {
            2 + t.rcpts.count + (t.data != nil || t.dot != nil ? 1 : 0) + (t.dot != nil ? 1 : 0)
                + t.strayReplies.count + (t.tally != nil ? 1 : 0) + 1
        }

        func line(_ i: Int) -> Line {
            if m.transactions.isEmpty { return [("  no transaction logged yet", .dim)] }
            // The transaction holding line i (binary search over the starts).
            var lo = 0, hi = starts.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if starts[mid] <= i { lo = mid } else { hi = mid - 1 }
            }
            let t = m.transactions[lo]
            var k = i - starts[lo]
            if k >= Transcript.lineCount(t), lo == m.transactions.count - 1 {
                let ndr = m.ndrs[k - Transcript.lineCount(t)]
                return [("NDR \(ndr.ndrMsg ?? "(not sent)") reports \(ndr.rcpts.count) recipient\(ndr.rcpts.count == 1 ? "" : "s") as failed", .ndr)]
            }
            func row(_ command: String, _ reply: SMTPReply?, _ cmd: SMTPCommand) -> Line {
                [("  " + Format.cell(command, 44) + " ", .text), (reply?.description ?? "(no reply)", Format.role(of: reply, command: cmd))]
            }
            if k == 0 {
                let peer = peers[t.session].map { " · peer \($0)" } ?? ""
                let mode = t.pipelined ? "pipelined: MAIL, the RCPTs and DATA sent as one group" : "one command at a time"
                return [("── \(t.id) · session \(t.session)\(peer) · attempt \(t.attempt) · \(mode) ──", .title)]
            }
            if k == 1 { return row("MAIL FROM:<\(m.from ?? "")>", t.mail, .mail) }
            k -= 2
            if k < t.rcpts.count { return row("RCPT TO:<\(m.recipients[Int(t.rcpts[k])])>  #\(k + 1)", t.rcptReplies[k], .rcpt) }
            k -= t.rcpts.count
            if t.data != nil || t.dot != nil {
                if k == 0 { return row("DATA", t.data, .data) }
                k -= 1
            }
            if t.dot != nil {
                if k == 0 { return row(".  (end of data)", t.dot, .dot) }
                k -= 1
            }
            if k < t.strayReplies.count {
                let stray = t.strayReplies[k]
                let what: String
                switch stray.kind {
                case .indexOutOfRange: what = "reply logged for RCPT #\(stray.index + 1), which was never sent"
                case .duplicate: what = "a second reply logged for RCPT #\(stray.index + 1)"
                case .wrongRecipient(let expected): what = "reply at #\(stray.index + 1) logged for \(stray.rcpt), but that RCPT was \(expected)"
                }
                return [("  ! " + what + ": ", .warning), (stray.reply.description, .warning)]
            }
            k -= t.strayReplies.count
            if let tally = t.tally, k == 0 {
                return [("  relay's tally: \(tally.accepted) accepted, \(tally.deferred) deferred, \(tally.bounced) bounced", .dim)]
            }
            return []
        }
    }

    // MARK: anomalies

    static func anomalies(_ s: MessageSummary, width: Int) -> [Line] {
        if s.anomalies.isEmpty { return [[("  no anomaly: every recipient is accounted for as the replies say", .reply2xx)]] }
        var out: [Line] = []
        for a in s.anomalies {
            let txn = a.txn.map { " [\($0)]" } ?? ""
            out.append([(" \(a.severity.rawValue.uppercased()) ", .anomaly), (" \(a.rule.rawValue)\(txn)", .title)])
            for line in wrap(a.detail, width: max(20, width - 4)) { out.append([("   " + line, .text)]) }
            out.append([("   breaks: \(a.rule.reference)", .dim)])
            if !a.rcpts.isEmpty {
                let names = a.rcpts.prefix(3).joined(separator: ", ") + (a.rcpts.count > 3 ? " and \(a.rcpts.count - 3) more" : "")
                out.append([("   recipients: \(names)", .dim)])
            }
            out.append([])
        }
        return out
    }

    /// Words into lines of at most `width` columns.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            let w = String(word)
            if current.isEmpty { current = w } else if Grid.displayWidth(current) + 1 + Grid.displayWidth(w) <= width { current += " " + w } else {
                lines.append(current)
                current = w
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
