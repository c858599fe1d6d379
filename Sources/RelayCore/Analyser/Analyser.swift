/// Checks one message against the rules (see <doc:Rules>) and returns what it finds.
///
/// It works on a whole ``MessageRecord``: transactions with their replies paired by position, the
/// relay's outcomes, tallies and NDRs. The report calls it when a message leaves the queue (and at
/// the end of the input for the rest); the monitor calls it whenever a message changes.
public enum Analyser {
    /// `verdicts`: the transactions' verdicts when the caller has them already (the monitor
    /// needs them for its recipient states too), so they are not worked out twice.
    public static func analyse(_ m: MessageRecord, peers: SessionPeers = SessionPeers(),
                               verdicts: [TransactionVerdict]? = nil) -> [Anomaly] {
        // Events of the message were dropped on the way (a live feed that overflowed): neither the
        // pairing rules nor the accounting rule can tell a missing event from a fault.
        if m.missedEvents { return [] }
        let facts = MessageFacts(m, verdicts: verdicts ?? m.transactions.map(TransactionVerdict.init))
        // Part of the message's conversation is not in the log (it starts mid-transaction): the
        // rules that pair replies would judge from half the evidence. Only the accounting rule,
        // which needs outcomes alone, still applies.
        if m.unplacedEvents > 0 {
            return m.done ? recipientLost(m, facts).map { [$0] } ?? [] : []
        }
        var out: [Anomaly] = []
        for k in m.transactions.indices {
            // A transaction whose replies do not pair has no tally check: there is nothing sound
            // to compare the relay's counts with.
            if let countProblem = replyCount(m, k, facts) {
                out.append(countProblem)
            } else if let a = tally(m, k, facts) {
                out.append(a)
            }
            if let a = limitBounced(m, k, facts) { out.append(a) }
            if let a = peerLimit(m, k, facts, peers) { out.append(a) }
        }
        if let a = limitBouncedUnplaced(m, facts) { out.append(a) }
        let wrong = ndrWrongRecipient(m, facts)
        out.append(contentsOf: wrong.anomalies)
        if let a = ndrCount(m, facts) { out.append(a) }
        if let a = duplicateDelivery(m, facts) { out.append(a) }
        if let a = diagnosticMismatch(m, facts, skipping: wrong.flagged) { out.append(a) }
        if m.done, let a = recipientLost(m, facts) { out.append(a) }
        return out.count > 1 ? out.sorted { $0.rule < $1.rule } : out
    }

    // MARK: reply-count-mismatch

