import Foundation
import NIOCore
import RelayCore

/// Delivers one ``DeliveryJob`` over a connection to its route's next hop: as many transactions
/// as its recipients need, at most the route's (or the peer's learned) limit each, re-sending
/// too-many recipients in a new transaction on the same connection. Logs every step.
struct MessageDelivery {
    let config: RelayConfig
    let log: DeliveryLogWriter
    let ids: IDGenerator
    let limits: PeerLimits
    let dead: DeadHops
    let spool: Spool
    let group: EventLoopGroup

    /// Returns one result per recipient of the job and the connection, if it can carry more.
    func run(_ job: DeliveryJob, over existing: PeerConnection?) async -> ([RecipientResult], PeerConnection?) {
        let conn: PeerConnection
        if let existing, !existing.broken {
            conn = existing
        } else {
            existing?.close()
            let hop = job.route.nextHop.description
            if let entry = dead.check(hop) {
                return (finish(job, job.recipients, .deferred, nil, dead.reason(hop, entry)), nil)
            }
            let session = ids.session()
            do {
                switch try await PeerConnection.open(to: job.route.nextHop, hostname: config.hostname, sessionID: session, group: group,
                                                     connectTimeout: config.connectTimeout, replyTimeout: config.replyTimeout) {
                case .ready(let opened):
                    dead.answered(hop)
                    log.write([DeliveryEvent(ts: .now, msg: nil, .session(Session(session: session, peer: opened.peer, ehlo: opened.ehloKeywords)))])
                    conn = opened
                case .refused(let refusal):
                    // A 5xx greeting or HELO refuses this host for now; RFC 5321 §3.1 makes a 554
                    // greeting about the session, so every recipient waits for the next attempt.
                    dead.failed(hop, "refused the session: \(refusal.reply.code)")
                    return (finish(job, job.recipients, .deferred, refusal.reply, "\(job.route.nextHop) refused the session"), nil)
                }
            } catch {
                dead.failed(hop, "\(error)")
                return (finish(job, job.recipients, .deferred, nil, "\(error)"), nil)
            }
        }

        var results: [RecipientResult] = []
        var pending = job.recipients[...]
        while !pending.isEmpty {
            let limit = min(job.route.maxRcptPerTxn, limits.limit(for: conn.peer) ?? Int.max)
            let batch = Array(pending.prefix(limit))
            pending = pending.dropFirst(batch.count)
            let (verdicts, failure, txn) = await transaction(job, batch, conn)
            limits.observe(peer: conn.peer, sent: batch.count, limit: verdicts.learnedLimit)
            var again: [(position: Int, address: String)] = []
            var decided: [RecipientResult] = []
            let expired = isExpired(job)
            for (r, v) in zip(batch, verdicts.verdicts) {
                switch v {
                case .sendAgain: again.append(r)
                case .delivered(let reply): decided.append(result(r, .delivered, reply, "", conn.peer))
                case .bounced(let reply): decided.append(result(r, .bounced, reply, "", conn.peer))
                case .deferred(let reply, let why):
                    decided.append(result(r, expired ? .expired : .deferred, reply, reply == nil ? (failure.map { "\($0)" } ?? why) : why, conn.peer))
                }
            }
            logOutcomes(job, decided, txn: txn)
            let delivered = decided.filter { $0.status == .delivered }.map { (position: $0.position, lastReply: $0.lastReply) }
            if !delivered.isEmpty { try? await spool.recordDelivered(job.messageID, delivered) }
            results += decided
            // Too-many recipients go first in the next transaction, at most the learned limit.
            pending = (again + pending)[...]
            if conn.broken, !pending.isEmpty {
                let why = "not attempted: " + (failure.map { "\($0)" } ?? "connection to \(conn.peer) lost")
                results += finish(job, Array(pending), .deferred, nil, why)
                pending = []
            }
        }
        return (results, conn.broken ? nil : conn)
    }

