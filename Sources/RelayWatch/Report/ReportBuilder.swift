import PostfixLog
import RelayCore

/// Streams delivery logs through the store and the analyser, message by message.
///
/// Memory stays bounded by the messages in flight at any point of the log, not by its length: a
/// message is analysed and forgotten as soon as its `done` event is read.
public struct ReportBuilder {
    public struct MalformedLine: Sendable, Hashable {
        public var file: String
        public var line: Int
        public var reason: String
    }

    /// The anomalies of one message, with what the report prints above them.
    public struct MessageFindings: Sendable {
        public var msg: String
        public var from: String?
        public var recipients: Int
        public var done: Bool
        public var anomalies: [Anomaly]
    }

    public internal(set) var messages = 0
    public internal(set) var recipients = 0
    public internal(set) var events = 0
    public internal(set) var unknownEvents = 0
    public internal(set) var malformed = 0
    /// The first malformed lines, for the user to look at (all are counted).
    public internal(set) var malformedSamples: [MalformedLine] = []
    public internal(set) var unplaced: [DeliveryStore.Unplaced] = []
    public internal(set) var unplacedCount = 0
    public internal(set) var findings: [MessageFindings] = []
    /// Messages only partly in the log (events that could not be placed): reply rules skipped.
    public internal(set) var partialMessages = 0

    public static let sampleLimit = 20

    /// Cores to read with (`report --jobs`); 1 reads in one pass on one core.
    public var jobs = ReportBuilder.defaultJobs
    /// Parts to cut a plain file into, whatever its size and the cores (the tests' 1, 2 and 7);
    /// nil: one a core.
    public var parts: Int?
    /// Parts of files read at once so far, and those read again in one pass (an id reused while
    /// in flight across a cut): for the tests and the benchmark.
    public internal(set) var partsRead = 0
    public internal(set) var partsReadAgain = 0

    var store = DeliveryStore(options: .init(keepAcceptedReplyText: false, dropFinished: true))
    /// Set while this builder reads a part of a file after its first (see ReportBuilder+Parts).
    var laterPart: LaterPart?
    /// Tells the format (`.auto` until the first line that is not blank decides it) and turns
    /// another MTA's lines into delivery events.
    var translator: LogTranslator
    /// The log's format.
    public var format: LogFormat { translator.format }
    /// Lines another MTA's adapter used though their end was cut off.
    public internal(set) var truncated = 0

    /// How syslog times without a year or zone are read (a later part's builder reads them alike).
    let reference: Timestamp
    let utcOffset: Int

    /// `reference` and `utcOffset` read syslog times that have no year or zone (Postfix).
    public init(format: LogFormat = .mailrelayd, reference: Timestamp = Timestamp(seconds: 0), utcOffset: Int = 0) {
        self.init(format: format, reference: reference, utcOffset: utcOffset, homeHost: nil)
    }

    /// `homeHost`: the host whose Postfix messages are keyed by bare queue id (a later part's
    /// builder is told the one the first part has).
    init(format: LogFormat, reference: Timestamp, utcOffset: Int, homeHost: String?) {
        self.reference = reference
        self.utcOffset = utcOffset
        translator = LogTranslator(format: format, reference: reference, utcOffset: utcOffset, homeHost: homeHost, forAnalysis: true)
        translator.drafting = true
    }

    /// What another MTA's adapter counted: every line, those of the MTA (Postfix's programs;
    /// Exim's lines about a message), those that said something about a message.
    public var mtaCounts: AdapterCounts? {
        switch format {
        case .exim: return translator.exim.counts
        case .postfix, .journal: return translator.postfix.counts
        case .auto, .mailrelayd: return nil
        }
    }
    /// The hosts of a Postfix log (more than one: a central log server's file).
    public var hosts: [String] { format == .postfix || format == .journal ? translator.postfix.hosts : [] }

    /// Reads one input to its end. Events continue across inputs: rotated logs given in order read
    /// as one log.
    public mutating func read(_ input: LogInput) throws(LogInput.OpenError) {
        let name = input.path == "-" ? "<stdin>" : input.path
        let size = input.splittableSize
        if let size {
            let parts = self.parts ?? Self.partCount(size: size, jobs: jobs)
            if parts > 1, settleFormat(input, size: size) {
                return try readInParts(input, name: name, size: size, parts: parts)
            }
        }
        // A stream that cannot be cut (gzip, stdin, a pipe), or another MTA's file too small to cut: one core reads
        // (and inflates, and translates), the other parses and analyses.
        if jobs > 1, translator.adapts || size == nil { return try readInTwoStages(input) }
        var splitter = LineSplitter()
        var failure: LogInput.OpenError?
        do {
            try input.forEachChunk { chunk in
                splitter.feed(chunk) { number, bytes, overlong in
                    self.line(name, number, bytes, overlong: overlong)
                }
            }
        } catch {
            failure = error
        }
        // A last line without a newline is still a line (or a truncated one, reported as such).
        splitter.finish { number, bytes, overlong in self.line(name, number, bytes, overlong: overlong) }
        if let failure { throw failure }
    }

