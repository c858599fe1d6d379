import RelayCore

extension Monitor {
    /// The one place the state changes. Every input arrives here as a message; what the runtime
    /// must do comes back as effects. Before returning, the summaries of changed messages are
    /// worked out again and the selection kept in sight, so no caller has a step to remember.
    public mutating func update(_ msg: Msg) -> [Effect] {
        var effects: [Effect] = []
        switch msg {
        case .resize(let w, let h):
            width = max(1, w)
            height = max(1, h)
            // The usual list fills the rows it has with the latest finished messages; an open
            // message keeps its cursor in sight.
            if view == .standard { reorder() }
            clampDetail()
        case .tick(let t):
            advanceClock(t)
        case .mouse(let m):
            mouse(m)
        case .key(let k):
            effects = key(k)
        case .logLines(let batch):
            batch.forEach { number, bytes, overlong in ingest(line: bytes, number: number, overlong: overlong) }
            for (number, event) in batch.events { ingest(event: event, number: number) }
            for p in batch.problems { noteMalformed(p.number, p.reason) }
        case .logPart(let part, let lineOffset):
            merge(part, lineOffset: lineOffset)
        case .follower(let f):
            source.state = f.label
            source.bytesRead = f.bytesRead
            source.bytesTotal = f.catchUpSize
            source.catchingUp = f.state == .catchingUp
        case .relayLink(let l):
            linkChanged(l)
        case .relayQueue(let q):
            liveSnapshot(q)
        case .relayEvents(let batch):
            batch.forEach { _, bytes, _ in ingest(line: bytes, number: 0, overlong: false) }
        case .relayAnswer(let a):
            answered(a)
        case .relayDropped(let n):
            eventsDropped(n)
        case .relayProblem(let why):
            say(why, for: 10)
        case .themeLoaded(let name, let warnings):
            if !warnings.isEmpty { say("theme \(name): " + warnings.joined(separator: " · "), for: 15) }
        case .terminate:
            effects = [.quit]
        }
        refresh()
        settle()
        return effects
    }

    mutating func advanceClock(_ t: Double) {
        now = t
        // Start-up warnings (a theme's mistakes) are said once, on the status line, for a while.
        if !notices.isEmpty {
            say(notices.joined(separator: " · "), for: 15)
            notices = []
        }
        let second = Int(t)
        if rateSecond == 0 { rateSecond = second }
        if second > rateSecond {
            let shift = min(rate.count, second - rateSecond)
            rate.removeFirst(shift)
            rate.append(contentsOf: Array(repeating: 0, count: shift))
            rateSecond = second
        }
        if let s = status, s.until < t { status = nil }
    }

    /// A notice on the status line for a while. Saying the same thing again only extends it.
    mutating func say(_ text: String, for seconds: Double = 5) {
        status = (text, now + seconds)
    }

    // MARK: log lines

    /// Applies one delivery-log line (from the file or pushed by the relay).
    mutating func ingest(line bytes: UnsafeRawBufferPointer, number: Int, overlong: Bool) {
        if overlong {
            noteMalformed(number, "line longer than \(LogDecoder.maxLineLength) bytes")
            return
        }
        if let since, case .event(let e) = LogDecoder.decode(bytes), e.ts.seconds < since { return }
        var unplacedNow = 0
        let applied = store.apply(line: bytes) { _ in unplacedNow += 1 }
        account(applied, number: number, unplaced: unplacedNow)
    }

    /// Applies one event an adapter made of a line of another MTA's log.
    mutating func ingest(event: DeliveryEvent, number: Int) {
        if let since, event.ts.seconds < since { return }
        var unplacedNow = 0
        let applied = store.applyEvent(event) { _ in unplacedNow += 1 }
        account(applied, number: number, unplaced: unplacedNow)
    }

    /// What an applied line adds to the counts, and the message it changed.
    mutating func account(_ applied: DeliveryStore.Applied, number: Int, unplaced: Int) {
        source.unplaced += unplaced
        switch applied {
        case .event, .finished:
            source.events += 1
            rate[rate.count - 1] += 1
            noteChanged(applied)
        case .unknownEvent:
            source.events += 1
        case .blank:
            break
        case .malformed(let why):
            noteMalformed(number, why)
        }
    }

