/// Turns another program's log into delivery-log v1 events (see <doc:DeliveryLog>), one line at
/// a time, so the report, `convert` and the monitor read Postfix (or any other MTA) through the
/// same store and analyser as mailrelayd's own log. An adapter only says what the log says: where
/// the log has no RCPT position, no accepted reply or no tally, the events have none either.
public protocol LogAdapter {
    /// Reads one line (without its newline) and appends the events it yields to `events`, in
    /// order. (Appended rather than handed to a callback: Swift copied an event passed to a
    /// closure and destroyed the original, retaining and releasing every String in it, at about
    /// a twentieth of the report's time.)
    mutating func read(line: UnsafeRawBufferPointer, into events: inout [DeliveryEvent]) -> AdapterVerdict
    /// The input has ended: events that were waiting for a line that will not come, appended.
    mutating func finish(into events: inout [DeliveryEvent])
}

/// What an adapter made of a line.
public enum AdapterVerdict: Sendable, Equatable {
    /// It said something about a message.
    case used
    /// A line this adapter understands but that changes no message (a connect, a statistic),
    /// or a line of another program.
    case ignored
    /// A line it should understand but cannot: cut short, or not in any form it knows.
    case malformed(String)
    /// A line it used as far as it went: the end was cut off (syslog's line limit).
    case truncated(String)
    /// Reading a later part of a file (see ``PartOwnership``): a line about a message this part
    /// does not own, not read (nor counted) here but kept for the merge, where the reader of the
    /// parts before reads it in its place.
    case deferred
}

/// Which messages an adapter reading a later part of a file owns, when earlier parts are read at
/// the same time by other adapters. A message is owned from its first line in the part when that
/// line is one that starts a message (Postfix's cleanup `message-id=`, Exim's `<=`); a message
/// first named by any other line began before the part (or its start is not in the log), and
/// every line of it is deferred, so no message is ever split between two readers. Owned keys are
/// checked at the merge against what the parts before still hold in flight: a key reused while
/// in flight there is the one case this cannot follow, and that part is read again in one pass.
public struct PartOwnership: Sendable {
    /// Keys first named here by a line that starts a message (still in flight or gone).
    private var owned: Set<Key> = []
    private var deferred: Set<Key> = []
    /// A line touched both an owned key and one deferred (a requeue, a bounce naming its parent):
    /// this part cannot be merged and is read again in one pass.
    public private(set) var tangled = false

    public init() {}

    /// Whether `key` was first named here by a line that starts a message.
    public func isOwned(_ key: String) -> Bool { owned.contains(Key(key)) }

    /// Whether the part reads a line naming `key`, first or not; `starts`: the line is one that
    /// starts a message.
    public mutating func owns(_ key: String, starts: Bool) -> Bool {
        let k = Key(key)
        if owned.contains(k) { return true }
        if deferred.contains(k) { return false }
        if starts {
            owned.insert(k)
            return true
        }
        deferred.insert(k)
        return false
    }

    /// A line that names several keys is read here only if the part owns every one of them.
    /// Returns whether it does; if it owns only some, the part is tangled.
    public mutating func ownsAll(_ keys: [(key: String, starts: Bool)]) -> Bool {
        let named = keys.map { (key: Key($0.key), starts: $0.starts) }
        let readable = named.allSatisfy { owned.contains($0.key) || (!deferred.contains($0.key) && $0.starts) }
        for k in named {
            if readable {
                owned.insert(k.key)
            } else if owned.contains(k.key) {
                // Owned lines of it were read here already, and this one must be read after them.
                tangled = true
            } else {
                deferred.insert(k.key)
            }
        }
        return readable
    }

    /// A key as the sets hold it: up to 16 bytes in two words (an Exim id is 16), longer ones as
    /// their String. A set of Strings of one length, as a part's ids are, compares bytes through
    /// each String's storage at every occupied slot a lookup passes, and a lookup that misses
    /// (every message's first line) passes several: with the words in the slot it is two
    /// compares there.
    enum Key: Hashable, Sendable {
        case short(UInt64, UInt64, count: Int)
        case long(String)

        init(_ s: String) {
            guard s.utf8.count <= 16 else {
                self = .long(s)
                return
            }
            var words: (UInt64, UInt64) = (0, 0)
            var bytes = s
            let count = bytes.withUTF8 { p in
                withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: UnsafeRawBufferPointer(p)) }
                return p.count
            }
            self = .short(words.0, words.1, count: count)
        }
    }
}

