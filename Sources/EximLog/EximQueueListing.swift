import RelayCore

/// One message of `exim -bp`: a head line (`25m  2.9K 1xYTMj-0005XL-1B <sender> [*** frozen ***]`),
/// then its recipients indented, `D` before those already delivered, then a blank line. Read line
/// by line (``Reader``), so a long queue is never one document.
public struct EximQueuedMessage: Sendable, Equatable {
    public var id: String
    /// Seconds on the queue (Exim rounds: 25m, 2h, 3d).
    public var age: Double
    public var size: Int
    /// "" is the null sender `<>`.
    public var sender: String
    public var frozen: Bool
    public var recipients: [(address: String, delivered: Bool)]

    public static func == (a: EximQueuedMessage, b: EximQueuedMessage) -> Bool {
        a.id == b.id && a.age == b.age && a.size == b.size && a.sender == b.sender && a.frozen == b.frozen
            && a.recipients.map(\.address) == b.recipients.map(\.address) && a.recipients.map(\.delivered) == b.recipients.map(\.delivered)
    }

    /// Exim's message id, checked before it goes on an exim command line.
    public static func isMessageID(_ s: String) -> Bool {
        var bytes = Array(s.utf8)
        return bytes.withUnsafeMutableBytes { EximLine.idEnd(UnsafeRawBufferPointer($0), from: 0) == $0.count }
    }

    /// As the monitor's live queue has it.
    public func entry(now: Double) -> QueueEntry {
        let waiting = recipients.map { r in
            QueueRecipientEntry(address: r.address, state: r.delivered ? "delivered" : "pending", attempts: 0, lastReply: nil)
        }
        return QueueEntry(id: id, sender: sender, received: now - age, age: age, size: size, held: frozen, attempts: 0,
                          nextAttempt: .infinity, inProgress: false, recipients: waiting, queue: frozen ? "frozen" : "queued")
    }

    /// Reads `exim -bp` one line at a time; a message is handed on when its blank line (or the
    /// end) comes. Lines it cannot read are counted.
    public struct Reader {
        private var current: EximQueuedMessage?
        public private(set) var problems = 0

        public init() {}

        public mutating func line(_ b: UnsafeRawBufferPointer, _ done: (EximQueuedMessage) -> Void) {
            if b.isBlankLine {
                if let m = current { done(m) }
                current = nil
                return
            }
            // A head line is right-aligned (" 0m   250 1xYTMj-…"): it is one when it reads as one.
            if let head = Self.head(b) {
                if let m = current { done(m) }
                current = head
                return
            }
            if b[0] == 0x20 || b[0] == 0x09 {
                // A recipient: "          D addr" or "            addr".
                guard current != nil else { problems += 1; return }
                var i = 0
                while i < b.count, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
                var delivered = false
                if b.has("D ", at: i) { delivered = true; i += 2 }
                var e = b.count
                while e > i, b[e - 1] == 0x20 || b[e - 1] == 0x0D { e -= 1 }
                guard e > i else { return }
                current!.recipients.append((b.string(i..<e), delivered))
                return
            }
            problems += 1
        }

        public mutating func finish(_ done: (EximQueuedMessage) -> Void) {
            if let m = current { done(m) }
            current = nil
        }

        static func head(_ b: UnsafeRawBufferPointer) -> EximQueuedMessage? {
            let fields = b.string(0..<b.count).split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, let age = Self.age(fields[0]), let size = Self.size(fields[1]),
                  EximQueuedMessage.isMessageID(String(fields[2])) else { return nil }
            // The sender: the first field in angle brackets (an untrusted user's login may come first in parentheses).
            guard let s = fields[3...].first(where: { $0.hasPrefix("<") && $0.hasSuffix(">") }) else { return nil }
            let line = b.string(0..<b.count)
            return EximQueuedMessage(id: String(fields[2]), age: age, size: size, sender: String(s.dropFirst().dropLast()),
                                     frozen: line.contains("*** frozen ***"), recipients: [])
        }

        static func age(_ f: Substring) -> Double? {
            guard let unit = f.last, let n = Double(f.dropLast()) else { return nil }
            let scale: Double
            switch unit {
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86_400
            case "w": scale = 604_800
            default: return nil
            }
            // Double also reads "inf", "nan" and 1e400: an age is a finite span (under a
            // thousand years), or the line is not Exim's.
            let age = n * scale
            return age.isFinite && age >= 0 && age < 3.2e10 ? age : nil
        }

        static func size(_ f: Substring) -> Int? {
            if let n = Int(f) { return n >= 0 ? n : nil }
            guard let unit = f.last, let n = Double(f.dropLast()) else { return nil }
            let scale: Double
            switch unit {
            case "K": scale = 1024
            case "M": scale = 1024 * 1024
            case "G": scale = 1024 * 1024 * 1024
            default: return nil
            }
            // Converting a Double past Int's range traps (the fuzzer found "222…2K"): a size
            // beyond a petabyte is not a message's.
            let bytes = n * scale
            return bytes.isFinite && bytes >= 0 && bytes < 1e15 ? Int(bytes) : nil
        }
    }
}
