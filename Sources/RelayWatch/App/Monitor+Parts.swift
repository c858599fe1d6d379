import RelayCore

/// A later part of a large log, read on a core of its own while the monitor loads the part
/// before it (see ``MonitorRuntime``): the same split as the report's (see ReportBuilder+Parts).
/// It builds only the messages queued inside it, keeps the lines of messages from before for the
/// merge, summarises the messages that finish in it (the analyser's work, the larger part of the
/// monitor's own), and keeps no more finished messages than the monitor's history would, so a
/// day's log loads in bounded memory.
public struct MonitorPart: Sendable {
    var store = DeliveryStore(options: .init(keepAcceptedReplyText: true, dropFinished: false))
    var replay = ReportBuilder.ReplayLines()
    /// Finished messages still kept, in the order they finished, with the line of their `done`.
    var finished: [(line: Int, id: String)] = []
    /// Summaries of the finished ones whose peers were all known here.
    var summaries: [String: MessageSummary] = [:]
    public private(set) var lines = 0
    var events = 0
    var malformed = 0
    var lastMalformed: (line: Int, reason: String)?
    var unplaced = 0
    var agedOut = 0
    var forgottenFindings = 0
    let historyLimit: Int

    public init(historyLimit: Int) {
        self.historyLimit = historyLimit
    }

    /// Reads the lines of `range` of the file.
    public mutating func read(_ input: LogInput, _ range: Range<Int>) throws(LogInput.OpenError) {
        var splitter = LineSplitter()
        var failure: LogInput.OpenError?
        do throws(LogInput.OpenError) {
            try input.forEachChunk(in: range) { chunk in
                splitter.feed(chunk) { number, bytes, overlong in self.line(number, bytes, overlong) }
            }
        } catch {
            failure = error
        }
        splitter.finish { number, bytes, overlong in self.line(number, bytes, overlong) }
        lines = splitter.lineNumber
        store.sealBorn()
        if let failure { throw failure }
    }

    private mutating func line(_ number: Int, _ bytes: UnsafeRawBufferPointer, _ overlong: Bool) {
        if overlong {
            malformed += 1
            lastMalformed = (number, "line longer than \(LogDecoder.maxLineLength) bytes")
            return
        }
        var unplacedNow = 0
        switch store.applyInChunk(line: bytes, unplaced: { _ in unplacedNow += 1 }) {
        case .deferred(let peer):
            replay.append(bytes, number: number, peer: peer)
        case .applied(let applied):
            unplaced += unplacedNow
            switch applied {
            case .event, .unknownEvent: events += 1
            case .finished:
                events += 1
                finish(number)
            case .blank: break
            case .malformed(let why):
                malformed += 1
                lastMalformed = (number, why)
            }
        }
    }

    private mutating func finish(_ number: Int) {
        guard let id = store.lastMessageID, let record = store.message(id) else { return }
        _ = store.takeFinished()
        // A transaction whose session is from before the part gets its peer at the merge, and
        // the message its summary then.
        if !record.transactions.contains(where: \.peerPending) {
            summaries[id] = MessageSummary(record, peers: store.peers)
        }
        finished.append((number, id))
        evict()
    }

    /// The monitor's history rule (``HistoryRule``), within the part. A message whose summary
    /// waits for the merge counts as one with findings: it is kept.
    private mutating func evict() {
        let trim: (kept: [(line: Int, id: String)], forgotten: [(entry: (line: Int, id: String), finding: Bool)])?
        do {
            // A copy of the summaries that ends here, so forgetting does not copy them again.
            let summaries = self.summaries
            trim = HistoryRule.trim(finished, limit: historyLimit, pinned: { _ in false },
                                    finding: { summaries[$0.id]?.flagged ?? true })
        }
        guard let trim else { return }
        for f in trim.forgotten {
            forget(f.entry.id)
            agedOut += 1
            if f.finding { forgottenFindings += 1 }
        }
        finished = trim.kept
    }

    private mutating func forget(_ id: String) {
        store.remove(id)
        summaries[id] = nil
    }
}

extension Monitor {
    /// Whether a part read elsewhere can be merged here now (see ``MonitorPart``): no message
    /// this monitor holds was queued again in it. (The runtime splits no log read `--since`.)
    public func canMerge(_ part: MonitorPart) -> Bool {
        !store.heldIDs.contains(where: { part.store.bornHere($0) })
    }

    /// The part after what was read so far, read on another thread: its kept lines are applied
    /// here in their order, then its messages (and summaries) move over and take their place in
    /// the history by the line they finished at.
    mutating func merge(_ part: MonitorPart, lineOffset: Int) {
        var part = part
        let before = finishedOrder.count
        var replayedLines: [Int] = []
        part.replay.bytes.withUnsafeBytes { all in
            for e in part.replay.entries {
                let bytes = UnsafeRawBufferPointer(rebasing: all[e.start..<(e.start + e.count)])
                var unplacedNow = 0
                let applied = store.applyDeferred(line: bytes, peer: e.peer) { _ in unplacedNow += 1 }
                account(applied, number: e.number + lineOffset, unplaced: unplacedNow)
                while replayedLines.count < finishedOrder.count - before { replayedLines.append(e.number) }
            }
        }
        var adopted = Array(part.store.heldIDs)
        store.adoptUnfinished(of: &part.store)
        store.adoptSessions(of: &part.store)
        // The finished ones of both, by the line of their `done` (one message a line).
        let replayed = zip(replayedLines, finishedOrder[before...]).map { (line: $0, id: $1) }
        let merged = (replayed + part.finished).sorted { $0.line < $1.line }.map(\.id)
        finishedOrder.replaceSubrange(before..., with: merged)
        for id in merged {
            finishedSeq[id] = nextFinishedSeq
            nextFinishedSeq += 1
        }
        for (id, s) in part.summaries {
            summaries[id] = s
            if s.flagged { flaggedIDs.insert(id) }
        }
        adopted.removeAll { part.summaries[$0] != nil }
        dirty.formUnion(adopted)
        source.events += part.events
        source.unplaced += part.unplaced
        source.malformed += part.malformed
        if let m = part.lastMalformed { source.lastMalformed = "line \(m.line + lineOffset): \(m.reason)" }
        agedOut += part.agedOut
        forgottenFindings += part.forgottenFindings
    }
}