/// How an adapter fared with a log, for the report's summary and the tests.
public struct AdapterCounts: Sendable, Equatable {
    public var lines = 0
    /// Lines from the MTA about mail: Postfix's programs' lines, Exim's lines with a message id.
    public var mtaLines = 0
    /// Lines that said something about a message.
    public var used = 0
    public var malformed = 0
    public var truncated = 0

    public init() {}

    /// Another reader's counts added (a later part of the same file).
    public static func += (a: inout AdapterCounts, b: AdapterCounts) {
        a.lines += b.lines
        a.mtaLines += b.mtaLines
        a.used += b.used
        a.malformed += b.malformed
        a.truncated += b.truncated
    }
}

/// What an adapter of an MTA's log keeps per message to say what the log leaves implicit: its
/// recipients in order of first appearance and whether each has a final outcome (for an expiry
/// that names none), and those that failed for good since the message's last notification (the
/// recipients Postfix's next bounce reports). Exim's adapter keeps only the last part: Exim logs no
/// expiry.
///
/// Addresses are kept as bytes (a ``RecipientTable``, as the store keeps a message's), so a
/// delivery line's address is noted without a String built for it, and compared as the store
/// compares it: byte for byte (bytes that are not UTF-8 as `String(decoding:as:)` repairs them).
/// Strings are built only for what an expiry or a notification names.
public struct RecipientLedger: Sendable {
    /// The recipients in the order first named (indexed by a hash once there are more than a
    /// few), and whether each has had its final outcome.
    private var table = RecipientTable()
    private var finals: [Bool] = []
    /// Where the next recipient named most likely is, tried before any search: the one after
    /// the last found (an MTA logs a message's deliveries in the order it listed its recipients),
    /// the first once a new one has been added (the deliveries start after the listing).
    private var hint = 0
    /// Failed for good since the last NDR, by number in `table`.
    private var failed: [Int] = []

    public init() {}

    public var order: [String] { Array(table) }

    /// Failed for good since the last NDR.
    public var failedSinceNDR: [String] { failed.map { table[$0] } }

    /// A recipient's outcome: final or not; a failure for good also goes into the next NDR.
    public mutating func note(_ rcpt: UnsafeRawBufferPointer, status: Outcome.Status) {
        let k = note(rcpt, final: status.isFinal)
        if status == .bounced || status == .expired { failed.append(k) }
    }

    /// A recipient named without an outcome (a listed recipient at arrival). Returns its number.
    @discardableResult
    public mutating func note(_ rcpt: UnsafeRawBufferPointer, final isFinal: Bool) -> Int {
        // Bytes that are not UTF-8 name the recipient their repaired String names (as everywhere
        // else in the report).
        rcpt.withRepairedUTF8 { noteValid($0, final: isFinal) }
    }

    private mutating func noteValid(_ rcpt: UnsafeRawBufferPointer, final isFinal: Bool) -> Int {
        if hint < table.count, table.address(hint, equals: rcpt) {
            if isFinal { finals[hint] = true }
            hint += 1
            return hint - 1
        }
        let k = table.intern(rcpt)
        if k == finals.count {
            // New: the deliveries start again from the first.
            finals.append(isFinal)
            hint = 0
        } else {
            if isFinal { finals[k] = true }
            hint = k + 1
        }
        return k
    }

    public mutating func note(_ rcpt: String, status: Outcome.Status) {
        var rcpt = rcpt
        rcpt.withUTF8 { note(UnsafeRawBufferPointer($0), status: status) }
    }

    public mutating func note(_ rcpt: String, final isFinal: Bool) {
        var rcpt = rcpt
        rcpt.withUTF8 { _ = note(UnsafeRawBufferPointer($0), final: isFinal) }
    }

    /// The queue lifetime ran out: every recipient still waiting expires (and goes into the next
    /// NDR). Returns them, in order.
    public mutating func expireWaiting() -> [String] {
        let waiting = finals.indices.filter { !finals[$0] }
        for k in waiting {
            finals[k] = true
            failed.append(k)
        }
        return waiting.map { table[$0] }
    }

    /// The recipients the next NDR names; the list starts again.
    public mutating func takeFailed() -> [String] {
        defer { failed = [] }
        return failedSinceNDR
    }
}
