/// One line of the delivery log v1 (see <doc:DeliveryLog>).
///
/// The relay writes these, the monitor and the report read them, and the control socket pushes
/// them; all three go through ``LogEncoder`` and ``LogDecoder`` so they cannot disagree. An event
/// the store is given without a line (an adapter's, the socket's) is read as its line would be:
/// the same fields, set by the reader's own code (``DeliveryStore/applyEvent(_:unplaced:)``).
public struct DeliveryEvent: Hashable, Sendable {
    public var ts: Timestamp
    /// The relay's queue id. Every event but `session` has one.
    public var msg: String?
    public var body: Body

    public init(ts: Timestamp, msg: String?, _ body: Body) {
        self.ts = ts
        self.msg = msg
        self.body = body
    }

    public indirect enum Body: Hashable, Sendable {
        case queued(Queued)
        case session(Session)
        case txn(Transaction)
        case reply(ReplyRecord)
        case tally(Tally)
        case outcome(Outcome)
        case ndr(NDR)
        case retry(Retry)
        case hold
        case release
        case done
    }

    /// The `event` field's value for this body.
    public var name: String {
        switch body {
        case .queued: "queued"
        case .session: "session"
        case .txn: "txn"
        case .reply: "reply"
        case .tally: "tally"
        case .outcome: "outcome"
        case .ndr: "ndr"
        case .retry: "retry"
        case .hold: "hold"
        case .release: "release"
        case .done: "done"
        }
    }
}

/// A message entered the queue.
public struct Queued: Hashable, Sendable {
    /// The envelope sender; "" is the null sender `<>`.
    public var from: String
    public var rcpts: [String]
    public var size: Int
    public var messageID: String?

    public init(from: String, rcpts: [String], size: Int, messageID: String? = nil) {
        self.from = from
        self.rcpts = rcpts
        self.size = size
        self.messageID = messageID
    }
}

/// The relay opened an SMTP session to a next hop.
public struct Session: Hashable, Sendable {
    public var session: String
    public var peer: String
    /// EHLO keywords as the peer sent them (`PIPELINING`, `SIZE 10240000`, ...).
    public var ehlo: [String]

    public init(session: String, peer: String, ehlo: [String]) {
        self.session = session
        self.peer = peer
        self.ehlo = ehlo
    }
}

/// The relay started a mail transaction (MAIL, its RCPTs, DATA) within a session.
public struct Transaction: Hashable, Sendable {
    public var txn: String
    public var session: String
    public var attempt: Int
    public var pipelined: Bool
    /// Recipients in the order their RCPT commands were sent: reply `index` points in here.
    public var rcpts: [String]

    public init(txn: String, session: String, attempt: Int, pipelined: Bool, rcpts: [String]) {
        self.txn = txn
        self.session = session
        self.attempt = attempt
        self.pipelined = pipelined
        self.rcpts = rcpts
    }
}

/// A reply the peer sent in a transaction, paired by the relay with the command it answers.
public struct ReplyRecord: Hashable, Sendable {
    public var txn: String
    public var command: SMTPCommand
    /// For RCPT: the 0-based position in the transaction's `rcpts`.
    public var index: Int?
    /// For RCPT: the recipient the relay believes this reply is for.
    public var rcpt: String?
    public var reply: SMTPReply

    public init(txn: String, command: SMTPCommand, index: Int? = nil, rcpt: String? = nil, reply: SMTPReply) {
        self.txn = txn
        self.command = command
        self.index = index
        self.rcpt = rcpt
        self.reply = reply
    }
}

/// What the relay believed a transaction came to.
public struct Tally: Hashable, Sendable {
    public var txn: String
    public var accepted: Int
    public var deferred: Int
    public var bounced: Int

    public init(txn: String, accepted: Int, deferred: Int, bounced: Int) {
        self.txn = txn
        self.accepted = accepted
        self.deferred = deferred
        self.bounced = bounced
    }
}

/// The relay's decision for one recipient.
public struct Outcome: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable, CaseIterable {
        case delivered, deferred, bounced, expired

        /// Delivered, bounced and expired end a recipient's life in the queue; deferred does not.
        public var isFinal: Bool { self != .deferred }
    }

    public var rcpt: String
    public var status: Status
    public var txn: String?
    public var reason: String
    public var retryAt: Timestamp?
    /// The peer's reply the decision rests on and the command it answered, when the log gives them
    /// with the decision rather than as a `reply` of a transaction: an MTA such as Postfix logs
    /// one line per recipient with the reply in it, and no RCPT position.
    public var reply: SMTPReply?
    public var command: SMTPCommand?
    /// The next hop that gave the reply ("mx.example.net[192.0.2.1]:25"), when logged.
    public var peer: String?

    public init(rcpt: String, status: Status, txn: String?, reason: String, retryAt: Timestamp? = nil,
                reply: SMTPReply? = nil, command: SMTPCommand? = nil, peer: String? = nil) {
        self.rcpt = rcpt
        self.status = status
        self.txn = txn
        self.reason = reason
        self.retryAt = retryAt
        self.reply = reply
        self.command = command
        self.peer = peer
    }
}

/// The relay generated (or, with a nil `ndrMsg`, decided but did not send) a non-delivery report.
public struct NDR: Hashable, Sendable {
    public var ndrMsg: String?
    public var rcpts: [String]
    /// Recipient -> the Diagnostic-Code the report quotes for it ("smtp; 552 5.5.3 ...").
    public var diagnostics: [String: String]?

    public init(ndrMsg: String?, rcpts: [String], diagnostics: [String: String]? = nil) {
        self.ndrMsg = ndrMsg
        self.rcpts = rcpts
        self.diagnostics = diagnostics
    }
}

/// A retry was scheduled, by the relay's own back-off or by an admin over the control socket.
public struct Retry: Hashable, Sendable {
    /// nil: every pending recipient.
    public var rcpts: [String]?
    public var source: String

    public init(rcpts: [String]?, source: String) {
        self.rcpts = rcpts
        self.source = source
    }
}
