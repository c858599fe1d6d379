import RelayCore

/// Writes delivery-log events the way a relay would, one call per thing that happened, through
/// the real codec. Tests, the benchmark and the demo build their logs with it.
public struct LogBuilder {
    public private(set) var events: [DeliveryEvent] = []
    public var clock: Timestamp
    /// Time between consecutive events.
    public var step = 0.001

    public init(start: Timestamp = Timestamp(rfc3339: "2026-11-29T08:00:00Z")!) {
        clock = start
    }

    public mutating func add(_ msg: String?, _ body: DeliveryEvent.Body) {
        events.append(DeliveryEvent(ts: clock, msg: msg, body))
        clock = clock.adding(seconds: step)
    }

    /// The log as JSON Lines.
    public var text: String { events.map(LogEncoder.line).joined() }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for e in events { LogEncoder.append(e, to: &out) }
        return out
    }

    // MARK: one call per event

    public mutating func queued(_ msg: String, from: String, rcpts: [String], size: Int = 2048, messageID: String? = nil) {
        add(msg, .queued(Queued(from: from, rcpts: rcpts, size: size, messageID: messageID)))
    }

    public mutating func session(_ id: String, peer: String, ehlo: [String] = ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME"]) {
        add(nil, .session(Session(session: id, peer: peer, ehlo: ehlo)))
    }

    public mutating func txn(_ msg: String, _ txn: String, session: String, attempt: Int = 1, pipelined: Bool = true, rcpts: [String]) {
        add(msg, .txn(Transaction(txn: txn, session: session, attempt: attempt, pipelined: pipelined, rcpts: rcpts)))
    }

    public mutating func reply(_ msg: String, _ txn: String, _ cmd: SMTPCommand, index: Int? = nil, rcpt: String? = nil, _ reply: SMTPReply) {
        add(msg, .reply(ReplyRecord(txn: txn, command: cmd, index: index, rcpt: rcpt, reply: reply)))
    }

    public mutating func tally(_ msg: String, _ txn: String, accepted: Int, deferred: Int, bounced: Int) {
        add(msg, .tally(Tally(txn: txn, accepted: accepted, deferred: deferred, bounced: bounced)))
    }

    public mutating func outcome(_ msg: String, _ rcpt: String, _ status: Outcome.Status, txn: String?, reason: String = "", retryAt: Timestamp? = nil) {
        add(msg, .outcome(Outcome(rcpt: rcpt, status: status, txn: txn, reason: reason, retryAt: retryAt)))
    }

    public mutating func ndr(_ msg: String, ndrMsg: String?, rcpts: [String], diagnostics: [String: String]? = nil) {
        add(msg, .ndr(NDR(ndrMsg: ndrMsg, rcpts: rcpts, diagnostics: diagnostics)))
    }

    public mutating func retry(_ msg: String, rcpts: [String]?, source: String = "schedule") {
        add(msg, .retry(Retry(rcpts: rcpts, source: source)))
    }

    public mutating func done(_ msg: String) { add(msg, .done) }

    // MARK: a whole transaction

    /// The replies a peer gives to one transaction: MAIL, each RCPT (by position), DATA, end of data.
    public struct PeerAnswers {
        public var mail = SMTPReply(code: 250, enhanced: EnhancedStatus("2.1.0"), text: "Ok")
        public var rcpt: (Int) -> SMTPReply? = { _ in SMTPReply(code: 250, enhanced: EnhancedStatus("2.1.5"), text: "Ok") }
        public var data: SMTPReply? = SMTPReply(code: 354, text: "End data with <CR><LF>.<CR><LF>")
        public var dot: SMTPReply? = SMTPReply(code: 250, enhanced: EnhancedStatus("2.0.0"), text: "Ok: queued")

        public init() {}

        /// Accepts the first `limit` RCPTs and refuses the rest with `reply` (a recipient limit).
        public static func limit(_ limit: Int, _ reply: SMTPReply) -> PeerAnswers {
            var a = PeerAnswers()
            a.rcpt = { $0 < limit ? SMTPReply(code: 250, enhanced: EnhancedStatus("2.1.5"), text: "Ok") : reply }
            return a
        }
    }

    /// Logs `txn`, then the replies the peer gave (a nil RCPT reply is one that never came), as a
    /// relay that pipelines MAIL and the RCPTs and pairs replies by position would. When no RCPT
    /// was accepted DATA still gets its reply but no end of data is logged (RFC 2920).
    public mutating func transaction(_ msg: String, _ txn: String, session: String, attempt: Int = 1,
                                     rcpts: [String], answers: PeerAnswers) {
        self.txn(msg, txn, session: session, attempt: attempt, pipelined: true, rcpts: rcpts)
        reply(msg, txn, .mail, answers.mail)
        var anyAccepted = false
        for (i, r) in rcpts.enumerated() {
            guard let a = answers.rcpt(i) else { continue }
            reply(msg, txn, .rcpt, index: i, rcpt: r, a)
            if a.replyClass == .positive { anyAccepted = true }
        }
        if let data = answers.data { reply(msg, txn, .data, data) }
        if anyAccepted, answers.data?.code == 354, let dot = answers.dot { reply(msg, txn, .dot, dot) }
    }
}

/// Addresses `user1@domain` ... `userN@domain`.
public func recipients(_ n: Int, domain: String = "example.net", prefix: String = "user") -> [String] {
    (1...max(1, n)).prefix(n).map { "\(prefix)\($0)@\(domain)" }
}
