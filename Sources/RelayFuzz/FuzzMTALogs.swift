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

    static func postfix(_ input: UnsafeRawBufferPointer) -> Int {
        var checked = Checked()
        var syslog = PostfixAdapter(reference: reference, utcOffset: 3600, homeHost: "mx1")
        var journal = PostfixJournalAdapter(PostfixAdapter(reference: reference))
        FuzzTarget.lines(input) { line, overlong in
            guard !overlong else { return }
            _ = syslog.read(line: line, into: &checked.events)
            checked.drain()
            _ = journal.read(line: line, into: &checked.events)
            checked.drain()
        }
        syslog.finish(into: &checked.events)
        checked.drain()
        journal.finish(into: &checked.events)
        return checked.end()
    }

    static func exim(_ input: UnsafeRawBufferPointer) -> Int {
        var checked = Checked()
        var adapter = EximAdapter(utcOffset: -18000)
        FuzzTarget.lines(input) { line, overlong in
            guard !overlong else { return }
            _ = adapter.read(line: line, into: &checked.events)
            checked.drain()
        }
        adapter.finish(into: &checked.events)
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