    /// One MAIL/RCPT.../DATA transaction: pipelined as one group when the peer offers PIPELINING
    /// (DATA last in it, RFC 2920), else one command at a time.
    private func transaction(_ job: DeliveryJob, _ batch: [(position: Int, address: String)], _ conn: PeerConnection)
        async -> (TransactionVerdicts, PeerFailure?, String)
    {
        let txn = ids.transaction()
        let msg = job.messageID
        var events: [DeliveryEvent] = [DeliveryEvent(ts: .now, msg: msg, .txn(Transaction(
            txn: txn, session: conn.sessionID, attempt: job.attempt, pipelined: conn.pipelining, rcpts: batch.map(\.address))))]
        var mailParams = ""
        if conn.sizeLimit != nil { mailParams += " SIZE=\(job.size)" }
        if job.eightBit, conn.eightBitMIME { mailParams += " BODY=8BITMIME" }
        let mailCommand = "MAIL FROM:<\(job.sender)>\(mailParams)\r\n"

        var mail: SMTPReply?
        var rcpts = [SMTPReply?](repeating: nil, count: batch.count)
        var data: SMTPReply?
        var dot: SMTPReply?
        var failure: PeerFailure?
        conn.transactions += 1

        func record(_ command: SMTPCommand, _ reply: SMTPReply, index: Int? = nil) {
            events.append(DeliveryEvent(ts: .now, msg: msg, .reply(ReplyRecord(
                txn: txn, command: command, index: index, rcpt: index.map { batch[$0].address }, reply: reply))))
        }

        if conn.pipelining {
            var group = conn.text(mailCommand)
            for r in batch { group.writeString("RCPT TO:<\(r.address)>\r\n") }
            group.writeStaticString("DATA\r\n")
            var replies: [PeerReply]
            do {
                replies = try await conn.send(group, expecting: batch.count + 2)
            } catch let f as PeerFailure {
                failure = f
                replies = f.received
            } catch {
                replies = []
            }
            // Pair by position only (RFC 2920 §3.1).
            for (k, r) in replies.enumerated() {
                if k == 0 { mail = r.reply; record(.mail, r.reply) }
                else if k <= batch.count { rcpts[k - 1] = r.reply; record(.rcpt, r.reply, index: k - 1) }
                else { data = r.reply; record(.data, r.reply) }
            }
        } else {
            do {
                mail = try await conn.send(conn.text(mailCommand), expecting: 1)[0].reply
                record(.mail, mail!)
                for (i, r) in batch.enumerated() {
                    let reply = try await conn.send(conn.text("RCPT TO:<\(r.address)>\r\n"), expecting: 1)[0].reply
                    rcpts[i] = reply
                    record(.rcpt, reply, index: i)
                }
                if rcpts.contains(where: { $0?.replyClass == .positive }), mail?.replyClass == .positive {
                    data = try await conn.send(conn.text("DATA\r\n"), expecting: 1)[0].reply
                    record(.data, data!)
                } else {
                    let rset = try await conn.send(conn.text("RSET\r\n"), expecting: 1)[0].reply
                    record(.rset, rset)
                }
            } catch let f as PeerFailure {
                failure = f
            } catch {}
        }

        if failure == nil, let bad = outOfStep(mail: mail, rcpts: rcpts, data: data) {
            failure = .outOfStep(bad, received: [])
            conn.markBroken()
        }

        if failure == nil, data?.code == 354 {
            let anyAccepted = mail?.replyClass == .positive && rcpts.contains { $0?.replyClass == .positive }
            // RFC 2920 §3.1: with no recipient accepted, a 354 still needs an end of data: a lone
            // "." whose reply delivers nothing.
            let payload = anyAccepted ? job.data : conn.text(".\r\n")
            do {
                let r = try await conn.send(payload, expecting: 1)[0].reply
                record(.dot, r)
                if anyAccepted { dot = r }
                if await conn.outOfStep() { conn.markBroken() }
            } catch let f as PeerFailure {
                failure = f
            } catch {}
        }

        // A pipelined group whose DATA was refused (no RCPT accepted, or the peer said no) leaves
        // the peer's transaction open after an accepted MAIL: RSET it, or the next MAIL on this
        // connection meets "503 nested MAIL command".
        if failure == nil, conn.pipelining, mail?.replyClass == .positive, data?.code != 354 {
            do {
                let r = try await conn.send(conn.text("RSET\r\n"), expecting: 1)[0].reply
                record(.rset, r)
                if r.replyClass != .positive { conn.markBroken() }
            } catch let f as PeerFailure {
                failure = f
            } catch {}
        }

        let lost = failure.map { "\($0)" } ?? "no reply"
        let verdicts = TransactionVerdicts.decide(mail: mail, rcpts: rcpts, data: data, dot: dot, policy: job.route.rcpt552, lost: lost)
        var accepted = 0, bounced = 0
        for v in verdicts.verdicts {
            switch v {
            case .delivered: accepted += 1
            case .bounced: bounced += 1
            default: break
            }
        }
        events.append(DeliveryEvent(ts: .now, msg: msg, .tally(Tally(txn: txn, accepted: accepted, deferred: batch.count - accepted - bounced, bounced: bounced))))
        log.write(events)
        return (verdicts, failure, txn)
    }

