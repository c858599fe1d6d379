import RelayCore

/// The open message as its tabs show it: recipients grouped into runs, the transcript with runs of
/// identical replies collapsed, and the counts of the summary band. Worked out when the message
/// changes or a run is expanded, never per frame: a 10,000-recipient message has a few rows, and
/// a frame draws only the ones in sight.
struct MessageDetail: Sendable {
    let id: String
    let txns: [TxnCounts]
    let decisions: Decisions
    /// Recipients' rows, by display position (see ``order``).
    let recipientRows: [RecipientRow]
    /// Display position -> recipient number. The message's own order (RCPT order) where the log
    /// has transactions; in a log without them (Postfix names recipients in the order its
    /// deliveries happened to be logged, two deliveries of a message interleaved), recipients
    /// that fared alike are put together, those not delivered first, each group in log order.
    let order: [Int]
    let transcriptRows: [TranscriptRow]
    /// Rows (by index) that show a flagged recipient, for `n` / `N` and where the view opens.
    let flaggedRecipientRows: [Int]
    let flaggedTranscriptRows: [Int]
    /// Per recipient, every transaction that carried it and its RCPT position there, in order.
    let appearances: [[Appearance]]
    /// Per recipient, the relay's last outcome.
    let outcome: [Outcome.Status?]
    /// Each recipient's latest outcome record: where a log gives the reply with the decision and
    /// no RCPT position (Postfix), its reply, command, next hop and reason are all there is.
    let lastOutcome: [OutcomeRecord?]

    struct Appearance: Sendable, Equatable {
        var txn: Int
        var pos: Int
    }

    /// One transaction's RCPT replies, counted for the band.
    struct TxnCounts: Sendable {
        var id: String
        var peer: String?
        var sent = 0
        var accepted = 0
        var tooMany = 0
        /// The first too-many reply's code ("552 5.5.3").
        var tooManyReply: String?
        var refused = 0
        var noReply = 0
        /// MAIL, DATA or end of data refused: that reply decides for its recipients.
        var refusal: (command: String, reply: SMTPReply)?
    }

    /// What the relay decided for the message's recipients (each counted once, by its latest
    /// outcome), and how many an NDR named.
    struct Decisions: Sendable {
        var delivered = 0, deferred = 0, bounced = 0, expired = 0, undecided = 0, ndr = 0
    }

    /// A run of transcript RCPTs, by its transaction and first position.
    struct RunID: Hashable, Sendable {
        var txn: Int
        var first: Int
    }