    static func replyCount(_ m: MessageRecord, _ k: Int, _ facts: MessageFacts) -> Anomaly? {
        let t = m.transactions[k]
        // The common case, every reply paired and nothing stray, costs one scan and no allocation.
        if t.strayReplies.isEmpty, t.pairedReplyCount == t.rcpts.count { return nil }
        // After a refused MAIL a client that does not pipeline sends no RCPT at all (R1: every
        // recipient takes MAIL's reply), so missing RCPT replies are no fault there.
        let missing = facts.verdicts[k].mailRefused ? [] : t.rcptReplies.indices.filter { t.rcptReplies[$0] == nil }
        var parts: [String] = []
        var rcpts: [String] = []
        if !missing.isEmpty {
            let missingIDs = Set(missing.map { t.rcpts[$0] })
            let decided = m.outcomes.filter {
                $0.transaction == k && ($0.status == .delivered || $0.status == .bounced) && missingIDs.contains($0.rcpt)
            }
            let wentOn = t.data != nil || t.dot != nil
            if wentOn || !decided.isEmpty {
                let list = describePositions(missing)
                var why: [String] = []
                if wentOn { why.append("the relay went on to \(t.dot != nil ? "end of data" : "DATA")") }
                if !decided.isEmpty {
                    let statuses = Set(decided.map(\.status.rawValue)).sorted().joined(separator: " or ")
                    why.append("logged \(decided.count == missing.count ? (decided.count == 1 ? "it" : "them") : "\(decided.count) of them") as \(statuses)")
                }
                parts.append("RCPT \(list) got no reply, yet \(why.joined(separator: " and "))")
                rcpts += missing.map { m.recipients[Int(t.rcpts[$0])] }
            }
        }
        let outOfRange = t.strayReplies.filter { $0.kind == .indexOutOfRange }
        if !outOfRange.isEmpty {
            parts.append("\(outOfRange.count) repl\(outOfRange.count == 1 ? "y" : "ies") logged for positions that were never sent (\(describePositions(outOfRange.map(\.index))))")
            rcpts += outOfRange.map(\.rcpt)
        }
        for s in t.strayReplies {
            switch s.kind {
            case .duplicate:
                parts.append("RCPT #\(s.index + 1) has a second reply (\(s.reply))")
                rcpts.append(s.rcpt)
            case .wrongRecipient(let expected):
                parts.append("the reply at #\(s.index + 1) is logged for \(s.rcpt) but RCPT #\(s.index + 1) was \(expected)")
                rcpts += [s.rcpt, expected]
            case .indexOutOfRange:
                break
            }
        }
        guard !parts.isEmpty else { return nil }
        let received = t.pairedReplyCount + t.strayReplies.count
        return Anomaly(rule: .replyCountMismatch, msg: m.id, txn: t.id, rcpts: unique(rcpts),
                       detail: "\(t.rcpts.count) RCPT commands, \(received) RCPT replies: " + parts.joined(separator: "; "))
    }

    // MARK: tally-mismatch

    static func tally(_ m: MessageRecord, _ k: Int, _ facts: MessageFacts) -> Anomaly? {
        let t = m.transactions[k]
        guard let tally = t.tally else { return nil }
        let v = facts.verdicts[k]
        let fates = v.fates
        var accepted = 0, ownPermanent = 0, tooManyPermanent = 0, tooMany = 0
        for (i, f) in fates.enumerated() {
            switch f {
            case .accepted: accepted += 1
            case .permanent: ownPermanent += 1
            case .tooMany:
                tooMany += 1
                if v.reply(at: i, in: t)?.replyClass == .permanent { tooManyPermanent += 1 }
            case .transient, .pending: break
            }
        }
        let total = fates.count
        // A too-many 5yz may be counted as deferred (RFC 5321) or as bounced (RFC 821, Postfix):
        // that choice is limit-bounced's business, not a miscount.
        let ok = tally.accepted == accepted
            && tally.accepted + tally.deferred + tally.bounced == total
            && tally.bounced >= ownPermanent && tally.bounced <= ownPermanent + tooManyPermanent
        guard !ok else { return nil }
        var implied = "\(accepted) accepted, \(total - accepted - ownPermanent) to defer or send again"
        if tooMany > 0 { implied += " (\(tooMany) of them too many recipients)" }
        implied += ", \(ownPermanent) refused for good"
        return Anomaly(rule: .tallyMismatch, msg: m.id, txn: t.id, rcpts: [],
                       detail: "relay tallied \(tally.accepted) accepted, \(tally.deferred) deferred, \(tally.bounced) bounced of \(total) RCPTs; the replies give \(implied)")
    }

    // MARK: limit-bounced

    static func limitBounced(_ m: MessageRecord, _ k: Int, _ facts: MessageFacts) -> Anomaly? {
        let t = m.transactions[k]
        let positions = facts.verdicts[k].tooManyPositions
        guard !positions.isEmpty else { return nil }
        let decided = facts.decisions(after: k, in: m)
        let bounced = positions.filter { decided[Int(t.rcpts[$0])] == .bounced }
        guard !bounced.isEmpty else { return nil }
        let of = bounced.count == positions.count ? "them" : "\(bounced.count) of them (\(describePositions(bounced)))"
        return Anomaly(rule: .limitBounced, msg: m.id, txn: t.id, rcpts: bounced.map { m.recipients[Int(t.rcpts[$0])] },
                       detail: "peer refused RCPT \(describePositions(positions)) with \(facts.tooManyLabel(k, in: m)) (\(positions.count)); the relay bounced \(of) instead of sending them again in a new transaction")
    }

