import RelayCore

/// The header (source, counts, sparkline) and the two bottom lines (status, key hints) that every
/// screen has.
enum Chrome {
    static func header(_ m: Monitor, into g: inout Grid) {
        g.fill(y: 0, role: .header)
        let t = m.totals
        // Right: the counts and the findings, which must always show; left: the source, cut to
        // what is left; between them, when there is room, the throughput sparkline.
        let narrow = g.width < 110
        let counts = narrow
            ? " \(Format.grouped(t.inFlight)) in flight  D\(Format.grouped(t.delivered)) T\(Format.grouped(t.deferred)) F\(Format.grouped(t.bounced)) L\(Format.grouped(t.tooMany)) "
            : "  in flight \(Format.grouped(t.inFlight))  D \(Format.grouped(t.delivered))  T \(Format.grouped(t.deferred))  F \(Format.grouped(t.bounced))  L \(Format.grouped(t.tooMany))  "
        let findings = t.anomalies > 0 ? " ! \(Format.grouped(t.anomalies)) anomalies " : " no anomalies "
        let rightWidth = Grid.displayWidth(counts) + Grid.displayWidth(findings)
        let rightStart = max(0, g.width - rightWidth)
        let state = m.source.showsProgress
            ? "loading \(m.source.bytesRead * 100 / max(1, m.source.bytesTotal))%" : m.source.state
        var x = g.put(narrow ? " " : " relaywatch ", x: 0, y: 0, role: .header)
        // The relay link is the part an admin must see; the log's path gives way to it.
        let room = max(0, rightStart - x - 1)
        let link = m.live.label(now: m.now).map { Format.fit($0, room) } ?? ""
        let sourceRoom = max(0, room - Grid.displayWidth(link) - (link.isEmpty ? 0 : 3))
        if !m.source.label.isEmpty, sourceRoom > 0 {
            let label = Format.fitTail(m.source.label, max(1, sourceRoom - Grid.displayWidth(state) - 3))
            x = g.put(Format.fit("\(label) [\(state)]", sourceRoom), x: x, y: 0, role: .header)
            if !link.isEmpty { x = g.put(" · ", x: x, y: 0, role: .header) }
        }
        if !link.isEmpty {
            let linkRole: Role
            switch m.live.link {
            case .reconnecting, .permissionDenied, .versionMismatch: linkRole = .warning
            default: linkRole = .header
            }
            x = g.put(link, x: x, y: 0, role: linkRole)
        }
        let sparkRoom = rightStart - x - 2
        if sparkRoom >= 8 {
            let w = min(30, sparkRoom)
            g.put(Format.sparkline(m.rate, width: w), x: rightStart - w - 1, y: 0, role: .sparkline)
        }
        let c = g.put(counts, x: rightStart, y: 0, role: .header)
        g.put(findings, x: c, y: 0, role: t.anomalies > 0 ? .anomaly : .header)
        // While a large log loads, a progress bar on the status line.
        if m.source.showsProgress, g.height > 3 {
            let done = Int(Double(g.width) * Double(m.source.bytesRead) / Double(m.source.bytesTotal))
            g.fill(y: g.height - 2, role: .statusbar)
            g.fill(y: g.height - 2, from: 0, to: done, role: .progress)
            g.put(" reading \(m.source.label): \(Format.grouped(m.source.bytesRead / 1024)) of \(Format.grouped(m.source.bytesTotal / 1024)) KiB",
                  x: 0, y: g.height - 2, role: .progress)
        }
    }

    /// The status line (messages, warnings, the filter being typed) and the key-hint bar.
    static func footer(_ m: Monitor, hints: [(String, String)], into g: inout Grid) {
        let statusRow = g.height - 2, keyRow = g.height - 1
        guard statusRow > Layout.headerRows else { return }
        if !m.source.showsProgress {
            g.fill(y: statusRow, role: .text)
            if let question = m.confirming?.question {
                let end = g.put(" " + question + " ", x: 0, y: statusRow, role: .filter)
                g.put(" y or Enter confirms, any other key cancels", x: end, y: statusRow, role: .dim)
            } else if let editing = m.editingFilter {
                let x = g.put(" filter: ", x: 0, y: statusRow, role: .filter)
                let end = g.put(editing, x: x, y: statusRow, role: .filter)
                g.put("█", x: end, y: statusRow, role: .filter)
                g.put("  (address, domain, queue id, code:552, rule:ndr-count-mismatch; Enter applies, Esc cancels)",
                      x: end + 1, y: statusRow, role: .dim)
            } else {
                var parts: [String] = []
                if let s = m.status { parts.append(s.text) }
                if !m.filter.isEmpty { parts.append("filter: \(m.filter.source)") }
                if m.anomaliesOnly { parts.append("anomalies only") }
                if m.source.malformed > 0 {
                    parts.append("\(Format.grouped(m.source.malformed)) malformed (\(m.source.lastMalformed ?? ""))")
                }
                if m.source.unplaced > 0 { parts.append("\(Format.grouped(m.source.unplaced)) unplaced") }
                if m.live.dropped > 0 { parts.append("relay skipped \(Format.grouped(m.live.dropped)) events for this slow view (queue resynchronised)") }
                if let banner = m.banner { parts.append(banner) }
                g.put(" " + parts.joined(separator: " · "), x: 0, y: statusRow, role: m.source.malformed > 0 ? .warning : .text)
            }
        }
        g.fill(y: keyRow, role: .statusbar)
        var x = 0
        for (key, what) in hints {
            if x + Grid.displayWidth(key) + Grid.displayWidth(what) + 2 > g.width { break }
            x = g.put(" " + key, x: x, y: keyRow, role: .keyhint)
            x = g.put(" " + what, x: x, y: keyRow, role: .statusbar)
        }
    }
}