    init(_ m: MessageRecord, _ s: MessageSummary, peers: SessionPeers, expandedRecipients: Set<Int>, expandedTranscript: Set<RunID>) {
        id = m.id
        let n = m.recipients.count
        var appearances = [[Appearance]](repeating: [], count: n)
        var txns: [TxnCounts] = []
        for (k, t) in m.transactions.enumerated() {
            let v = TransactionVerdict(t)
            // The peer the transaction took when it started; the store keeps only a window of sessions.
            var c = TxnCounts(id: t.id, peer: t.peer ?? peers[t.session], sent: t.rcpts.count)
            for (i, r) in t.rcpts.enumerated() {
                appearances[Int(r)].append(Appearance(txn: k, pos: i))
                if v.mailRefused { continue }
                switch v.meanings[i] {
                case .accepted?: c.accepted += 1
                case .tooManyRecipients?:
                    if c.tooMany == 0, let reply = t.rcptReplies[i] { c.tooManyReply = reply.codeLabel }
                    c.tooMany += 1
                case nil, .notAVerdict?: c.noReply += t.rcptReplies[i] == nil ? 1 : 0
                default: c.refused += 1
                }
            }
            if v.mailRefused, let mail = t.mail {
                c.refusal = ("MAIL", mail)
            } else if let data = t.data, data.replyClass == .transient || data.replyClass == .permanent {
                c.refusal = ("DATA", data)
            } else if let dot = t.dot, dot.replyClass == .transient || dot.replyClass == .permanent {
                c.refusal = ("end of data", dot)
            }
            txns.append(c)
        }
        self.txns = txns
        self.appearances = appearances

        var outcome = [Outcome.Status?](repeating: nil, count: n)
        var reason = [String?](repeating: nil, count: n)
        var last = [OutcomeRecord?](repeating: nil, count: n)
        for o in m.outcomes {
            outcome[Int(o.rcpt)] = o.status
            reason[Int(o.rcpt)] = o.reason
            last[Int(o.rcpt)] = o
        }
        self.outcome = outcome
        lastOutcome = last
        var d = Decisions(ndr: s.ndr)
        for r in 0..<n {
            switch outcome[r] {
            case .delivered: d.delivered += 1
            case .deferred: d.deferred += 1
            case .bounced: d.bounced += 1
            case .expired: d.expired += 1
            case nil: d.undecided += 1
            }
        }
        decisions = d

        // Recipients: runs of consecutive ones whose replies, state and outcome are the same. A
        // flagged recipient always stands alone.
        var rows: [RecipientRow] = []
        var flagged: [Int] = []
        let keys = (0..<n).map { r -> RecipientKey in
            let address = m.recipients[r]
            return RecipientKey(state: s.statuses[r].state, ndr: s.statuses[r].ndr, outcome: outcome[r],
                                replies: appearances[r].map { ReplyKey(m.transactions[$0.txn].rcptReplies[$0.pos], address: address) },
                                reason: appearances[r].isEmpty ? reason[r].map { ReplyKey.normalise($0, address: address) } : nil)
        }
        let order = m.transactions.isEmpty ? Self.groupedOrder(keys) : Array(0..<n)
        // Runs over display positions.
        var p = 0
        while p < n {
            if s.statuses[order[p]].anomaly {
                flagged.append(rows.count)
                rows.append(.one(p, member: false))
                p += 1
                continue
            }
            var end = p
            while end + 1 < n, !s.statuses[order[end + 1]].anomaly, keys[order[end + 1]] == keys[order[p]] { end += 1 }
            if end == p {
                rows.append(.one(p, member: false))
            } else if expandedRecipients.contains(p) {
                rows.append(.run(p...end, expanded: true))
                for member in p...end { rows.append(.one(member, member: true)) }
            } else {
                rows.append(.run(p...end, expanded: false))
            }
            p = end + 1
        }
        self.order = order
        recipientRows = rows
        flaggedRecipientRows = flagged

        // The transcript: each transaction as sent, RCPTs with identical replies collapsed.
        var lines: [TranscriptRow] = []
        var flaggedLines: [Int] = []
        if m.transactions.isEmpty { lines.append(.empty) }
        for (k, t) in m.transactions.enumerated() {
            lines.append(.header(k))
            lines.append(.mail(k))
            var i = 0
            while i < t.rcpts.count {
                let rid = Int(t.rcpts[i])
                if s.statuses[rid].anomaly {
                    flaggedLines.append(lines.count)
                    lines.append(.rcpt(k, i, member: false))
                    i += 1
                    continue
                }
                let key = ReplyKey(t.rcptReplies[i], address: m.recipients[rid])
                var end = i
                while end + 1 < t.rcpts.count {
                    let next = Int(t.rcpts[end + 1])
                    guard !s.statuses[next].anomaly, ReplyKey(t.rcptReplies[end + 1], address: m.recipients[next]) == key else { break }
                    end += 1
                }
                if end == i {
                    lines.append(.rcpt(k, i, member: false))
                } else if expandedTranscript.contains(RunID(txn: k, first: i)) {
                    lines.append(.rcptRun(k, i...end, expanded: true))
                    for p in i...end { lines.append(.rcpt(k, p, member: true)) }
                } else {
                    lines.append(.rcptRun(k, i...end, expanded: false))
                }
                i = end + 1
            }
            if t.data != nil || t.dot != nil { lines.append(.data(k)) }
            if t.dot != nil { lines.append(.dot(k)) }
            for j in t.strayReplies.indices {
                flaggedLines.append(lines.count)
                lines.append(.stray(k, j))
            }
            if t.tally != nil { lines.append(.tally(k)) }
            lines.append(.blank)
        }
        for j in m.ndrs.indices { lines.append(.ndr(j)) }
        transcriptRows = lines
        flaggedTranscriptRows = flaggedLines
    }

    // MARK: where the view opens

    /// The first flagged recipient's row, else the first one not delivered, else the top.
    /// Recipients alike (the same key) together, in order of each group's first appearance;
    /// groups not delivered first.
    static func groupedOrder(_ keys: [RecipientKey]) -> [Int] {
        var groups: [[Int]] = []
        var groupOf: [RecipientKey: Int] = [:]
        for (r, k) in keys.enumerated() {
            if let g = groupOf[k] { groups[g].append(r) } else { groupOf[k] = groups.count; groups.append([r]) }
        }
        let delivered = groups.filter { keys[$0[0]].state == .delivered }
        return (groups.filter { keys[$0[0]].state != .delivered } + delivered).flatMap { $0 }
    }

    /// The recipient numbers of a row.
    func recipients(of row: RecipientRow) -> [Int] { row.recipients.map { order[$0] } }