    /// The same rule where the log gives each recipient's reply with the relay's decision and no
    /// RCPT position (Postfix): a bounce whose reply was a too-many refusal to RCPT TO. A recipient
    /// deferred with a too-many reply and sent later is no finding.
    static func limitBouncedUnplaced(_ m: MessageRecord, _ facts: MessageFacts) -> Anomaly? {
        guard facts.firstUnplacedTooMany != nil else { return nil }
        var seen = Set<MessageRecord.RecipientID>()
        var names: [String] = []
        var peers: [String] = []
        for o in m.outcomes where o.transaction == nil && o.status == .bounced && o.command == .rcpt
            && o.meaning == .tooManyRecipients && seen.insert(o.rcpt).inserted {
            names.append(m.recipients[Int(o.rcpt)])
            if let p = o.peer, !peers.contains(p) { peers.append(p) }
        }
        guard !names.isEmpty else { return nil }
        let by = peers.isEmpty ? "the peer" : "peer \(listed(peers))"
        let n = names.count
        return Anomaly(rule: .limitBounced, msg: m.id, txn: nil, rcpts: names,
                       detail: "\(by) refused \(n) recipient\(n == 1 ? "" : "s") at RCPT TO with \(facts.unplacedTooManyLabel(in: m)); the relay bounced \(n == 1 ? "it" : "them") instead of sending \(n == 1 ? "it" : "them") again in a new transaction (the log gives no RCPT positions)")
    }

    // MARK: peer-limit-below-100

    static func peerLimit(_ m: MessageRecord, _ k: Int, _ facts: MessageFacts, _ peers: SessionPeers) -> Anomaly? {
        let t = m.transactions[k]
        let v = facts.verdicts[k]
        // RFC 5321 §4.5.3.1.8 counts RCPT commands: refusing "too many" with fewer than 100 before
        // it is the violation, however many of those were accepted.
        guard let first = v.tooManyPositions.first, first < 100 else { return nil }
        let acceptedBefore = v.meanings[..<first].filter { $0 == .accepted }.count
        let positions = v.tooManyPositions
        // The peer its session had when the transaction started (a session id can be reused).
        let peer = (t.peer ?? peers[t.session]).map { "peer \($0)" } ?? "the peer"
        let accepted = acceptedBefore == first ? "" : " (\(acceptedBefore) accepted)"
        return Anomaly(rule: .peerLimitBelow100, msg: m.id, txn: t.id, rcpts: positions.map { m.recipients[Int(t.rcpts[$0])] },
                       detail: "\(peer) refused RCPT \(describePositions(positions)) with \(facts.tooManyLabel(k, in: m)) after only \(first) RCPT command\(first == 1 ? "" : "s")\(accepted); a server must take at least 100")
    }

    // MARK: ndr-wrong-recipient

