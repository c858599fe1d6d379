import Foundation

/// The control protocol (v2, and v1 for clients that ask for nothing newer) between mailrelayd and its clients: one JSON object per line each way
/// over a Unix stream socket. See the ControlProtocol article for the whole contract.
///
/// Foundation's JSON coders are used here, not the hand-written log codec: control traffic is a few
/// requests a second and a snapshot now and then, so clarity wins over speed. Delivery-log events
/// pushed to subscribers are not re-encoded: they go out as the log writer's own bytes.
public enum ControlProtocol {
    /// The newest version this side speaks. A client names the version it speaks in `hello`
    /// (`"protocol":2`); one that names none is a v1 client and is answered as one.
    public static let version = 2
    public static let versions = 1...2
    /// The longest request line the relay reads, newline included; longer ones get `line-too-long`.
    public static let maxRequestLine = 64 * 1024
    /// Connections that send this many unusable lines in a row are closed.
    public static let maxConsecutiveErrors = 10
    /// Requests a connection may make per second, on average, and in one burst: beyond them a
    /// request is answered `rate-limited` without being run (and counts as an unusable line).
    public static let requestsPerSecond = 100.0
    public static let requestBurst = 200.0
    /// Lines a connection may have waiting for their answers (requests run one at a time); a
    /// client that sends more without reading is closed, so it cannot make the relay buffer them.
    public static let maxPendingRequests = 1000

    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var bytes = (try? [UInt8](encoder.encode(value))) ?? Array(#"{"ok":false,"error":{"code":"internal","message":"unencodable"}}"#.utf8)
        bytes.append(0x0A)
        return bytes
    }

    /// What a line the client received is: a response to a request, a notice, or a delivery event.
    public enum Incoming: Sendable {
        case response(ControlResponse)
        case overflow(dropped: Int)
        case snapshot(SnapshotNotice)
        /// A delivery-log v1 line (the bytes are the line, ready for the log decoder).
        case event
        case garbage(String)
    }

    public static func classify(_ line: [UInt8]) -> Incoming {
        // Nearly every line on a subscribed connection is a delivery event: the log codec's own
        // scanner recognises one without building a JSON tree (or the event) for it.
        let isEvent = line.withUnsafeBytes { bytes -> Bool in
            var raw = RawEvent(JSONScanner(bytes))
            switch LogDecoder.scan(bytes, into: &raw) {
            case .event, .unknownEvent: return true
            case .blank, .malformed: return false
            }
        }
        if isEvent { return .event }
        let data = Data(line)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .garbage("not a JSON object")
        }
        if object["id"] != nil || object["ok"] != nil {
            do { return .response(try JSONDecoder().decode(ControlResponse.self, from: data)) } catch {
                return .garbage("response that does not decode: \(error)")
            }
        }
        switch object["event"] as? String {
        case "overflow": return .overflow(dropped: object["dropped"] as? Int ?? 0)
        case "snapshot":
            guard let notice = try? JSONDecoder().decode(SnapshotNotice.self, from: data) else { return .garbage("snapshot notice that does not decode") }
            return .snapshot(notice)
        case .some: return .event
        case nil: return .garbage("neither a response nor an event")
        }
    }
}

/// A request's `id`: whatever scalar the client chose, echoed back.
public enum ControlID: Codable, Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case string(String)
    /// A response to a line whose id could not be read is sent with `"id": null`.
    case none

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .none; return }
        if let n = try? c.decode(Int.self) { self = .int(n); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        throw DecodingError.typeMismatch(ControlID.self, .init(codingPath: decoder.codingPath, debugDescription: "id must be a string or an integer"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .none: try c.encodeNil()
        }
    }

    public var description: String {
        switch self {
        case .int(let n): String(n)
        case .string(let s): s
        case .none: "null"
        }
    }
}

public enum ControlOp: String, Codable, Sendable, CaseIterable {
    case hello, snapshot, subscribe, retry, hold, release, stats
}