    /// A reply that cannot be the answer to the command at its position means the peer and the
    /// relay disagree on which reply is which: nothing after it can be paired.
    private func outOfStep(mail: SMTPReply?, rcpts: [SMTPReply?], data: SMTPReply?) -> String? {
        if let mail, mail.replyClass == .intermediate { return "\(mail.code) in reply to MAIL" }
        if let r = rcpts.first(where: { $0?.replyClass == .intermediate }), let r { return "\(r.code) in reply to RCPT" }
        if let data, data.replyClass == .intermediate, data.code != 354 { return "\(data.code) in reply to DATA" }
        return nil
    }

    private func isExpired(_ job: DeliveryJob) -> Bool {
        Date().timeIntervalSince1970 - job.received >= config.queueLifetime
    }

    private func result(_ r: (position: Int, address: String), _ status: Outcome.Status, _ reply: SMTPReply?, _ reason: String, _ mta: String?) -> RecipientResult {
        RecipientResult(position: r.position, address: r.address, status: status, reply: reply, reason: reason, remoteMTA: mta)
    }

    /// Recipients decided without a transaction of their own (no session, or a session lost).
    private func finish(_ job: DeliveryJob, _ rcpts: [(position: Int, address: String)], _ status: Outcome.Status,
                        _ reply: SMTPReply?, _ why: String) -> [RecipientResult] {
        let s: Outcome.Status = status == .deferred && isExpired(job) ? .expired : status
        let out = rcpts.map { result($0, s, reply, why, job.route.nextHop.description) }
        logOutcomes(job, out, txn: nil)
        return out
    }

    /// One `outcome` per recipient, with `retry_at` for deferred ones (the same back-off the
    /// queue manager schedules by).
    private func logOutcomes(_ job: DeliveryJob, _ results: [RecipientResult], txn: String?) {
        let retryAt = Timestamp.now.adding(seconds: config.backoffDelay(afterAttempt: job.attempt))
        log.write(results.map { r in
            // Outside a transaction a reply alone does not say what it answered (a greeting, HELO).
            let reason = r.reply.map { txn == nil ? "\(r.reason): \($0)" : "\($0)" } ?? r.reason
            return DeliveryEvent(ts: .now, msg: job.messageID, .outcome(Outcome(
                rcpt: r.address, status: r.status, txn: txn, reason: reason, retryAt: r.status == .deferred ? retryAt : nil)))
        })
    }
}

extension RelayConfig {
    /// The wait after the n-th failed attempt (1-based); the schedule's last entry repeats.
    func backoffDelay(afterAttempt n: Int) -> Double {
        backoff[min(max(n, 1), backoff.count) - 1]
    }
}

extension Timestamp {
    static var now: Timestamp { Timestamp(seconds: Date().timeIntervalSince1970) }
}
