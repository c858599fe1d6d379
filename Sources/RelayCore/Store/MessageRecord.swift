/// Everything the log says about one queued message: its recipients, every transaction that
/// carried them with each reply paired by position, and the relay's decisions.
///
/// Recipients are numbered once per message (`RecipientID`) and transactions refer to them by that
/// number, so a 400-recipient message replayed over five attempts stores each address once.
///
/// Equal when every field is: the tests and the fuzzers check that a store given events and one
/// given their lines end with the same records.
public struct MessageRecord: Sendable, Equatable {
    public typealias RecipientID = Int32

    public let id: String
    public var from: String?
    public var size: Int?
    public var messageID: String?
    public var queuedAt: Timestamp?
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    public var held = false
    public var done = false
    public var retries = 0
    /// Events of this message the store could not place (a reply for a transaction it never saw):
    /// the log holds only part of the message, so rules that pair replies cannot be applied.
    public internal(set) var unplacedEvents = 0
    /// Some of this message's events never reached the store (a live feed dropped them while its
    /// reader was slow): what is here is incomplete in ways nobody can tell, so nothing is judged.
    public internal(set) var missedEvents = false

    /// Addresses by RecipientID.
    public private(set) var recipients = RecipientTable()
    /// Whether the address was in the `queued` event (others appeared only later, e.g. in an NDR).
    public private(set) var listed: [Bool] = []

    public internal(set) var transactions: [TransactionRecord] = []
    public internal(set) var outcomes: [OutcomeRecord] = []
    public internal(set) var ndrs: [NDRRecord] = []

    /// Event order within the message: outcomes and NDRs are placed relative to transactions by it.
    var nextSeq: Int32 = 0
    /// The recipient after the last outcome's: relays log outcomes in RCPT order, so it usually matches.
    var outcomeHint: RecipientID = 0

    init(id: String, at ts: Timestamp) {
        self.id = id
        self.firstSeen = ts
        self.lastSeen = ts
    }

    public func recipientID(_ address: String) -> RecipientID? {
        var address = address
        return address.withUTF8 { recipients.id(of: UnsafeRawBufferPointer($0)) }.map { RecipientID($0) }
    }

    public func transaction(_ id: String) -> TransactionRecord? {
        transactions.last { $0.id == id }
    }

    mutating func intern(_ address: UnsafeRawBufferPointer, listed isListed: Bool) -> RecipientID {
        let id = recipients.intern(address)
        if id == 0, listed.capacity == 0 { listed.reserveCapacity(8) }
        if id == listed.count { listed.append(isListed) } else if isListed { listed[id] = true }
        return RecipientID(id)
    }

    mutating func markListed(_ id: RecipientID) { listed[Int(id)] = true }

    /// Room for the `count` addresses of an arrival's list, `bytes` long in the line.
    mutating func reserveRecipients(_ count: Int, bytes: Int) {
        recipients.reserve(count, bytes: bytes)
        listed.reserveCapacity(listed.count + count)
    }

    mutating func addTransaction(_ t: TransactionRecord) {
        transactions.append(t)
    }

    mutating func takeSeq() -> Int32 {
        defer { nextSeq += 1 }
        return nextSeq
    }
}

/// One SMTP transaction of a message: the RCPTs in the order sent, and the replies paired with them.
public struct TransactionRecord: Sendable, Equatable {
    public let id: String
    public let session: String
    public let attempt: Int
    public let pipelined: Bool
    public let seq: Int32
    public let startedAt: Timestamp
    /// RecipientIDs in RCPT order: position i is RCPT #(i+1).
    public let rcpts: [MessageRecord.RecipientID]
    public var mail: SMTPReply?
    public var data: SMTPReply?
    public var dot: SMTPReply?
    /// The reply paired with each RCPT by the relay (`index` in the reply event).
    public internal(set) var rcptReplies: [SMTPReply?]
    /// How many of `rcptReplies` are set (kept as they are paired, so checking for a missing
    /// reply does not walk the array).
    public internal(set) var pairedReplyCount = 0
    /// Replies that could not be paired: an index past the last RCPT, a second reply for one
    /// index, or a reply logged for a different address than the RCPT at that position.
    public var strayReplies: [StrayReply] = []
    public var tally: Tally?
    /// When the latest reply of this transaction was logged (nil before the first).
    public internal(set) var lastReplyAt: Timestamp?
    /// The peer of its session (`host:port`) as the log named it when the transaction started
    /// (nil: no session event for it in the store's window, see ``DeliveryStore/sessionWindow``).
    public internal(set) var peer: String?
    /// Read in a later part of a split log whose session was not in that part: the sessions
    /// the part had read before it, to look the peer up once the parts before are merged.
    var peerAfterSessions: Int?
    /// Whether the peer waits for the parts of the log before this one (see `peerAfterSessions`).
    public var peerPending: Bool { peerAfterSessions != nil }

    public struct StrayReply: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case indexOutOfRange
            case duplicate
            case wrongRecipient(expected: String)
        }
        public var index: Int
        public var rcpt: String
        public var reply: SMTPReply
        public var kind: Kind
    }

    init(id: String, session: String, attempt: Int, pipelined: Bool, seq: Int32, startedAt: Timestamp,
         rcpts: [MessageRecord.RecipientID]) {
        self.id = id
        self.session = session
        self.attempt = attempt
        self.pipelined = pipelined
        self.seq = seq
        self.startedAt = startedAt
        self.rcpts = rcpts
        self.rcptReplies = Array(filled: nil, count: rcpts.count)
    }

}

public struct OutcomeRecord: Sendable, Hashable {
    public var rcpt: MessageRecord.RecipientID
    public var status: Outcome.Status
    /// Position in `transactions`, nil when the outcome names none (expiry, a relay decision).
    public var transaction: Int?
    public var reason: String
    public var seq: Int32
    public var at: Timestamp
    /// The reply logged with the decision and the command it answered (see ``Outcome/reply``):
    /// evidence without a RCPT position.
    public var reply: SMTPReply? = nil
    public var command: SMTPCommand? = nil
    public var peer: String? = nil

    /// What this reply means for the recipient, read as an answer to its command.
    public var meaning: ReplyMeaning? {
        guard let reply, let command else { return nil }
        return ReplyClassifier.meaning(of: reply, to: command)
    }
}

public struct NDRRecord: Sendable, Hashable {
    public var ndrMsg: String?
    public var rcpts: [MessageRecord.RecipientID]
    /// The Diagnostic-Code quoted for each recipient, when the relay logged them.
    public var diagnostics: [MessageRecord.RecipientID: String]
    public var seq: Int32
    public var at: Timestamp
}
