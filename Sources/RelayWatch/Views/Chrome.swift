import RelayCore

/// The header (source, counts, sparkline, findings) and the two bottom lines (status, key hints)
/// that every screen has.
enum Chrome {
    static func header(_ m: Monitor, into g: inout Grid) {
        let y = m.layout.header.y
        g.fill(y: y, role: .header)
        let t = m.totals
        // Right: the counts and the findings, which must always show. Then the throughput
        // sparkline, then the relay link, then the log's path, cut to what is left.
        let narrow = g.width < 110
        let counts = narrow
            ? " \(Format.grouped(t.inFlight)) in flight D\(Format.grouped(t.delivered)) T\(Format.grouped(t.deferred)) F\(Format.grouped(t.bounced)) L\(Format.grouped(t.tooMany)) "
            : "  in flight \(Format.grouped(t.inFlight))  D \(Format.grouped(t.delivered))  T \(Format.grouped(t.deferred))  F \(Format.grouped(t.bounced))  L \(Format.grouped(t.tooMany))  "
        let findings: String
        if t.anomalies > 0 {
            findings = " ! \(Format.grouped(t.anomalies)) anomalies "
        } else if t.acknowledgedMessages > 0 {
            findings = " ✓ \(Format.grouped(t.acknowledgedMessages)) acknowledged "
        } else {
            findings = " no anomalies "
        }
        let rightWidth = Grid.displayWidth(counts) + Grid.displayWidth(findings)
        let rightStart = max(0, g.width - rightWidth)
        let start = g.put(narrow ? " " : " relaywatch ", x: 0, y: y, role: .header)
        let available = rightStart - start - 1
        // The relay link is the part an admin must see. Beside a sparkline of ten it is said in
        // full where that fits (or, cut, where 40 columns are free: the reason matters), else
        // short. The sparkline takes a third of what the link leaves; the log's path the rest.
        let linkRoom = max(0, available - 11)
        let full = m.live.label(now: m.now) ?? ""
        let linkText = Grid.displayWidth(full) <= linkRoom || linkRoom >= 40 ? full : (m.live.label(now: m.now, short: true) ?? "")
        let sparkWidth = available >= 18 ? min(30, max(10, (available - min(Grid.displayWidth(linkText), linkRoom)) / 3)) : 0
        let room = max(0, available - sparkWidth - (sparkWidth > 0 ? 1 : 0))
        var x = start
        let link = Format.fit(linkText, room)
        let state = m.source.showsProgress
            ? "loading \(m.source.bytesRead * 100 / max(1, m.source.bytesTotal))%" : m.source.state
        let sourceRoom = max(0, room - Grid.displayWidth(link) - (link.isEmpty ? 0 : 3))
        if !m.source.label.isEmpty, sourceRoom > Grid.displayWidth(state) + 6 {
            let label = Format.fitTail(m.source.label, sourceRoom - Grid.displayWidth(state) - 3)
            x = g.put("\(label) [\(state)]", x: x, y: y, role: .header, limit: sourceRoom)
            if !link.isEmpty { x = g.put(" · ", x: x, y: y, role: .header) }
        }
        if !link.isEmpty {
            let linkRole: Role
            switch m.live.link {
            case .reconnecting, .permissionDenied, .incompatible: linkRole = .warning
            default: linkRole = .header
            }
            g.put(link, x: x, y: y, role: linkRole)
        }
        if sparkWidth > 0 {
            g.put(Format.sparkline(m.rate, width: sparkWidth), x: rightStart - sparkWidth - 1, y: y, role: .sparkline)
        }
        let c = g.put(counts, x: rightStart, y: y, role: .header)
        g.put(findings, x: c, y: y, role: t.anomalies > 0 ? .anomaly : .header)
        // While a large log loads, a progress bar on the status line.
        if m.source.showsProgress, g.height > 3 {
            let row = m.layout.status.y
            let done = Int(Double(g.width) * Double(m.source.bytesRead) / Double(m.source.bytesTotal))
            g.fill(y: row, role: .statusbar)
            g.fill(y: row, from: 0, to: done, role: .progress)
            g.put(" reading \(m.source.label): \(Format.grouped(m.source.bytesRead / 1024)) of \(Format.grouped(m.source.bytesTotal / 1024)) KiB",
                  x: 0, y: row, role: .progress)
        }
    }

