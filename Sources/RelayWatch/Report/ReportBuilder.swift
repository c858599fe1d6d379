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

    public private(set) var messages = 0
    public private(set) var recipients = 0
    public private(set) var events = 0
    public private(set) var unknownEvents = 0
    public private(set) var malformed = 0
    /// The first malformed lines, for the user to look at (all are counted).
    public private(set) var malformedSamples: [MalformedLine] = []
    public private(set) var unplaced: [DeliveryStore.Unplaced] = []
    public private(set) var unplacedCount = 0
    public private(set) var findings: [MessageFindings] = []
    /// Messages only partly in the log (events that could not be placed): reply rules skipped.
    public private(set) var partialMessages = 0

    public static let sampleLimit = 20

    private var store = DeliveryStore(options: .init(keepAcceptedReplyText: false, dropFinished: true))

    public init() {}

    /// Reads one input to its end. Events continue across inputs: rotated logs given in order read
    /// as one log.
    public mutating func read(_ input: LogInput) throws(LogInput.OpenError) {
        var splitter = LineSplitter()
        let name = input.path == "-" ? "<stdin>" : input.path
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

    /// Feeds one line's bytes (without its newline).
    public mutating func line(_ file: String, _ number: Int, _ bytes: UnsafeRawBufferPointer, overlong: Bool = false) {
        if overlong {
            noteMalformed(file, number, "line longer than \(LogDecoder.maxLineLength) bytes")
            return
        }
        var notes: [DeliveryStore.Unplaced] = []
        let applied = store.apply(line: bytes) { notes.append($0) }
        for note in notes { noteUnplaced(note) }
        switch applied {
        case .event:
            events += 1
        case .finished:
            events += 1
            if let finished = store.takeFinished() { analyse(finished) }
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
        for m in rest { analyse(m) }
    }

    public var anomalyCount: Int { findings.reduce(0) { $0 + $1.anomalies.count } }

    private mutating func analyse(_ m: MessageRecord) {
        messages += 1
        if m.unplacedEvents > 0 { partialMessages += 1 }
        // Recipients of the queued event; for a message whose `queued` is before the log's start,
        // every address it was seen with.
        recipients += m.queuedAt != nil ? m.listed.lazy.filter { $0 }.count : m.recipients.count
        let anomalies = Analyser.analyse(m, peers: store.peers)
        if !anomalies.isEmpty {
            findings.append(MessageFindings(msg: m.id, from: m.from, recipients: m.recipients.count,
                                            done: m.done, anomalies: anomalies))
        }
    }

    private mutating func noteUnplaced(_ u: DeliveryStore.Unplaced) {
        unplacedCount += 1
        if unplaced.count < Self.sampleLimit { unplaced.append(u) }
    }
}