    /// After an event was applied to the store: its message is to be summarised again, and one
    /// that finished joins the history.
    mutating func noteChanged(_ applied: DeliveryStore.Applied) {
        switch applied {
        case .event, .finished:
            if let id = store.lastMessageID {
                // Consecutive events are mostly about one message: skip the set when it is the same.
                if id != lastDirty {
                    dirty.insert(id)
                    lastDirty = id
                }
                if case .finished = applied {
                    _ = store.takeFinished()
                    if finishedSeq[id] == nil { finishedOrder.append(id) }
                    finishedSeq[id] = nextFinishedSeq
                    nextFinishedSeq += 1
                }
            }
        default:
            break
        }
    }

    private mutating func noteMalformed(_ number: Int, _ why: String) {
        source.malformed += 1
        source.lastMalformed = number > 0 ? "line \(number): \(why)" : why
    }

    /// Re-derives the summaries of messages that changed, then the list, the open message and the
    /// destinations. Cheap when nothing changed.
    mutating func refresh() {
        lastDirty = ""
        guard !dirty.isEmpty else { return }
        for id in dirty {
            let s = store.message(id).map { MessageSummary($0, peers: store.peers) }
            summaries[id] = s
            if s?.flagged == true { flaggedIDs.insert(id) } else { flaggedIDs.remove(id) }
            destinationTallies[id] = nil
        }
        let openChanged = detail.map { dirty.contains($0.rows.id) } ?? false
        dirty.removeAll(keepingCapacity: true)
        evictHistory()
        reorder()
        if openChanged { rebuildDetail() }
        if screen == .destinations { rebuildDestinations() }
    }

    /// Forgets the oldest finished messages past the limit (``HistoryRule``); the open and
    /// selected ones stay; findings forgotten unacknowledged are counted for the status line.
    private mutating func evictHistory() {
        let trim: (kept: [String], forgotten: [(entry: String, finding: Bool)])?
        do {
            // Copies of the sets that end here, so forgetting does not copy them again.
            let openID = detail?.rows.id, selected = selectedID
            let flagged = flaggedIDs, seen = acknowledged
            trim = HistoryRule.trim(finishedOrder, limit: historyLimit, pinned: { $0 == selected || $0 == openID },
                                    finding: { flagged.contains($0) && !seen.contains($0) })
        }
        guard let trim else { return }
        for f in trim.forgotten {
            forget(f.entry)
            if f.finding { forgottenFindings += 1 }
        }
        finishedOrder = trim.kept
    }

    private mutating func forget(_ id: String) {
        agedOut += 1
        store.remove(id)
        summaries[id] = nil
        flaggedIDs.remove(id)
        destinationTallies[id] = nil
        finishedSeq[id] = nil
        acknowledged.remove(id)
        marks[id] = nil
    }

    /// Keeps the list's selection on the same message while rows come and go, and in view.
    mutating func settle() {
        guard !order.isEmpty else {
            listTop = 0
            return
        }
        let index = order.firstIndex { $0 == selectedID } ?? min(order.count - 1, max(0, listTop))
        if screen == .list || selectedID == nil { selectedID = order[index] }
        listTop = Scroll.top(listTop, keeping: index, rows: pageSize, count: order.count)
    }
}

extension Monitor {
    /// What this session read, said once the screen is given back (the shell keeps it): events,
    /// messages seen to the end, how many of those left memory, and anything not shown.
    public var sessionSummary: String {
        let from = source.label.isEmpty ? "the relay" : StandardStreams.printable(source.label)
        var parts = ["relaywatch: \(Format.grouped(source.events)) events read from \(from)",
                     "\(Format.grouped(nextFinishedSeq)) messages finished (\(Format.grouped(agedOut)) aged out of memory past --keep \(Format.grouped(historyLimit)))"]
        if source.malformed > 0 { parts.append("\(Format.grouped(source.malformed)) malformed lines") }
        if live.dropped > 0 { parts.append("\(Format.grouped(live.dropped)) events dropped by the relay for a slow view") }
        return parts.joined(separator: "; ")
    }
}
