import RelayCore

/// One row of the destinations view (`d`): every message's recipients at one next hop (or, for
/// recipients never sent, one domain) added up, with what that destination last said and the
/// ages of the recipients still waiting for it (qshape's view, live).
public struct DestinationRow: Sendable, Equatable {
    public var name: String
    public var isHop: Bool
    /// Messages with recipients waiting for it, and those recipients.
    public var messagesWaiting = 0
    public var waiting = 0
    public var messagesDeferred = 0
    public var deferred = 0
    public var messagesBounced = 0
    public var bounced = 0
    public var messagesDelivered = 0
    public var delivered = 0
    /// The lowest recipient limit it showed (RCPTs before its first too-many reply), and the reply.
    public var limit: Int?
    public var limitReply: String?
    public var lastReply: String?
    public var lastReplyClass: ReplyClass?
    public var lastReplyAt: Timestamp?
    /// When each waiting message was queued, with how many of its recipients wait here.
    public var waitingSince: [(queued: Double, recipients: Int)] = []

    public static func == (a: DestinationRow, b: DestinationRow) -> Bool {
        a.name == b.name && a.isHop == b.isHop && a.waiting == b.waiting && a.deferred == b.deferred && a.bounced == b.bounced
            && a.delivered == b.delivered && a.limit == b.limit && a.lastReply == b.lastReply && a.lastReplyAt == b.lastReplyAt
    }

    /// How much is wrong there: the sort key (most first).
    var trouble: Int { deferred + bounced }

    /// Every destination of the messages in memory, the most troubled first.
    static func all(_ summaries: [String: MessageSummary], tallies: [String: [DestinationTally]]) -> [DestinationRow] {
        var rows: [String: DestinationRow] = [:]
        for s in summaries.values {
            for t in tallies[s.id] ?? [] {
                let key = (t.isHop ? "h " : "d ") + t.name
                var row = rows[key] ?? DestinationRow(name: t.name, isHop: t.isHop)
                if t.waiting > 0 {
                    row.messagesWaiting += 1
                    row.waiting += t.waiting
                    row.waitingSince.append((s.firstSeen.seconds, t.waiting))
                }
                if t.deferred > 0 { row.messagesDeferred += 1; row.deferred += t.deferred }
                if t.bounced > 0 { row.messagesBounced += 1; row.bounced += t.bounced }
                if t.delivered > 0 { row.messagesDelivered += 1; row.delivered += t.delivered }
                if let l = t.limit, row.limit.map({ l < $0 }) ?? true {
                    row.limit = l
                    row.limitReply = t.limitReply
                }
                if let at = t.lastReplyAt, row.lastReplyAt.map({ at > $0 }) ?? true {
                    row.lastReplyAt = at
                    row.lastReply = t.lastReply
                    row.lastReplyClass = t.lastReplyClass
                }
                rows[key] = row
            }
        }
        return rows.values.sorted { a, b in
            if a.trouble != b.trouble { return a.trouble > b.trouble }
            if a.waiting != b.waiting { return a.waiting > b.waiting }
            if a.isHop != b.isHop { return a.isHop }
            return a.name < b.name
        }
    }

    /// qshape's age buckets, in minutes: recipients waiting under 5, 5-10, 10-20 ... 1280 and over.
    public static let bucketMinutes = [5, 10, 20, 40, 80, 160, 320, 640, 1280]

    /// Waiting recipients per bucket (one more bucket than boundaries: the oldest).
    public func buckets(now: Double) -> [Int] {
        var out = [Int](repeating: 0, count: Self.bucketMinutes.count + 1)
        for w in waitingSince {
            let minutes = max(0, now - w.queued) / 60
            let i = Self.bucketMinutes.firstIndex { minutes < Double($0) } ?? Self.bucketMinutes.count
            out[i] += w.recipients
        }
        return out
    }
}
