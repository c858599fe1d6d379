import RelayCore

/// Socket-only watching (no log file) gets its events pushed by the relay, and a relay never waits
/// for a slow reader: it drops events, says how many (`overflow`), and sends its whole queue to
/// start again from. Without care, a message whose `done` was among the dropped would stay "in
/// flight" for ever, and one whose outcomes were dropped would show recipients still waiting
/// that the relay settled long ago. So a gap marks every unfinished message as having missed
/// events (nothing is judged from part of the evidence), and the queue that follows settles them:
/// gone from the queue means finished; a recipient the queue has settled gets that outcome.
extension Monitor {
    mutating func eventsDropped(_ n: Int) {
        live.dropped += n
        // (The status line says so for as long as the view runs: "relay skipped N events".)
        for id in store.markEventsMissed() { dirty.insert(id) }
    }

    /// The queue the relay sent after an overflow: every message that missed events is brought to
    /// what the queue says.
    mutating func resynchronise(_ q: QueueSnapshot) {
        let queued = Dictionary(q.entries.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let at = Timestamp(seconds: q.relayNow)
        for record in store.unfinished where record.missedEvents && !record.done {
            guard let entry = queued[record.id] else {
                applyFromQueue(DeliveryEvent(ts: at, msg: record.id, .done))
                continue
            }
            let settled = Set(record.outcomes.filter { $0.status.isFinal }.map(\.rcpt))
            for r in entry.recipients {
                guard let status = Outcome.Status(rawValue: r.state), status.isFinal else { continue }
                if let id = record.recipientID(r.address), settled.contains(id) { continue }
                let reason = "from the relay's queue (its event was dropped)" + (r.lastReply.map { ": " + Self.words($0) } ?? "")
                applyFromQueue(DeliveryEvent(ts: at, msg: record.id, .outcome(Outcome(rcpt: r.address, status: status, txn: nil, reason: reason))))
            }
        }
    }

    /// An event the monitor made up from the relay's queue: applied like one from the relay, but
    /// not counted as one (the events read are the relay's, for the summary on leaving).
    mutating func applyFromQueue(_ event: DeliveryEvent) {
        noteChanged(store.applyEvent(event))
    }

    private static func words(_ r: LastReply) -> String {
        [r.code.map(String.init), r.enhanced, r.text].compactMap { $0 }.joined(separator: " ")
    }
}
