import RelayCore

extension Monitor {
    /// Opens a message on its Recipients tab, the cursor on the first flagged recipient (or the
    /// first not delivered), the Transcript likewise on its first flagged reply.
    mutating func open(_ id: String) {
        guard let record = store.message(id), let s = summaries[id] else { return }
        selectedID = id
        screen = .message(id, .recipients)
        var d = DetailState(rows: MessageDetail(record, s, peers: store.peers, expandedRecipients: [], expandedTranscript: []))
        detail = d
        for tab in [Tab.recipients, .transcript] {
            let row = d.rows.openingRow(tab, s, record)
            d.cursor[tab.rawValue] = row
            // Some context above the row, unless everything fits.
            let rows = messageLayout.rows(tab).height
            d.top[tab.rawValue] = row < rows ? 0 : max(0, row - rows / 3)
        }
        detail = d
        clampDetail()
    }

    /// The message screen's rectangles, with the band as tall as this message's needs.
    var messageLayout: MessageLayout {
        layout.message(bandRows: bandLines.count)
    }

    /// The band's lines for the open message at this screen's height.
    var bandLines: [MessageDetail.BandLine] {
        guard let d = detail, let s = summaries[d.rows.id] else { return [] }
        return d.rows.band(limit: layout.bandLimit, findings: s.anomalies.count, blindSpots: !traits.blindSpots.isEmpty)
    }

    mutating func switchTab(_ step: Int) {
        guard case .message(let id, let tab) = screen else { return }
        let n = Tab.allCases.count
        screen = .message(id, Tab(rawValue: (tab.rawValue + step + n) % n)!)
        clampDetail()
    }

    /// Moves the cursor (Recipients, Transcript) or scrolls (Anomalies); the view follows.
    mutating func moveCursor(_ delta: Int) {
        guard case .message(let id, let tab) = screen, var d = detail else { return }
        let i = tab.rawValue
        if tab == .anomalies {
            let lines = summaries[id].map { MessageView.anomalies($0, width: width).count } ?? 0
            d.top[i] = max(0, min(max(0, lines - messageLayout.rows(tab).height), d.top[i].addingReportingOverflow(delta).partialValue))
        } else {
            d.cursor[i] = max(0, min(d.rows.rowCount(tab) - 1, d.cursor[i].addingReportingOverflow(delta).partialValue))
        }
        detail = d
        clampDetail()
    }

    /// Keeps each tab's cursor in its rows and in sight, and its scroll within the content.
    mutating func clampDetail() {
        guard case .message(_, let tab) = screen, var d = detail, tab != .anomalies else { return }
        let i = tab.rawValue
        let count = d.rows.rowCount(tab)
        let rows = max(1, messageLayout.rows(tab).height)
        d.cursor[i] = max(0, min(count - 1, d.cursor[i]))
        d.top[i] = Scroll.top(d.top[i], keeping: d.cursor[i], rows: rows, count: count)
        detail = d
    }

    /// `n` / `N`: the next or previous flagged row, wrapping round with a word.
    mutating func jumpToFlagged(forward: Bool) {
        guard case .message(_, let tab) = screen, var d = detail else { return }
        let flagged = d.rows.flaggedRows(tab)
        guard !flagged.isEmpty else {
            return say(tab == .anomalies ? "n and N move between flagged rows in the Recipients and Transcript tabs"
                                         : "no flagged recipient in this message")
        }
        let at = d.cursor[tab.rawValue]
        let target: Int
        if forward {
            if let next = flagged.first(where: { $0 > at }) { target = next } else {
                target = flagged[0]
                say("back to the first flagged row")
            }
        } else {
            if let previous = flagged.last(where: { $0 < at }) { target = previous } else {
                target = flagged[flagged.count - 1]
                say("on to the last flagged row")
            }
        }
        d.cursor[tab.rawValue] = target
        detail = d
        clampDetail()
    }