    func openingRow(_ tab: Monitor.Tab, _ s: MessageSummary, _ m: MessageRecord) -> Int {
        func undelivered(_ r: Int) -> Bool { s.statuses[r].state != .delivered && s.statuses[r].state != .accepted }
        switch tab {
        case .recipients:
            if let f = flaggedRecipientRows.first { return f }
            return recipientRows.firstIndex { undelivered(order[$0.recipients.lowerBound]) } ?? 0
        case .transcript:
            if let f = flaggedTranscriptRows.first { return f }
            return transcriptRows.firstIndex { row in
                switch row {
                case .rcpt(let k, let i, _): return undelivered(Int(m.transactions[k].rcpts[i]))
                case .rcptRun(let k, let range, _): return undelivered(Int(m.transactions[k].rcpts[range.lowerBound]))
                default: return false
                }
            } ?? 0
        case .anomalies:
            return 0
        }
    }

    func rowCount(_ tab: Monitor.Tab) -> Int {
        switch tab {
        case .recipients: recipientRows.count
        case .transcript: transcriptRows.count
        case .anomalies: 0
        }
    }

    func flaggedRows(_ tab: Monitor.Tab) -> [Int] {
        switch tab {
        case .recipients: flaggedRecipientRows
        case .transcript: flaggedTranscriptRows
        case .anomalies: []
        }
    }

    // MARK: the band

    /// One line of the summary band.
    enum BandLine: Sendable, Equatable {
        case txn(Int)
        /// Transactions from..to summed on one line (when there are more than fit).
        case txnRange(Int, Int)
        case decisions
        case blindSpots
        case finding(Int)
        /// Findings left out for room: the Anomalies tab has them.
        case moreFindings(Int)
    }

    /// The band's lines within `limit` rows: the relay's decisions always, the transactions (the
    /// later ones summed up when there are many), what the source cannot see, then each finding.
    func band(limit: Int, findings: Int, blindSpots: Bool) -> [BandLine] {
        guard limit > 0 else { return [] }
        var txnLines: [BandLine] = txns.indices.map { .txn($0) }
        let fixed = 1 + (blindSpots ? 1 : 0)
        let natural = txnLines.count + fixed + findings
        if natural > limit, txns.count > 3 {
            txnLines = [.txn(0), .txn(1), .txnRange(2, txns.count - 1)]
        }
        while txnLines.count + fixed > limit, txnLines.count > 1 {
            txnLines = [.txnRange(0, txns.count - 1)]
        }
        var out = Array(txnLines.prefix(max(0, limit - 1)))
        out.append(.decisions)
        if blindSpots, out.count < limit { out.append(.blindSpots) }
        let room = limit - out.count
        if findings <= room {
            out += (0..<findings).map { .finding($0) }
        } else if room > 0 {
            out += (0..<(room - 1)).map { .finding($0) }
            out.append(.moreFindings(findings - (room - 1)))
        }
        return out
    }
}

/// A row of the Recipients tab.
enum RecipientRow: Sendable, Equatable {
    /// One recipient (by its display position, see ``MessageDetail/order``); `member` when it
    /// belongs to an expanded run.
    case one(Int, member: Bool)
    /// Consecutive recipients with the same replies and outcome: one row, or (expanded) a heading
    /// above its members.
    case run(ClosedRange<Int>, expanded: Bool)

    var recipients: ClosedRange<Int> {
        switch self {
        case .one(let r, _): r...r
        case .run(let range, _): range
        }
    }
}

/// A row of the Transcript tab.
enum TranscriptRow: Sendable, Equatable {
    case empty
    case header(Int)
    case mail(Int)
    /// RCPT at position `pos` of transaction `txn`.
    case rcpt(Int, Int, member: Bool)
    /// RCPTs with identical replies, collapsed (or heading its members when expanded).
    case rcptRun(Int, ClosedRange<Int>, expanded: Bool)
    case data(Int)
    case dot(Int)
    case stray(Int, Int)
    case tally(Int)
    case blank
    case ndr(Int)
}

/// A reply as runs compare them: code, enhanced code and text, with the recipient's own address
/// taken out of the text (servers that echo it would otherwise make every reply unique). A missing
/// reply is code 0.
struct ReplyKey: Sendable, Hashable {
    var code: Int
    var enhanced: EnhancedStatus?
    var text: String

    init(_ reply: SMTPReply?, address: String) {
        code = reply?.code ?? 0
        enhanced = reply?.enhanced
        text = reply.map { ReplyKey.normalise($0.text, address: address) } ?? ""
    }

    static func normalise(_ text: String, address: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "@")), !address.isEmpty else { return text }
        return text.lowercased().replacing(address.lowercased(), with: "<>")
    }
}

/// What makes two neighbouring recipients one run.
struct RecipientKey: Sendable, Hashable {
    var state: RecipientStatus.State
    var ndr: Bool
    var outcome: Outcome.Status?
    var replies: [ReplyKey]
    /// The relay's reason, for recipients never sent (an unreachable next hop, an expiry).
    var reason: String?
}
