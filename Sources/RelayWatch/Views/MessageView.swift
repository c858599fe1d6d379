import RelayCore

/// A line of content: runs of text with their roles.
typealias Line = [(String, Role)]

/// One message: a title, a summary band (each transaction's replies counted, the relay's
/// decisions, each finding in one sentence), then the tabs: its recipients in runs, the
/// transcript with the replies paired by position, and the findings explained.
enum MessageView {
    static func render(_ m: Monitor, id: String, tab: Monitor.Tab, into g: inout Grid) {
        guard let record = m.store.message(id), let summary = m.summaries[id], let d = m.detail else {
            g.put("  message \(id) is no longer in memory (Esc goes back)", x: 0, y: m.layout.body.y + 1, role: .dim)
            return
        }
        let layout = m.messageLayout
        title(m, record, summary, y: layout.title.y, into: &g)
        let findings = summary.anomalies.sorted { ($0.severity, $0.rule) < ($1.severity, $1.rule) }
        for (n, line) in m.bandLines.enumerated() {
            draw(band(line, d.rows, findings, m.traits, width: g.width), y: layout.band.y + n, width: g.width, into: &g)
        }
        // The tabs.
        var x = 1
        for t in Monitor.Tab.allCases {
            let label = t == .anomalies ? " \(t.title) (\(summary.anomalies.count)) " : " \(t.title) "
            x = g.put(label, x: x, y: layout.tabs.y, role: t == tab ? .tabActive : (t == .anomalies && !summary.anomalies.isEmpty ? .anomaly : .tabInactive))
            x += 1
        }
        let rows = layout.rows(tab)
        let top = d.top[tab.rawValue], cursor = d.cursor[tab.rawValue]
        switch tab {
        case .recipients:
            RecipientsTab.render(m, record, summary, d.rows, titles: layout.content.y, rows: rows, top: top, cursor: cursor, into: &g)
        case .transcript:
            TranscriptTab.render(m, record, summary, d.rows, rows: rows, top: top, cursor: cursor, into: &g)
        case .anomalies:
            let lines = anomalies(summary, width: g.width)
            for (n, line) in lines.dropFirst(top).prefix(rows.height).enumerated() {
                draw(line, y: rows.y + n, width: g.width, into: &g)
            }
        }
    }

    private static func title(_ m: Monitor, _ record: MessageRecord, _ summary: MessageSummary, y: Int, into g: inout Grid) {
        g.fill(y: y, role: .title)
        let size = record.size.map { "  \(Format.grouped($0)) bytes" } ?? ""
        let mid = record.messageID.map { "  \($0)" } ?? ""
        var relay = ""
        if m.live.isConnected {
            if let e = m.live.entries[record.id] {
                relay = e.queue != nil
                    ? "  queue: \(m.live.queueLabel(record.id, now: m.now)), \(e.pending) waiting"
                    : "  relay: \(m.live.queueLabel(record.id, now: m.now)), attempt \(e.attempts), \(e.pending) waiting"
            } else {
                relay = "  relay: not queued"
            }
        }
        let ack = m.acknowledged.contains(record.id) ? "  ✓ acknowledged" : ""
        let missed = summary.missedEvents ? "  events missed" : ""
        g.put(" \(record.id)  from <\(summary.from)>  \(summary.recipients) recipients\(size)  \(summary.stateLabel)  age \(Format.age(m.now - summary.firstSeen.seconds))\(relay)\(ack)\(missed)\(mid)",
              x: 0, y: y, role: .title)
    }

    /// A line drawn from the left, cut with an ellipsis at the screen's edge.
    static func draw(_ line: Line, y: Int, width: Int, into g: inout Grid) {
        var x = 0
        for (text, role) in line {
            guard x < width else { break }
            let room = width - x
            x = g.put(Grid.displayWidth(text) > room ? Format.fit(text, room) : text, x: x, y: y, role: role)
        }
    }

    // MARK: the band