    /// Enter or → on a run shows its members; ← (on the run or any member) folds it again.
    mutating func expandOrCollapse(expand: Bool) {
        guard case .message(_, let tab) = screen, var d = detail else { return }
        let at = d.cursor[tab.rawValue]
        switch tab {
        case .recipients:
            guard at < d.rows.recipientRows.count else { return }
            switch d.rows.recipientRows[at] {
            case .run(let range, let expanded):
                if expand, !expanded { d.expandedRecipients.insert(range.lowerBound) }
                if !expand, expanded { d.expandedRecipients.remove(range.lowerBound) }
            case .one(let r, true) where !expand:
                // The run heading above this member.
                let head = d.rows.recipientRows[..<at].lastIndex {
                    if case .run(let range, true) = $0 { return range.contains(r) }
                    return false
                }
                if let head, case .run(let range, _) = d.rows.recipientRows[head] {
                    d.expandedRecipients.remove(range.lowerBound)
                }
            default:
                return
            }
        case .transcript:
            guard at < d.rows.transcriptRows.count else { return }
            switch d.rows.transcriptRows[at] {
            case .rcptRun(let k, let range, let expanded):
                let id = MessageDetail.RunID(txn: k, first: range.lowerBound)
                if expand, !expanded { d.expandedTranscript.insert(id) }
                if !expand, expanded { d.expandedTranscript.remove(id) }
            case .rcpt(let k, let p, true) where !expand:
                let head = d.rows.transcriptRows[..<at].lastIndex {
                    if case .rcptRun(k, let range, true) = $0 { return range.contains(p) }
                    return false
                }
                if let head, case .rcptRun(_, let range, _) = d.rows.transcriptRows[head] {
                    d.expandedTranscript.remove(MessageDetail.RunID(txn: k, first: range.lowerBound))
                }
            default:
                return
            }
        case .anomalies:
            return
        }
        detail = d
        rebuildDetail()
    }

    /// Works the open message's rows out again (it changed, or a run was expanded or folded),
    /// keeping each tab's cursor on the same recipient or reply.
    mutating func rebuildDetail() {
        guard let old = detail else { return }
        guard let record = store.message(old.rows.id), let s = summaries[old.rows.id] else { return }
        let rows = MessageDetail(record, s, peers: store.peers, expandedRecipients: old.expandedRecipients,
                                 expandedTranscript: old.expandedTranscript)
        var d = old
        d.rows = rows
        let r = old.cursor[0] < old.rows.recipientRows.count ? old.rows.recipientRows[old.cursor[0]] : nil
        if let r {
            // The same row if it is still there, else the row that now holds its first recipient.
            let first = old.rows.order[r.recipients.lowerBound]
            d.cursor[0] = (rows.order == old.rows.order ? rows.recipientRows.firstIndex(of: r) : nil)
                ?? rows.recipientRows.firstIndex { rows.recipients(of: $0).contains(first) } ?? 0
        }
        let t = old.cursor[1] < old.rows.transcriptRows.count ? old.rows.transcriptRows[old.cursor[1]] : nil
        if let t {
            d.cursor[1] = rows.transcriptRows.firstIndex(of: t) ?? rows.transcriptRows.firstIndex { Self.sameReply($0, t) } ?? d.cursor[1]
        }
        detail = d
        clampDetail()
    }

    /// Whether two transcript rows show the same RCPT (one as a member, one as its run).
    static func sameReply(_ a: TranscriptRow, _ b: TranscriptRow) -> Bool {
        func span(_ row: TranscriptRow) -> (Int, ClosedRange<Int>)? {
            switch row {
            case .rcpt(let k, let p, _): return (k, p...p)
            case .rcptRun(let k, let range, _): return (k, range)
            default: return nil
            }
        }
        guard let x = span(a), let y = span(b), x.0 == y.0 else { return false }
        return x.1.overlaps(y.1)
    }
}