    static func ndrWrongRecipient(_ m: MessageRecord, _ facts: MessageFacts) -> (anomalies: [Anomaly], flagged: Set<MessageRecord.RecipientID>) {
        guard !m.ndrs.isEmpty else { return ([], []) }
        var flagged = Set<MessageRecord.RecipientID>()
        // Grouped by the transaction that accepted them, so each sentence can name RCPT positions.
        var byTxn: [Int: [Int]] = [:]
        var positionMaps: [Int: [MessageRecord.RecipientID: Int]] = [:]
        var deliveredOnly: [MessageRecord.RecipientID] = []
        var strangers: [MessageRecord.RecipientID] = []
        var ndrIDs: [String] = []
        for ndr in m.ndrs {
            var named = false
            for r in ndr.rcpts where !flagged.contains(r) {
                if facts.acceptedFirst(Int(r)) >= 0 {
                    let k = Int(facts.acceptedFirst(Int(r)))
                    if positionMaps[k] == nil { positionMaps[k] = positions(m.transactions[k]) }
                    byTxn[k, default: []].append(positionMaps[k]![r]!)
                } else if facts.has(r, .delivered) {
                    deliveredOnly.append(r)
                } else if !facts.isRecipient(r, m) {
                    strangers.append(r)
                } else {
                    continue
                }
                flagged.insert(r)
                named = true
            }
            if named { ndrIDs.append(ndr.ndrMsg ?? "(not sent)") }
        }
        guard !flagged.isEmpty else { return ([], []) }
        let which = "NDR \(ndrIDs.joined(separator: ", "))"
        var out: [Anomaly] = []
        for k in byTxn.keys.sorted() {
            let t = m.transactions[k]
            let named = byTxn[k]!
            out.append(Anomaly(rule: .ndrWrongRecipient, msg: m.id, txn: t.id,
                               rcpts: named.map { m.recipients[Int(t.rcpts[$0])] },
                               detail: "\(which) reports RCPT \(describePositions(named)) as failed, but the peer accepted their RCPT and the message (\(t.dot?.description ?? "250")) in \(t.id)"))
        }
        if !deliveredOnly.isEmpty {
            let names = deliveredOnly.map { m.recipients[Int($0)] }
            out.append(Anomaly(rule: .ndrWrongRecipient, msg: m.id, txn: nil, rcpts: names,
                               detail: "\(which) reports \(listed(names)) as failed, but the relay logged \(names.count == 1 ? "it" : "them") as delivered"))
        }
        if !strangers.isEmpty {
            let names = strangers.map { m.recipients[Int($0)] }
            out.append(Anomaly(rule: .ndrWrongRecipient, msg: m.id, txn: nil, rcpts: names,
                               detail: "\(which) reports \(listed(names)) as failed, but \(names.count == 1 ? "that address is" : "those addresses are") not a recipient of this message"))
        }
        return (out, flagged)
    }

    // MARK: ndr-count-mismatch

    static func ndrCount(_ m: MessageRecord, _ facts: MessageFacts) -> Anomaly? {
        guard !m.ndrs.isEmpty else { return nil }
        let tooMany = facts.unresolvedTooMany
        var named = Set<MessageRecord.RecipientID>()
        for ndr in m.ndrs { named.formUnion(ndr.rcpts) }
        let forTooMany = named.filter { r in
            if let q = facts.quotedTooMany(r, m) { return q }
            return !tooMany.isEmpty && !facts.ownFailure(r)
        }
        guard !forTooMany.isEmpty, forTooMany.count != tooMany.count else { return nil }
        if facts.firstTooManyTxn == nil, tooMany.isEmpty {
            return Anomaly(rule: .ndrCountMismatch, msg: m.id, txn: nil, rcpts: forTooMany.map { m.recipients[Int($0)] }.sorted(),
                           detail: "relay NDR'd \(forTooMany.count) recipient\(forTooMany.count == 1 ? "" : "s") for too many recipients, but the peer never said too many")
        }
        // Without a transaction (a log with no RCPT positions) recipients are named, not numbered.
        let k = facts.firstTooManyTxn
        let positionMap = k.map { positions(m.transactions[$0]) } ?? [:]
        func position(_ r: MessageRecord.RecipientID) -> Int? { positionMap[r] }
        var detail: String
        if let k {
            detail = "peer refused RCPT \(describePositions(facts.verdicts[k].tooManyPositions)) with \(facts.tooManyLabel(k, in: m)) (\(tooMany.count))"
        } else {
            detail = "peer refused \(tooMany.count) recipient\(tooMany.count == 1 ? "" : "s") with \(facts.unplacedTooManyLabel(in: m))"
        }
        detail += "; relay NDR'd \(forTooMany.count)"
        let acceptedOnes = forTooMany.filter { facts.wasAccepted($0) }
        if !acceptedOnes.isEmpty {
            let pos = acceptedOnes.compactMap(position)
            detail += ", including " + (pos.count == acceptedOnes.count ? describePositions(pos) : listed(acceptedOnes.map { m.recipients[Int($0)] }.sorted()))
                + " which \(acceptedOnes.count == 1 ? "was" : "were") accepted"
        }
        let left = tooMany.subtracting(forTooMany)
        if !left.isEmpty {
            let pos = left.compactMap(position)
            detail += ", leaving out " + (pos.count == left.count ? describePositions(pos) : listed(left.map { m.recipients[Int($0)] }.sorted()))
        }
        return Anomaly(rule: .ndrCountMismatch, msg: m.id, txn: k.map { m.transactions[$0].id },
                       rcpts: forTooMany.symmetricDifference(tooMany).map { m.recipients[Int($0)] }.sorted(),
                       detail: detail)
    }