public struct ControlRequest: Codable, Sendable {
    public var id: ControlID
    public var op: String
    /// retry, hold, release: the queue id.
    public var msg: String?
    /// retry: only these recipients (addresses); absent or null means every pending one.
    public var rcpts: [String]?
    /// hello (v2): the protocol version the client speaks; absent means 1.
    public var `protocol`: Int?
    /// snapshot (v2): a `queue_version` from an earlier answer; only what changed since is sent.
    public var since: Int64?

    public init(id: ControlID, op: ControlOp, msg: String? = nil, rcpts: [String]? = nil,
                protocol version: Int? = nil, since: Int64? = nil) {
        self.id = id
        self.op = op.rawValue
        self.msg = msg
        self.rcpts = rcpts
        self.protocol = version
        self.since = since
    }
}

/// Error codes, stable for scripts; the message is for people.
public enum ControlErrorCode: String, Codable, Sendable {
    case badJSON = "bad-json"
    case badRequest = "bad-request"
    case lineTooLong = "line-too-long"
    case unknownOp = "unknown-op"
    case unknownMessage = "unknown-message"
    case unknownRecipient = "unknown-recipient"
    case recipientFinal = "recipient-final"
    case inProgress = "in-progress"
    case held
    case notHeld = "not-held"
    case alreadyHeld = "already-held"
    case alreadySubscribed = "already-subscribed"
    case permissionDenied = "permission-denied"
    case tooManyErrors = "too-many-errors"
    case rateLimited = "rate-limited"
    case tooManyPending = "too-many-pending"
    case shuttingDown = "shutting-down"
    case internalError = "internal"
}

public struct ControlError: Codable, Sendable, Error, Equatable {
    public var code: String
    public var message: String

    public init(_ code: ControlErrorCode, _ message: String) {
        self.code = code.rawValue
        self.message = message
    }
}

/// Every response has `id` and `ok`; the other fields belong to the op that was asked.
public struct ControlResponse: Codable, Sendable {
    public var id: ControlID
    public var ok: Bool
    public var error: ControlError?
    // hello
    public var `protocol`: Int?
    public var relay: String?
    public var version: String?
    public var hostname: String?
    public var log: String?
    /// hello (v2): every version the relay speaks.
    public var protocols: [Int]?
    // snapshot
    public var now: Double?
    public var messages: [QueueEntry]?
    /// snapshot (v2): the queue's version now, for the next request's `since`.
    public var queueVersion: Int64?
    /// snapshot (v2): present when `messages` holds only the changes since this version;
    /// `removed` then lists the messages that left the queue since.
    public var since: Int64?
    public var removed: [String]?
    // retry, hold, release
    public var msg: String?
    public var rcpts: [String]?
    // stats
    public var stats: RelayStats?

    enum CodingKeys: String, CodingKey {
        case id, ok, error, `protocol`, relay, version, hostname, log, protocols, now, messages, since, removed, msg, rcpts, stats
        case queueVersion = "queue_version"
    }

    public init(id: ControlID, ok: Bool = true) {
        self.id = id
        self.ok = ok
    }

    public static func failure(_ id: ControlID, _ error: ControlError) -> ControlResponse {
        var r = ControlResponse(id: id, ok: false)
        r.error = error
        return r
    }
}

/// One queued message as the relay sees it now.
public struct QueueEntry: Codable, Sendable, Equatable {
    public var id: String
    /// "" is the null sender (a DSN).
    public var sender: String
    /// When it was received, seconds since 1970.
    public var received: Double
    /// Seconds since it was received, at the snapshot's `now`.
    public var age: Double
    public var size: Int
    public var held: Bool
    public var attempts: Int
    /// Seconds since 1970; in the past while an attempt is running or due.
    public var nextAttempt: Double
    /// An attempt is running now.
    public var inProgress: Bool
    public var recipients: [QueueRecipientEntry]
    /// The MTA's own queue the message sits in (Postfix: incoming, active, deferred, hold), for
    /// sources whose queue is not mailrelayd's; nil from mailrelayd.
    public var queue: String?

    enum CodingKeys: String, CodingKey {
        case id, sender, received, age, size, held, attempts, recipients, queue
        case nextAttempt = "next_attempt"
        case inProgress = "in_progress"
    }

