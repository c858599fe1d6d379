import RelayCore

/// Generates a large, realistic delivery log for the benchmark: many small messages, some big
/// ones, peers with recipient limits (the excess sent again), greylisting (deferred, retried
/// later), unknown users (bounced, NDR'd). Deterministic for a given seed, so runs compare.
public struct LoadGenerator {
    public struct Stats {
        public var events = 0
        public var messages = 0
        public var recipients = 0
        public var failedReplies = 0
    }

    private var rng: SplitMix64
    private var clock = Timestamp(rfc3339: "2026-11-29T00:00:00Z")!
    public private(set) var stats = Stats()
    private var nextMessage = 0
    private var nextTxn = 0
    private var nextSession = 0
    /// Messages greylisted earlier, retried a few hundred messages later (so the log interleaves).
    private var waiting: [(due: Int, msg: String, rcpts: [String])] = []

    public init(seed: UInt64 = 822_105) {
        rng = SplitMix64(seed: seed)
    }

    /// Appends events to `out` until at least `events` have been written; `flush` is called with
    /// the buffer whenever it passes a few megabytes (the caller writes it out and clears it).
    public mutating func generate(events target: Int, into out: inout [UInt8], flush: (inout [UInt8]) -> Void) {
        while stats.events < target {
            message(into: &out)
            if out.count > 4 << 20 { flush(&out) }
        }
        // Let the greylisted ones finish, so the log ends with an empty queue.
        while let w = waiting.first {
            waiting.removeFirst()
            retry(w.msg, w.rcpts, into: &out)
        }
        flush(&out)
    }

    private mutating func emit(_ msg: String?, _ body: DeliveryEvent.Body, into out: inout [UInt8]) {
        clock = clock.adding(seconds: Double(rng.next() % 2000) / 1_000_000)
        LogEncoder.append(DeliveryEvent(ts: clock, msg: msg, body), to: &out)
        stats.events += 1
    }

    private mutating func message(into out: inout [UInt8]) {
        nextMessage += 1
        let msg = "Q\(String(nextMessage, radix: 36, uppercase: true))X\(rng.next() % 100_000)"
        // Mostly 1–5 recipients, one in ten up to 60, one in fifty 100–400: a relay's usual mix.
        let roll = rng.next() % 100
        let n: Int
        if roll < 88 { n = 1 + Int(rng.next() % 5) } else if roll < 98 { n = 6 + Int(rng.next() % 55) } else { n = 100 + Int(rng.next() % 301) }
        let domain = ["example.net", "mail.example.org", "corp.example.com", "lists.example.edu"][Int(rng.next() % 4)]
        let rcpts = (0..<n).map { "user\(Int(rng.next() % 90_000) + $0)@\(domain)" }
        let unique = Array(Set(rcpts)).sorted()
        stats.messages += 1
        stats.recipients += unique.count
        emit(msg, .queued(Queued(from: "app\(rng.next() % 50)@sender.example", rcpts: unique, size: 2_000 + Int(rng.next() % 200_000),
                                 messageID: "<\(msg).\(rng.next() % 1_000_000)@sender.example>")), into: &out)
        let session = newSession(into: &out)
        // The big ones meet a peer limit of 100 (452 4.5.3) and go again in more transactions.
        var pending = unique
        var greylisted: [String] = []
        var unknown: [String] = []
        while !pending.isEmpty {
            let batch = Array(pending.prefix(150))
            pending.removeFirst(batch.count)
            let txn = newTxn()
            emit(msg, .txn(Transaction(txn: txn, session: session, attempt: 1, pipelined: true, rcpts: batch)), into: &out)
            emit(msg, .reply(ReplyRecord(txn: txn, command: .mail, reply: SMTPReply(code: 250, enhanced: EnhancedStatus(klass: 2, subject: 1, detail: 0), text: "Ok"))), into: &out)
            var accepted: [String] = []
            var tooMany: [String] = []
            for (i, r) in batch.enumerated() {
                let reply: SMTPReply
                if i >= 100 {
                    reply = SMTPReply(code: 452, enhanced: EnhancedStatus(klass: 4, subject: 5, detail: 3), text: "Error: too many recipients")
                    tooMany.append(r)
                } else {
                    let fate = rng.next() % 1000
                    if fate < 8 {
                        reply = SMTPReply(code: 550, enhanced: EnhancedStatus(klass: 5, subject: 1, detail: 1), text: "<\(r)>: Recipient address rejected: User unknown in virtual mailbox table")
                        unknown.append(r)
                    } else if fate < 20 {
                        reply = SMTPReply(code: 451, enhanced: EnhancedStatus(klass: 4, subject: 7, detail: 1), text: "<\(r)>: Recipient address rejected: Greylisted, see https://postgrey.example/")
                        greylisted.append(r)
                    } else {
                        reply = SMTPReply(code: 250, enhanced: EnhancedStatus(klass: 2, subject: 1, detail: 5), text: "Ok")
                        accepted.append(r)
                    }
                }
                if reply.code >= 400 { stats.failedReplies += 1 }
                emit(msg, .reply(ReplyRecord(txn: txn, command: .rcpt, index: i, rcpt: r, reply: reply)), into: &out)
            }
            emit(msg, .reply(ReplyRecord(txn: txn, command: .data, reply: SMTPReply(code: 354, text: "End data with <CR><LF>.<CR><LF>"))), into: &out)
            if !accepted.isEmpty {
                emit(msg, .reply(ReplyRecord(txn: txn, command: .dot, reply: SMTPReply(code: 250, enhanced: EnhancedStatus(klass: 2, subject: 0, detail: 0), text: "Ok: queued as 4Xk\(rng.next() % 1_000_000)"))), into: &out)
            }
            let refusedHere = batch.filter { unknown.contains($0) }.count
            emit(msg, .tally(Tally(txn: txn, accepted: accepted.count, deferred: batch.count - accepted.count - refusedHere, bounced: refusedHere)), into: &out)
            for r in accepted { emit(msg, .outcome(Outcome(rcpt: r, status: .delivered, txn: txn, reason: "250 2.0.0 Ok")), into: &out) }
            for r in batch where unknown.contains(r) {
                emit(msg, .outcome(Outcome(rcpt: r, status: .bounced, txn: txn, reason: "550 5.1.1 User unknown")), into: &out)
            }
            for r in batch where greylisted.contains(r) {
                emit(msg, .outcome(Outcome(rcpt: r, status: .deferred, txn: txn, reason: "451 4.7.1 Greylisted", retryAt: clock.adding(seconds: 300))), into: &out)
            }
            pending = tooMany + pending
        }
        if !unknown.isEmpty {
            nextMessage += 1
            emit(msg, .ndr(NDR(ndrMsg: "N\(String(nextMessage, radix: 36, uppercase: true))", rcpts: unknown,
                               diagnostics: Dictionary(uniqueKeysWithValues: unknown.map { ($0, "smtp; 550 5.1.1 <\($0)>: Recipient address rejected: User unknown in virtual mailbox table") }))), into: &out)
        }
        if greylisted.isEmpty {
            emit(msg, .done, into: &out)
        } else {
            waiting.append((stats.messages + 200, msg, greylisted))
        }
        while let w = waiting.first, w.due <= stats.messages {
            waiting.removeFirst()
            retry(w.msg, w.rcpts, into: &out)
        }
    }