    // MARK: duplicate-delivery

    static func duplicateDelivery(_ m: MessageRecord, _ facts: MessageFacts) -> Anomaly? {
        let twice = facts.flags.indices.filter { facts.acceptedSecond($0) >= 0 }
        guard let r0 = twice.first else { return nil }
        let t1 = m.transactions[Int(facts.acceptedFirst(r0))], t2 = m.transactions[Int(facts.acceptedSecond(r0))]
        let names = twice.map { m.recipients[$0] }
        let map = positions(t2)
        let again = twice.compactMap { map[MessageRecord.RecipientID($0)] }
        return Anomaly(rule: .duplicateDelivery, msg: m.id, txn: t2.id, rcpts: names,
                       detail: "\(names.count) recipient\(names.count == 1 ? " was" : "s were") accepted (RCPT and end of data) in \(t1.id) and again in \(t2.id) at RCPT \(describePositions(again)): delivered twice")
    }

    // MARK: diagnostic-mismatch

    static func diagnosticMismatch(_ m: MessageRecord, _ facts: MessageFacts, skipping: Set<MessageRecord.RecipientID>) -> Anomaly? {
        guard !m.ndrs.isEmpty else { return nil }
        var found: [(MessageRecord.RecipientID, SMTPReply, String)] = []
        var quotedFor = Set<MessageRecord.RecipientID>()
        for ndr in m.ndrs { quotedFor.formUnion(ndr.diagnostics.keys) }
        let own = facts.ownReplies(of: quotedFor, m)
        for ndr in m.ndrs {
            for (r, diag) in ndr.diagnostics.sorted(by: { $0.key < $1.key }) where !skipping.contains(r) {
                guard let quoted = parseDiagnostic(diag) else { continue }
                if own[r, default: []].contains(where: { quotes(quoted, $0) }) { continue }
                if let owner = facts.replyOwner(of: quoted, other: r, m) {
                    found.append((r, quoted, owner))
                }
            }
        }
        guard let first = found.first else { return nil }
        let ownText = own[first.0]?.last.map { "; its own reply was \"\($0)\"" } ?? ""
        var detail = "the NDR quotes for \(m.recipients[Int(first.0)]) \"\(first.1)\", which was the reply to \(first.2)\(ownText)"
        if found.count > 1 { detail += " (\(found.count) recipients quote another's reply)" }
        return Anomaly(rule: .diagnosticMismatch, msg: m.id, txn: nil, rcpts: found.map { m.recipients[Int($0.0)] }, detail: detail)
    }

    /// "smtp; 552 5.5.3 Too many recipients" -> the reply. Other diagnostic types (X-Postfix, ...)
    /// quote no SMTP reply and are not checked.
    static func parseDiagnostic(_ diag: String) -> SMTPReply? {
        guard let semi = diag.firstIndex(of: ";") else { return SMTPReply(parsing: diag) }
        let type = diag[..<semi].trimmingSpaces().lowercased()
        guard type == "smtp" else { return nil }
        return SMTPReply(parsing: diag[diag.index(after: semi)...])
    }