    public init(id: String, sender: String, received: Double, age: Double, size: Int, held: Bool, attempts: Int,
                nextAttempt: Double, inProgress: Bool, recipients: [QueueRecipientEntry], queue: String? = nil) {
        self.queue = queue
        self.id = id
        self.sender = sender
        self.received = received
        self.age = age
        self.size = size
        self.held = held
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.inProgress = inProgress
        self.recipients = recipients
    }

    /// Recipients still owed a delivery: what a retry of the whole message sends.
    public var pending: Int { recipients.filter { $0.state == "pending" }.count }
}

public struct QueueRecipientEntry: Codable, Sendable, Equatable {
    public var address: String
    /// pending, delivered, bounced or expired.
    public var state: String
    public var attempts: Int
    public var lastReply: LastReply?

    enum CodingKeys: String, CodingKey {
        case address, state, attempts
        case lastReply = "last_reply"
    }

    public init(address: String, state: String, attempts: Int, lastReply: LastReply?) {
        self.address = address
        self.state = state
        self.attempts = attempts
        self.lastReply = lastReply
    }
}

/// The last reply a recipient got, split as the log splits replies. `code` is absent when there
/// was no reply at all (a connection failure or a timeout): then `text` says what happened.
public struct LastReply: Codable, Sendable, Equatable {
    public var code: Int?
    public var enhanced: String?
    public var text: String

    public init(code: Int?, enhanced: String?, text: String) {
        self.code = code
        self.enhanced = enhanced
        self.text = text
    }

    /// From the relay's "552 5.5.3 Too many recipients" form, or a plain reason.
    public init(recorded: String) {
        if let r = SMTPReply(parsing: recorded) {
            self.init(code: r.code, enhanced: r.enhanced?.description, text: r.text)
        } else {
            self.init(code: nil, enhanced: nil, text: recorded)
        }
    }
}

/// The whole queue, pushed to a subscriber after an overflow (always in full: the client missed
/// changes it cannot know).
public struct SnapshotNotice: Codable, Sendable {
    public var event = "snapshot"
    public var now: Double
    public var messages: [QueueEntry]
    /// v2: the queue's version, for the next `snapshot` request's `since`.
    public var queueVersion: Int64?

    enum CodingKeys: String, CodingKey {
        case event, now, messages
        case queueVersion = "queue_version"
    }

    public init(now: Double, messages: [QueueEntry], queueVersion: Int64? = nil) {
        self.now = now
        self.messages = messages
        self.queueVersion = queueVersion
    }
}

public struct OverflowNotice: Codable, Sendable {
    public var event = "overflow"
    public var dropped: Int

    public init(dropped: Int) { self.dropped = dropped }
}

/// The relay's counters since it started.
public struct RelayStats: Codable, Sendable, Equatable {
    public struct Connections: Codable, Sendable, Equatable {
        /// SMTP clients connected now, and since start (refused ones included).
        public var current = 0
        public var total = 0
        /// Sessions opened to next hops.
        public var outbound = 0
        /// Control clients connected now.
        public var control = 0
        public init() {}
    }

    public struct Recipients: Codable, Sendable, Equatable {
        public var delivered = 0
        public var deferred = 0
        public var bounced = 0
        public var expired = 0
        public init() {}
    }

    public struct Queue: Codable, Sendable, Equatable {
        public var messages = 0
        public var recipients = 0
        public var held = 0
        public init() {}
    }

    public var uptime: Double = 0
    public var connections = Connections()
    /// Messages received (queued) and finished (left the queue) since start.
    public var messages = ["received": 0, "finished": 0]
    /// Recipient outcomes since start (a deferred recipient counts once per deferral).
    public var recipients = Recipients()
    public var queue = Queue()
    public var ndrs = 0

    public init() {}

    /// Folds one delivery event into the counters.
    public mutating func count(_ e: DeliveryEvent) {
        switch e.body {
        case .queued: messages["received", default: 0] += 1
        case .done: messages["finished", default: 0] += 1
        case .session: connections.outbound += 1
        case .ndr: ndrs += 1
        case .outcome(let o):
            switch o.status {
            case .delivered: recipients.delivered += 1
            case .deferred: recipients.deferred += 1
            case .bounced: recipients.bounced += 1
            case .expired: recipients.expired += 1
            }
        default: break
        }
    }
}
