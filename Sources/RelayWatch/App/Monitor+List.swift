import RelayCore

extension Monitor {
    /// Rebuilds `order` and `totals` after summaries, the filter, the view, the sort or the
    /// screen's height changed.
    ///
    /// The list leads with what needs the admin: messages in flight, then finished messages with
    /// a finding nobody has acknowledged (a miscount is only known once a message finishes, so
    /// hiding finished messages would hide exactly what relaywatch is for), then, while rows are
    /// left on the screen, the most recently finished ones, dimmed. A filter searches every
    /// message in memory.
    mutating func reorder() {
        var t = Totals()
        // Integer keys, so the sort compares numbers and reaches the id only on a tie.
        typealias Entry = (k1: Int64, k2: Int64, id: String)
        var inFlight: [Entry] = [], findings: [Entry] = [], rest: [Entry] = []
        inFlight.reserveCapacity(summaries.count)
        let filtering = !filter.isEmpty
        if filter.namesDestinations { fillDestinationTallies() }
        // The usual view shows only as many finished messages as rows are left: they are taken
        // newest first from the order they finished in, not sorted.
        let latestOnly = view == .standard && !filtering
        for s in summaries.values {
            if !s.done { t.inFlight += 1 }
            t.delivered += s.delivered
            t.deferred += s.transient
            t.bounced += s.permanent
            t.tooMany += s.tooMany
            let seen = acknowledged.contains(s.id)
            if seen { t.acknowledgedMessages += 1 } else { t.anomalies += s.anomalies.count }
            if view == .findings, !s.flagged { continue }
            if filtering, !filter.matches(s, addresses: { store.message(s.id).map { Array($0.recipients) } ?? [] },
                                          destinations: { destinationTallies[s.id] ?? [] }) { continue }
            if s.done && (!s.flagged || seen) {
                // Most recently finished first.
                if !latestOnly { rest.append((-Int64(finishedSeq[s.id] ?? 0), 0, s.id)) }
                continue
            }
            let age = s.firstSeen.microseconds
            let entry: Entry
            switch sort {
            case .age: entry = (age, 0, s.id)
            case .findings: entry = (-Int64(s.anomalies.count), age, s.id)
            case .recipients: entry = (-Int64(s.recipients), age, s.id)
            case .queueID: entry = (0, 0, s.id)
            }
            if s.done { findings.append(entry) } else { inFlight.append(entry) }
        }
        func sorted(_ list: [Entry]) -> [String] {
            list.sorted { a, b in
                if a.k1 != b.k1 { return a.k1 < b.k1 }
                if a.k2 != b.k2 { return a.k2 < b.k2 }
                return a.id < b.id
            }.map(\.id)
        }
        var rows = sorted(inFlight) + sorted(findings)
        dimmedFrom = rows.count
        if latestOnly {
            var room = pageSize - rows.count
            for id in finishedOrder.reversed() where room > 0 && !unseenFinding(id) {
                rows.append(id)
                room -= 1
            }
        } else {
            rows += sorted(rest)
        }
        order = rows
        totals = t
    }

    // MARK: acknowledging findings

    /// A message with a finding the admin has not acknowledged: it stays in sight and in memory.
    func unseenFinding(_ id: String) -> Bool { flaggedIDs.contains(id) && !acknowledged.contains(id) }

    /// `x`: the selected (or open) message's findings are seen; it joins the other finished
    /// messages. Again on an acknowledged one, it takes it back.
    mutating func acknowledgeSelected() {
        guard let id = actedOnID, let s = summaries[id] else { return say("no message selected") }
        guard s.flagged else { return say("\(id) has no finding to acknowledge") }
        if acknowledged.remove(id) != nil {
            say("\(id): acknowledgement taken back")
        } else {
            acknowledged.insert(id)
            say(s.done ? "\(id) acknowledged: it joins the finished messages (a shows it again)" : "\(id) acknowledged")
        }
        reorder()
    }

    /// `X`: every message shown with a finding is acknowledged.
    mutating func acknowledgeShown() {
        let ids = order.filter(unseenFinding)
        guard !ids.isEmpty else { return say("nothing shown has a finding left to acknowledge") }
        acknowledged.formUnion(ids)
        say("acknowledged \(ids.count) message\(ids.count == 1 ? "" : "s") with findings (a shows them again)")
        reorder()
    }

    // MARK: moving in the list

    /// Moves the selection; `settle`, at the end of every update, scrolls it into sight.
    mutating func moveSelection(_ delta: Int) {
        guard !order.isEmpty else { return }
        let current = order.firstIndex { $0 == selectedID } ?? 0
        selectedID = order[max(0, min(order.count - 1, current.addingReportingOverflow(delta).partialValue))]
    }

    /// The selected message, only if the list shows it (an empty list has none to open).
    var shownSelection: String? {
        guard let id = selectedID, order.contains(id) else { return nil }
        return id
    }

    // MARK: the filter

    mutating func filterKey(_ k: Key, _ text: String) -> [Effect] {
        switch k {
        case .interrupt: return [.quit]
        case .escape: editingFilter = nil
        case .enter:
            let wasEmpty = filter.isEmpty
            editingFilter = nil
            applyFilter(text)
            // The footer shows the filter while it applies; clearing one is worth a word.
            if filter.isEmpty, !wasEmpty { say("filter cleared") }
        case .backspace: editingFilter = String(text.dropLast())
        case .char(let c): editingFilter = text + String(c)
        default: break
        }
        return []
    }

    // MARK: destinations

    /// Works out the destinations of every message that has none cached.
    mutating func fillDestinationTallies() {
        for id in summaries.keys where destinationTallies[id] == nil {
            destinationTallies[id] = store.message(id).map { DestinationTally.of($0, peers: store.peers) } ?? []
        }
    }

    /// The destinations view's rows, from every message in memory.
    mutating func rebuildDestinations() {
        fillDestinationTallies()
        destinationRows = DestinationRow.all(summaries, tallies: destinationTallies)
        destinationCursor = min(destinationCursor, max(0, destinationRows.count - 1))
    }

    /// Filters the list to one destination (Enter in the destinations view).
    mutating func filterTo(destination name: String) {
        screen = .list
        applyFilter("dest:\(name)")
    }

    /// A new filter: the list from its top, the first match selected.
    private mutating func applyFilter(_ text: String) {
        filter = MessageFilter(text)
        listTop = 0
        reorder()
        selectedID = order.first
    }
}