    /// One line of the band. `findings` are the message's, the miscounts first; the peer's name
    /// is left to the transcript on narrow screens, where the counts need the room.
    static func band(_ line: MessageDetail.BandLine, _ d: MessageDetail, _ findings: [Anomaly], _ traits: SourceTraits, width: Int) -> Line {
        switch line {
        case .txn(let k):
            let c = d.txns[k]
            let peer: Line = width >= 110 ? (c.peer.map { [("\($0)  ", .dim)] } ?? []) : []
            return [(" " + Format.cell(c.id, 4) + " ", .title)] + peer + counts(c)
        case .txnRange(let a, let b):
            var sum = MessageDetail.TxnCounts(id: "\(d.txns[a].id)–\(d.txns[b].id)")
            for c in d.txns[a...b] {
                sum.sent += c.sent
                sum.accepted += c.accepted
                sum.tooMany += c.tooMany
                sum.tooManyReply = sum.tooManyReply ?? c.tooManyReply
                sum.refused += c.refused
                sum.noReply += c.noReply
                if sum.refusal == nil { sum.refusal = c.refusal }
            }
            return [(" \(sum.id) (\(b - a + 1) transactions)  ", .title)] + counts(sum)
        case .decisions:
            let x = d.decisions
            var out: Line = [(" relay: ", .title), ("\(x.delivered) delivered", x.delivered > 0 ? .reply2xx : .dim), (" · ", .dim),
                             ("\(x.deferred) deferred", x.deferred > 0 ? .reply4xx : .dim), (" · ", .dim),
                             ("\(x.bounced) bounced", x.bounced > 0 ? .reply5xx : .dim), (" · ", .dim)]
            if x.expired > 0 { out += [("\(x.expired) expired", .reply5xx), (" · ", .dim)] }
            out.append(("\(x.ndr) NDR'd", x.ndr > 0 ? .ndr : .dim))
            if x.undecided > 0 { out += [(" · ", .dim), ("\(x.undecided) undecided", .pending)] }
            return out
        case .blindSpots:
            return [(" " + traits.blindSpots.joined(separator: "; ") + ": what it does log is shown", .dim)]
        case .finding(let j):
            let a = findings[j]
            // The relay getting recipients wrong stands out; a deviation or a peer's fault is a warning.
            let role: Role = a.severity == .miscount || a.severity == .protocol ? .anomaly : .warning
            return [(" ! ", role), (" \(a.rule.rawValue): ", .title), (a.detail, .text)]
        case .moreFindings(let n):
            return [(" + \(n) more finding\(n == 1 ? "" : "s"): Tab to Anomalies", .dim)]
        }
    }

    /// "150 RCPTs: 100 accepted · 50 too many (552 5.5.3) · 0 refused · 0 no reply".
    private static func counts(_ c: MessageDetail.TxnCounts) -> Line {
        var out: Line = [("\(c.sent) RCPT\(c.sent == 1 ? "" : "s"): ", .text), ("\(c.accepted) accepted", c.accepted > 0 ? .reply2xx : .dim), (" · ", .dim)]
        out.append((c.tooMany > 0 ? "\(c.tooMany) too many (\(c.tooManyReply ?? "?"))" : "0 too many", c.tooMany > 0 ? .replyLimit : .dim))
        out += [(" · ", .dim), ("\(c.refused) refused", c.refused > 0 ? .reply5xx : .dim), (" · ", .dim),
                ("\(c.noReply) no reply", c.noReply > 0 ? .warning : .dim)]
        if let r = c.refusal {
            out += [(" · ", .dim), ("\(r.command) refused \(r.reply.codeLabel)", r.reply.replyClass == .transient ? .reply4xx : .reply5xx)]
        }
        return out
    }

    // MARK: anomalies

    static func anomalies(_ s: MessageSummary, width: Int) -> [Line] {
        if s.missedEvents {
            // Nothing to judge from: an empty list here must not read as "all is well".
            return wrap("not judged: some of this message's events never reached relaywatch (the relay dropped them while this view was too slow to read them). What the relay's queue said afterwards is shown; the delivery log has every event.", width: max(20, width - 4)).map { [("  " + $0, .warning)] }
        }
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

    static func role(of status: Outcome.Status) -> Role {
        switch status {
        case .delivered: .reply2xx
        case .deferred: .reply4xx
        case .bounced, .expired: .reply5xx
        }
    }
}