    private mutating func retry(_ msg: String, _ rcpts: [String], into out: inout [UInt8]) {
        emit(msg, .retry(Retry(rcpts: nil, source: "schedule")), into: &out)
        let session = newSession(into: &out)
        let txn = newTxn()
        emit(msg, .txn(Transaction(txn: txn, session: session, attempt: 2, pipelined: true, rcpts: rcpts)), into: &out)
        emit(msg, .reply(ReplyRecord(txn: txn, command: .mail, reply: SMTPReply(code: 250, enhanced: EnhancedStatus(klass: 2, subject: 1, detail: 0), text: "Ok"))), into: &out)
        for (i, r) in rcpts.enumerated() {
            emit(msg, .reply(ReplyRecord(txn: txn, command: .rcpt, index: i, rcpt: r, reply: SMTPReply(code: 250, enhanced: EnhancedStatus(klass: 2, subject: 1, detail: 5), text: "Ok"))), into: &out)
        }
        emit(msg, .reply(ReplyRecord(txn: txn, command: .data, reply: SMTPReply(code: 354, text: "End data with <CR><LF>.<CR><LF>"))), into: &out)
        emit(msg, .reply(ReplyRecord(txn: txn, command: .dot, reply: SMTPReply(code: 250, enhanced: EnhancedStatus(klass: 2, subject: 0, detail: 0), text: "Ok: queued"))), into: &out)
        emit(msg, .tally(Tally(txn: txn, accepted: rcpts.count, deferred: 0, bounced: 0)), into: &out)
        for r in rcpts { emit(msg, .outcome(Outcome(rcpt: r, status: .delivered, txn: txn, reason: "250 2.0.0 Ok")), into: &out) }
        emit(msg, .done, into: &out)
    }

    private mutating func newSession(into out: inout [UInt8]) -> String {
        nextSession += 1
        let id = "S\(nextSession)"
        emit(nil, .session(Session(session: id, peer: "192.0.2.\(1 + rng.next() % 20):25", ehlo: ["PIPELINING", "SIZE 52428800", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"])), into: &out)
        return id
    }

    private mutating func newTxn() -> String {
        nextTxn += 1
        return "T\(nextTxn)"
    }
}

/// A small, fast, deterministic generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