    /// A stream (in any format, or one still to be told), or another MTA's file too small to cut: this thread
    /// reads the input (inflating gzip), cuts it into lines and translates them into events (a
    /// v1 line passes as it is), in batches of a few megabytes; a second thread applies them to
    /// the store and analyses the messages as they finish. For another MTA the adapter and the
    /// store each take about half the work; for a gzip delivery log, inflating and parsing. The stages
    /// share nothing but the batches: the reading stage works on locals, written back at the end.
    private mutating func readInTwoStages(_ input: LogInput) throws(LogInput.OpenError) {
        let name = input.path == "-" ? "<stdin>" : input.path
        // Swapped out, not copied: a copy would duplicate the adapter's state at its first change.
        var translator = LogTranslator(format: .mailrelayd, reference: Timestamp(seconds: 0))
        swap(&translator, &self.translator)
        // The batches carry whole events to the other thread.
        translator.drafting = false
        var cut: [MalformedLine] = []
        var cutCount = 0
        var failure: LogInput.OpenError?
        let pipe = BatchPipe(capacity: 3)
        let batchBytes = 4 << 20
        var batch = LineBatch(expecting: batchBytes)
        withUnsafeMutablePointer(to: &self) { me in
            let target = UnsafeSendable(me)
            let applier = Worker {
                while let b = pipe.take() {
                    b.forEach { number, bytes, _ in target.pointer.pointee.apply(name, number, bytes) }
                    for (number, event) in b.events { target.pointer.pointee.apply(name, number, event) }
                    for p in b.problems { target.pointer.pointee.noteMalformed(name, p.number, p.reason) }
                }
            }
            func take(_ number: Int, _ bytes: UnsafeRawBufferPointer, _ overlong: Bool) {
                if overlong {
                    batch.noteProblem(number: number, "line longer than \(LogDecoder.maxLineLength) bytes")
                } else {
                    switch translator.translate(bytes) {
                    case nil: batch.append(bytes, number: number, overlong: false)
                    case .malformed(let why)?: batch.noteProblem(number: number, why)
                    case .truncated(let why)?:
                        cutCount += 1
                        if cut.count < Self.sampleLimit { cut.append(MalformedLine(file: name, line: number, reason: why + Self.usedAnyway)) }
                    case .used?, .ignored?, .deferred?: break
                    }
                    for event in translator.events { batch.append(event, number: number) }
                }
                if batch.byteCount >= batchBytes {
                    pipe.put(batch)
                    batch = LineBatch(expecting: batchBytes)
                }
            }
            var splitter = LineSplitter()
            do throws(LogInput.OpenError) {
                try input.forEachChunk { chunk in splitter.feed(chunk) { take($0, $1, $2) } }
            } catch {
                failure = error
            }
            // A last line without a newline is still a line (or a truncated one, reported as such).
            splitter.finish { take($0, $1, $2) }
            pipe.put(batch)
            pipe.close()
            applier.join()
        }
        // The applier has stopped: the reading stage's state comes home.
        translator.drafting = true
        swap(&translator, &self.translator)
        truncated += cutCount
        for c in cut where malformedSamples.count < Self.sampleLimit { malformedSamples.append(c) }
        if let failure { throw failure }
    }

    /// Feeds one line's bytes (without its newline).
    public mutating func line(_ file: String, _ number: Int, _ bytes: UnsafeRawBufferPointer, overlong: Bool = false) {
        if overlong {
            noteMalformed(file, number, "line longer than \(LogDecoder.maxLineLength) bytes")
            return
        }
        guard translator.adapts else { return apply(file, number, bytes) }
        // Where a deferred line is read again at the merge, the syslog reader is set back to
        // where it was before the line (the year of an RFC 3164 time depends on the lines before).
        let syslogBefore = laterPart != nil ? translator.syslogState : nil
        guard let verdict = translator.translate(bytes) else { return apply(file, number, bytes) }
        switch verdict {
        case .deferred:
            laterPart!.replay.append(bytes, number: number, peer: nil, syslog: syslogBefore)
            return
        case .malformed(let why): noteMalformed(file, number, why)
        case .truncated(let why):
            truncated += 1
            if malformedSamples.count < Self.sampleLimit { malformedSamples.append(MalformedLine(file: file, line: number, reason: why + Self.usedAnyway)) }
        case .used, .ignored: break
        }
        // The events held by a reference of their own while they are applied, so the store and
        // the adapter are not both borrowed from self at once (and nothing is copied).
        let events = translator.events
        for event in events { apply(file, number, event) }
        if let drafts = translator.drafts {
            for k in 0..<drafts.count { apply(file, number, drafts, k) }
        }
    }

