import RelayCore

/// One message of `postqueue -j` (JSON Lines, one object per queued message). Unknown fields are
/// ignored, as the manual asks; `orig_address` (3.11) and `forced_expire` (3.5) may be missing.
public struct PostqueueMessage: Sendable, Equatable {
    public struct Recipient: Sendable, Equatable {
        public var address: String
        public var originalAddress: String?
        /// Why it is still queued ("host … said: 452 4.5.3 …"); nil while none was logged.
        public var delayReason: String?
    }

    /// incoming, active, deferred, hold, maildrop (or a queue a newer Postfix adds).
    public var queueName: String
    public var queueID: String
    public var arrivalTime: Double
    public var size: Int
    public var forcedExpire: Bool
    /// "" is the null sender.
    public var sender: String
    public var recipients: [Recipient]

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Reads one line of the listing.
    public init(line: UnsafeRawBufferPointer) throws(ParseError) {
        let v: JSONValue
        do { v = try JSONValue.parse(line) } catch { throw ParseError(reason: "postqueue -j line is not JSON: \(error)") }
        guard v.object != nil else { throw ParseError(reason: "postqueue -j line is not a JSON object") }
        guard let id = v["queue_id"]?.string, PostqueueMessage.isQueueID(id) else {
            throw ParseError(reason: "postqueue -j line without a valid queue_id")
        }
        queueID = id
        queueName = v["queue_name"]?.string ?? "unknown"
        arrivalTime = Double(v["arrival_time"]?.int ?? 0)
        size = v["message_size"]?.int ?? 0
        forcedExpire = v["forced_expire"]?.bool ?? false
        sender = v["sender"]?.string ?? ""
        recipients = (v["recipients"]?.array ?? []).compactMap { r in
            guard let address = r["address"]?.string else { return nil }
            return Recipient(address: address, originalAddress: r["orig_address"]?.string, delayReason: r["delay_reason"]?.string)
        }
    }

    /// A Postfix queue id: 5 to 24 letters and digits (short hex ids and long ids alike). Checked
    /// before any id goes on a postqueue or postsuper command line.
    public static func isQueueID(_ s: String) -> Bool {
        let n = s.utf8.count
        return n >= 5 && n <= 24 && s.utf8.allSatisfy(isQueueIDByte)
    }

    /// As the monitor's live queue has it: `key` is the id the log's events use for it.
    public func entry(key: String, now: Double) -> QueueEntry {
        let rcpts = recipients.map { r -> QueueRecipientEntry in
            let last = r.delayReason.map { reason -> LastReply in
                var reason = reason
                let reply = reason.withUTF8 { p -> SMTPReply? in
                    let b = UnsafeRawBufferPointer(p)
                    return PostfixAdapter.reply(b, 0..<b.count, status: .deferred, smtpReplies: true).0
                }
                if let reply { return LastReply(code: reply.code, enhanced: reply.enhanced?.description, text: reply.text) }
                return LastReply(code: nil, enhanced: nil, text: reason)
            }
            return QueueRecipientEntry(address: r.address, state: "pending", attempts: 0, lastReply: last)
        }
        // Postfix does not list when the next attempt is due; a message in the active queue is
        // being delivered now.
        return QueueEntry(id: key, sender: sender, received: arrivalTime, age: max(0, now - arrivalTime), size: size,
                          held: queueName == "hold", attempts: 0, nextAttempt: .infinity,
                          inProgress: queueName == "active", recipients: rcpts, queue: queueName)
    }
}
