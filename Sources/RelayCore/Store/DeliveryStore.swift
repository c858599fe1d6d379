/// Rebuilds messages from delivery events, in log order.
///
/// One owner of the per-message state; the report feeds it a stream and analyses each message when
/// it leaves the queue, the monitor keeps it as its model. Events the store cannot place (a reply for
/// a transaction it never saw) are counted and described, never fatal: logs start mid-stream after a
/// rotation, and a reader must still make sense of the rest.
public struct DeliveryStore: Sendable {
    public struct Options: Sendable {
        /// Keep the text of 2yz replies. The monitor shows them; the report does not need them, and
        /// dropping them keeps a million-recipient log in a few tens of megabytes.
        public var keepAcceptedReplyText: Bool
        /// Forget a message once it is `done` (the report analyses it first).
        public var dropFinished: Bool

        public init(keepAcceptedReplyText: Bool = true, dropFinished: Bool = false) {
            self.keepAcceptedReplyText = keepAcceptedReplyText
            self.dropFinished = dropFinished
        }
    }

    /// Something in the log the store could not place, with the reason.
    public struct Unplaced: Sendable, Hashable {
        public var msg: String?
        public var reason: String
    }

    public let options: Options
    public private(set) var messages: [String: MessageRecord] = [:]
    /// Session id -> peer ("host:port"), for naming the peer in findings.
    public private(set) var peers: [String: String] = [:]
    public private(set) var unplacedCount = 0

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Applies one event. Returns the message when this event finished it (`done`); with
    /// `dropFinished` the store no longer holds it.
    @discardableResult
    public mutating func apply(_ event: DeliveryEvent, unplaced: (Unplaced) -> Void = { _ in }) -> MessageRecord? {
        if case .session(let s) = event.body {
            peers[s.session] = s.peer
            return nil
        }
        guard let id = event.msg else { return nil }
        // Take the record out while it changes so it is uniquely referenced (no copy of its arrays).
        var m = messages.removeValue(forKey: id) ?? MessageRecord(id: id, at: event.ts)
        var keep = true
        var finished: MessageRecord?
        do {
            m.lastSeen = max(m.lastSeen, event.ts)
            let seq = m.takeSeq()
            switch event.body {
            case .session:
                break
            case .queued(let q):
                m.from = q.from
                m.size = q.size
                m.messageID = q.messageID ?? m.messageID
                m.queuedAt = event.ts
                for r in q.rcpts { _ = m.intern(r, listed: true) }
            case .txn(let t):
                let rcpts = t.rcpts.map { m.intern($0) }
                let record = TransactionRecord(id: t.txn, session: t.session, attempt: t.attempt,
                                               pipelined: t.pipelined, seq: seq, startedAt: event.ts, rcpts: rcpts)
                if m.addTransaction(record) == nil {
                    unplaced(Unplaced(msg: id, reason: "transaction \(t.txn) started twice"))
                    unplacedCount += 1
                }
            case .reply(let r):
                guard let k = m.transactionPosition(r.txn) else {
                    unplaced(Unplaced(msg: id, reason: "\(r.command) reply for unknown transaction \(r.txn)"))
                    unplacedCount += 1
                    break
                }
                var reply = r.reply
                if !options.keepAcceptedReplyText && reply.replyClass == .positive { reply.text = "" }
                Self.pair(r, reply, into: &m.transactions[k], recipients: m.recipients)
            case .tally(let t):
                guard let k = m.transactionPosition(t.txn) else {
                    unplaced(Unplaced(msg: id, reason: "tally for unknown transaction \(t.txn)"))
                    unplacedCount += 1
                    break
                }
                m.transactions[k].tally = t
            case .outcome(let o):
                let r = m.intern(o.rcpt)
                var position: Int? = nil
                if let txn = o.txn {
                    position = m.transactionPosition(txn)
                    if position == nil {
                        unplaced(Unplaced(msg: id, reason: "outcome for \(o.rcpt) names unknown transaction \(txn)"))
                        unplacedCount += 1
                    }
                }
                m.outcomes.append(OutcomeRecord(rcpt: r, status: o.status, transaction: position,
                                                reason: o.reason, seq: seq, at: event.ts))
            case .ndr(let n):
                let rcpts = n.rcpts.map { m.intern($0) }
                var diags: [MessageRecord.RecipientID: String] = [:]
                for (addr, d) in n.diagnostics ?? [:] { diags[m.intern(addr)] = d }
                m.ndrs.append(NDRRecord(ndrMsg: n.ndrMsg, rcpts: rcpts, diagnostics: diags, seq: seq, at: event.ts))
            case .retry:
                m.retries += 1
            case .hold:
                m.held = true
            case .release:
                m.held = false
            case .done:
                m.done = true
                finished = m
                keep = !options.dropFinished
            }
        }
        if keep { messages[id] = m }
        return finished
    }

    private static func pair(_ event: ReplyRecord, _ reply: SMTPReply, into t: inout TransactionRecord, recipients: [String]) {
        switch event.command {
        case .mail: t.mail = reply
        case .data: t.data = reply
        case .dot: t.dot = reply
        case .rcpt:
            let index = event.index ?? -1
            let rcpt = event.rcpt ?? ""
            guard index >= 0, index < t.rcpts.count else {
                t.strayReplies.append(.init(index: index, rcpt: rcpt, reply: reply, kind: .indexOutOfRange))
                return
            }
            let expected = recipients[Int(t.rcpts[index])]
            if rcpt != expected {
                t.strayReplies.append(.init(index: index, rcpt: rcpt, reply: reply, kind: .wrongRecipient(expected: expected)))
            } else if t.rcptReplies[index] != nil {
                t.strayReplies.append(.init(index: index, rcpt: rcpt, reply: reply, kind: .duplicate))
            } else {
                t.rcptReplies[index] = reply
            }
        default:
            break
        }
    }

    /// Messages still in the store that never reached `done` (end of input for the report).
    public var unfinished: Dictionary<String, MessageRecord>.Values { messages.values }

    public func peer(of t: TransactionRecord) -> String? { peers[t.session] }
}