    /// Whether a quoted reply is this reply: codes equal (the enhanced code only when both have
    /// one) and the same text (when the quote has any), ignoring case and spacing.
    static func quotes(_ q: SMTPReply, _ r: SMTPReply) -> Bool {
        guard q.code == r.code else { return false }
        if let a = q.enhanced, let b = r.enhanced, a != b { return false }
        if q.text.isEmpty || SMTPReply.sameText(q.text, r.text) { return true }
        // A reply logged without an enhanced code, quoted with one: "5.5.3 text" vs "text".
        if r.enhanced == nil, let e = q.enhanced {
            return SMTPReply.sameText(q.text, "\(e) \(r.text)") || SMTPReply.sameText("\(e) " + q.text, r.text)
        }
        return false
    }

    // MARK: recipient-lost

    static func recipientLost(_ m: MessageRecord, _ facts: MessageFacts) -> Anomaly? {
        func isLost(_ r: Int) -> Bool {
            facts.isRecipient(MessageRecord.RecipientID(r), m)
                && facts.flags[r].isDisjoint(with: [.finalOutcome, .ndrNamed])
        }
        let lost = m.recipients.indices.filter(isLost)
        guard !lost.isEmpty else { return nil }
        var notes: [String] = []
        var txnID: String? = nil
        if let k = facts.firstTooManyTxn {
            let t = m.transactions[k]
            let lostSet = Set(lost)
            let pos = facts.verdicts[k].tooManyPositions.filter { lostSet.contains(Int(t.rcpts[$0])) }
            if !pos.isEmpty {
                notes.append("RCPT \(describePositions(pos)) of \(t.id) got \(facts.tooManyLabel(k, in: m)) and \(pos.count == 1 ? "was" : "were") neither sent again nor reported")
                txnID = t.id
            }
        }
        let names = lost.map { m.recipients[$0] }
        if notes.isEmpty {
            // Say where each one was last seen, so the admin knows which attempt dropped it.
            let described = lost.prefix(3).map { r -> String in
                let name = m.recipients[r]
                if let o = m.outcomes.last(where: { $0.rcpt == MessageRecord.RecipientID(r) }) {
                    return "\(name) (last \(o.status.rawValue)\(o.reason.isEmpty ? "" : ": \(o.reason)"))"
                }
                return "\(name) (\(facts.flags[r].contains(.inTransaction) ? "sent, no outcome logged" : "never sent"))"
            }
            notes.append(described.joined(separator: ", ") + (lost.count > 3 ? " and \(lost.count - 3) more" : ""))
        }
        let total = facts.recipientCount(m)
        let what = "\(lost.count) of \(total) recipient\(total == 1 ? "" : "s") \(lost.count == 1 ? "has" : "have") no final outcome though the message left the queue"
        return Anomaly(rule: .recipientLost, msg: m.id, txn: txnID, rcpts: names,
                       detail: ([what] + notes).joined(separator: ": "))
    }
}

/// RCPT position of each recipient in a transaction (its first, should a relay send one twice).
func positions(_ t: TransactionRecord) -> [MessageRecord.RecipientID: Int] {
    var map: [MessageRecord.RecipientID: Int] = [:]
    map.reserveCapacity(t.rcpts.count)
    for (i, r) in t.rcpts.enumerated() where map[r] == nil { map[r] = i }
    return map
}

/// "a@x, b@x and 3 more".
func listed(_ names: [String], limit: Int = 3) -> String {
    if names.count <= limit { return names.joined(separator: ", ") }
    return names.prefix(limit).joined(separator: ", ") + " and \(names.count - limit) more"
}

func unique(_ list: [String]) -> [String] {
    var seen = Set<String>()
    return list.filter { seen.insert($0).inserted }
}

extension StringProtocol {
    func trimmingSpaces() -> Substring {
        let s = self[...].drop(while: { $0 == " " || $0 == "\t" })
        var end = s.endIndex
        while end > s.startIndex, s[s.index(before: end)] == " " || s[s.index(before: end)] == "\t" {
            end = s.index(before: end)
        }
        return Substring(s[s.startIndex..<end])
    }
}