    /// What the status line says when nothing is being typed or asked: the latest notice, then
    /// what stays true (filter, view, bad lines, the banner). Each thing once.
    static func statusParts(_ m: Monitor) -> [String] {
        var parts: [String] = []
        if let s = m.status { parts.append(s.text) }
        if !m.filter.isEmpty { parts.append("filter: \(m.filter.source) (Esc clears)") }
        switch m.view {
        case .standard: break
        case .everything: parts.append("showing every message (f: back)")
        case .findings: parts.append("showing messages with findings only (a: back)")
        }
        if m.source.malformed > 0 {
            parts.append("\(Format.grouped(m.source.malformed)) malformed (\(m.source.lastMalformed ?? ""))")
        }
        if m.source.unplaced > 0 { parts.append("\(Format.grouped(m.source.unplaced)) unplaced") }
        if m.live.dropped > 0 { parts.append("relay skipped \(Format.grouped(m.live.dropped)) events for this slow view (queue resynchronised)") }
        if m.forgottenFindings > 0 {
            parts.append("\(Format.grouped(m.forgottenFindings)) older unacknowledged messages left memory (relaywatch report has them)")
        }
        if let banner = m.banner { parts.append(banner) }
        var seen = Set<String>()
        return parts.filter { seen.insert($0).inserted }
    }

    /// The status line (notices, warnings, the filter being typed, a question) and the key-hint bar.
    static func footer(_ m: Monitor, into g: inout Grid) {
        let statusRow = m.layout.status.y, keyRow = m.layout.keys.y
        guard statusRow > m.layout.header.y else { return }
        if !m.source.showsProgress {
            g.fill(y: statusRow, role: .text)
            if let question = m.confirming?.question {
                let end = g.put(" " + question + " ", x: 0, y: statusRow, role: .filter)
                g.put(" y or Enter confirms, any other key cancels", x: end, y: statusRow, role: .dim)
            } else if let editing = m.editingFilter {
                let x = g.put(" filter: ", x: 0, y: statusRow, role: .filter)
                let end = g.put(editing, x: x, y: statusRow, role: .filter)
                g.put("█", x: end, y: statusRow, role: .filter)
                g.put("  (address, domain, queue id, dest:HOP, code:552, rule:ndr-count-mismatch; Enter applies, Esc cancels)",
                      x: end + 1, y: statusRow, role: .dim)
            } else {
                let text = " " + statusParts(m).joined(separator: " · ")
                g.put(Format.fit(text, g.width), x: 0, y: statusRow, role: m.source.malformed > 0 ? .warning : .text)
            }
        }
        g.fill(y: keyRow, role: .statusbar)
        let hints = KeyMap.hints(on: m.screen.kind, relay: m.live.link != nil)
        func width(_ h: (String, String)) -> Int { Grid.displayWidth(h.0) + Grid.displayWidth(h.1) + 2 }
        let pinnedWidth = hints.pinned.reduce(0) { $0 + width($1) }
        var x = 0
        for h in hints.left {
            if x + width(h) > g.width - pinnedWidth { break }
            x = g.put(" " + h.0, x: x, y: keyRow, role: .keyhint)
            x = g.put(" " + h.1, x: x, y: keyRow, role: .statusbar)
        }
        x = max(x, g.width - pinnedWidth)
        for h in hints.pinned {
            x = g.put(" " + h.0, x: x, y: keyRow, role: .keyhint)
            x = g.put(" " + h.1, x: x, y: keyRow, role: .statusbar)
        }
    }
}
