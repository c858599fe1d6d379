import EximLog
import PostfixLog
import RelayCore

/// Other MTAs' logs and queue listings: whatever the adapters make of them must be delivery-log
/// v1 that reads back unchanged (the report, convert and the monitor trust it), and the store
/// must read each event as it reads its line.
enum FuzzMTALogs {
    static let reference = Timestamp(rfc3339: "2026-11-29T12:00:00Z")!

    /// An adapter's events, each checked as it comes (after every line): it reads back from its
    /// line unchanged, and both stores read it alike.
    struct Checked {
        var events: [DeliveryEvent] = []
        var count = 0
        var stores = AppliedBothWays()

        mutating func drain() {
            for e in events {
                FuzzDeliveryLog.roundTrip(e)
                stores.apply(e)
            }
            count += events.count
            events.removeAll(keepingCapacity: true)
        }

        /// The input has ended: the last events checked, and the stores compared.
        mutating func end() -> Int {
            drain()
            stores.check()
            return count
        }
    }

    /// The report's adapters draft their outcomes and `done`s (``EventDrafts``): each line must
    /// give the verdict and events it gives without drafting (drafts after the others), and the
    /// drafts must apply to a store as those events do.
    struct DraftedAlike {
        private var byEvents = DeliveryStore(options: .init(dropFinished: false))
        private var byDrafts = DeliveryStore(options: .init(dropFinished: false))
        private var events: [DeliveryEvent] = []
        private var mixed: [DeliveryEvent] = []

        mutating func compare(_ line: UnsafeRawBufferPointer, plain: (inout [DeliveryEvent]) -> AdapterVerdict,
                              drafting: (inout [DeliveryEvent]) -> (AdapterVerdict, EventDrafts)) {
            events.removeAll(keepingCapacity: true)
            mixed.removeAll(keepingCapacity: true)
            let v1 = plain(&events)
            let (v2, drafts) = drafting(&mixed)
            precondition(v1 == v2, "a line read differently when drafting (\(v1), \(v2))")
            var applied: [String] = [], appliedDrafts: [String] = []
            for e in events { applied.append("\(byEvents.applyEvent(e))") }
            for e in mixed { appliedDrafts.append("\(byDrafts.applyEvent(e))") }
            for k in 0..<drafts.count {
                appliedDrafts.append("\(byDrafts.applyDraft(drafts, k))")
                if let e = drafts.event(k) { mixed.append(e) }
            }
            // As their lines: what the store reads of an event.
            let lines = events.map(LogEncoder.line), draftedLines = mixed.map(LogEncoder.line)
            precondition(lines == draftedLines, "a line's drafts are not its events:\n\(draftedLines)\n\(lines)")
            precondition(applied == appliedDrafts, "drafts applied differently from their events (\(appliedDrafts), \(applied))")
        }

        func check() {
            precondition(byEvents.unfinished == byDrafts.unfinished, "a store given drafts and one given events hold different messages")
        }
    }

    /// An adapter set up as the report sets it up, and the same drafting.
    static func reportPair<A>(_ adapter: A, detail: WritableKeyPath<A, Bool>, drafts: WritableKeyPath<A, EventDrafts?>) -> (A, A) {
        var plain = adapter
        plain[keyPath: detail] = false
        var drafting = plain
        drafting[keyPath: drafts] = EventDrafts()
        return (plain, drafting)
    }

    static func postfix(_ input: UnsafeRawBufferPointer) -> Int {
        var checked = Checked()
        var syslog = PostfixAdapter(reference: reference, utcOffset: 3600, homeHost: "mx1")
        var journal = PostfixJournalAdapter(PostfixAdapter(reference: reference))
        var (plain, drafting) = reportPair(PostfixAdapter(reference: reference, utcOffset: 3600, homeHost: "mx1"),
                                           detail: \.keepsDeliveryDetail, drafts: \.drafts)
        var alike = DraftedAlike()
        FuzzTarget.lines(input) { line, overlong in
            guard !overlong else { return }
            _ = syslog.read(line: line, into: &checked.events)
            checked.drain()
            _ = journal.read(line: line, into: &checked.events)
            checked.drain()
            alike.compare(line, plain: { plain.read(line: line, into: &$0) }, drafting: { events in
                drafting.drafts!.removeAll()
                return (drafting.read(line: line, into: &events), drafting.drafts!)
            })
        }
        syslog.finish(into: &checked.events)
        checked.drain()
        journal.finish(into: &checked.events)
        alike.check()
        return checked.end()
    }

    static func exim(_ input: UnsafeRawBufferPointer) -> Int {
        var checked = Checked()
        var adapter = EximAdapter(utcOffset: -18000)
        var (plain, drafting) = reportPair(EximAdapter(utcOffset: -18000), detail: \.keepsDeliveryDetail, drafts: \.drafts)
        var alike = DraftedAlike()
        FuzzTarget.lines(input) { line, overlong in
            guard !overlong else { return }
            _ = adapter.read(line: line, into: &checked.events)
            checked.drain()
            alike.compare(line, plain: { plain.read(line: line, into: &$0) }, drafting: { events in
                drafting.drafts!.removeAll()
                return (drafting.read(line: line, into: &events), drafting.drafts!)
            })
        }
        adapter.finish(into: &checked.events)
        alike.check()
        return checked.end()
    }

    static func postqueue(_ input: UnsafeRawBufferPointer) -> Int {
        var entries = 0
        FuzzTarget.lines(input) { line, overlong in
            guard !overlong, let message = try? PostqueueMessage(line: line) else { return }
            entryEncodes(message.entry(key: message.queueID, now: 1_800_000_000))
            entries += 1
        }
        return entries
    }

    static func eximQueue(_ input: UnsafeRawBufferPointer) -> Int {
        var entries = 0
        let done: (EximQueuedMessage) -> Void = { entryEncodes($0.entry(now: 1_800_000_000)); entries += 1 }
        var reader = EximQueuedMessage.Reader()
        FuzzTarget.lines(input) { line, overlong in
            guard !overlong else { return }
            reader.line(line, done)
        }
        reader.finish(done)
        return entries
    }

    /// A queue entry goes into the monitor's list: it must encode to one line, as a snapshot does.
    static func entryEncodes(_ entry: QueueEntry) {
        let bytes = ControlProtocol.encode(SnapshotNotice(now: 0, messages: [entry]))
        precondition(bytes.last == 0x0A && !bytes.dropLast().contains(0x0A), "queue entry is not one line")
    }
}