    /// One event an adapter drafted (see ``EventDrafts``).
    private mutating func apply(_ file: String, _ number: Int, _ drafts: EventDrafts, _ k: Int) {
        var notes: [DeliveryStore.Unplaced] = []
        let applied = store.applyDraft(drafts, k) { notes.append($0) }
        count(applied, file, number, notes)
    }

    /// One event an adapter made of a line.
    private mutating func apply(_ file: String, _ number: Int, _ event: DeliveryEvent) {
        var notes: [DeliveryStore.Unplaced] = []
        let applied = store.applyEvent(event) { notes.append($0) }
        count(applied, file, number, notes)
    }

    /// Said after a truncated line's reason: what it did say was used.
    static let usedAnyway = " (what it says was used)"

    /// One delivery-log v1 line, read or translated.
    private mutating func apply(_ file: String, _ number: Int, _ bytes: UnsafeRawBufferPointer) {
        var notes: [DeliveryStore.Unplaced] = []
        let applied: DeliveryStore.Applied
        // Another MTA's later part: its adapter passes on only the messages the part owns.
        if laterPart == nil || translator.adapts {
            applied = store.apply(line: bytes) { notes.append($0) }
        } else {
            switch store.applyInChunk(line: bytes, unplaced: { notes.append($0) }) {
            case .applied(let a): applied = a
            case .deferred(let peer):
                laterPart!.replay.append(bytes, number: number, peer: peer)
                return
            }
        }
        count(applied, file, number, notes)
    }

    /// A line a later part kept for the merge, with the peer it found for a `txn` line.
    mutating func applyKept(_ file: String, _ number: Int, _ bytes: UnsafeRawBufferPointer, peer: DeliveryStore.TransactionPeer?) {
        var notes: [DeliveryStore.Unplaced] = []
        let applied = store.applyDeferred(line: bytes, peer: peer) { notes.append($0) }
        count(applied, file, number, notes)
    }

    /// What an applied line adds to the counts, samples and findings.
    private mutating func count(_ applied: DeliveryStore.Applied, _ file: String, _ number: Int, _ notes: [DeliveryStore.Unplaced]) {
        for note in notes { noteUnplaced(note, line: number) }
        switch applied {
        case .event:
            events += 1
        case .finished:
            events += 1
            if let finished = store.takeFinished() { analyse(finished, line: number) }
        case .unknownEvent:
            events += 1
            unknownEvents += 1
        case .blank:
            break
        case .malformed(let reason):
            noteMalformed(file, number, reason)
        }
    }

    private mutating func noteMalformed(_ file: String, _ number: Int, _ reason: String) {
        malformed += 1
        if malformedSamples.count < Self.sampleLimit {
            malformedSamples.append(MalformedLine(file: file, line: number, reason: reason))
        }
    }

    /// Analyses the messages still in the queue at the end of the input (no recipient-lost for
    /// them: they have not left the queue).
    public mutating func finish() {
        let rest = store.unfinished.sorted { ($0.firstSeen, $0.id) < ($1.firstSeen, $1.id) }
        for m in rest { analyse(m, line: 0) }
    }

    public var anomalyCount: Int { findings.reduce(0) { $0 + $1.anomalies.count } }

    /// `line`: where the message's `done` is (in a later part, its findings are placed by it).
    mutating func analyse(_ m: MessageRecord, line: Int) {
        if laterPart != nil {
            // A peer named by a session of an earlier part is known only once the parts are
            // merged: the message is judged then, in its place.
            guard !m.transactions.contains(where: \.peerPending) else {
                laterPart!.unjudged.append((line, m))
                return
            }
        }
        messages += 1
        if m.unplacedEvents > 0 { partialMessages += 1 }
        // Recipients of the queued event; for a message whose `queued` is before the log's start,
        // every address it was seen with.
        // (An MTA that logs no recipient list at queueing, such as Postfix: every address it
        // delivered to or tried.)
        let listed = m.queuedAt != nil ? m.listed.lazy.filter { $0 }.count : 0
        recipients += listed > 0 ? listed : m.recipients.count
        // Peers as each transaction took them when it started (the store's map changes after).
        let anomalies = Analyser.analyse(m)
        if !anomalies.isEmpty {
            findings.append(MessageFindings(msg: m.id, from: m.from, recipients: m.recipients.count,
                                            done: m.done, anomalies: anomalies))
            laterPart?.findingLines.append(line)
        }
    }

    private mutating func noteUnplaced(_ u: DeliveryStore.Unplaced, line: Int) {
        unplacedCount += 1
        if unplaced.count < Self.sampleLimit {
            unplaced.append(u)
            laterPart?.unplacedLines.append(line)
        }
    }
}
