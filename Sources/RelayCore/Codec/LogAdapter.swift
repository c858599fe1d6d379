/// Turns another program's log into delivery-log v1 events (see <doc:DeliveryLog>), one line at
/// a time, so the report, `convert` and the monitor read Postfix (or any other MTA) through the
/// same store and analyser as mailrelayd's own log. An adapter only says what the log says: where
/// the log has no RCPT position, no accepted reply or no tally, the events have none either.
public protocol LogAdapter {
    /// Reads one line (without its newline) and hands on the events it yields, in order.
    mutating func read(line: UnsafeRawBufferPointer, emit: (DeliveryEvent) -> Void) -> AdapterVerdict
    /// The input has ended: events that were waiting for a line that will not come.
    mutating func finish(emit: (DeliveryEvent) -> Void)
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
}

/// What an adapter of an MTA's log keeps per message to say what the log leaves implicit: its
/// recipients in order of first appearance and whether each has a final outcome (for an expiry
/// that names none), and those that failed for good since the message's last notification (the
/// recipients Postfix's and Exim's next bounce reports).
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
}

public struct RecipientLedger: Sendable {
    public private(set) var order: [String] = []
    private var final: [String: Bool] = [:]
    /// Failed for good since the last NDR.
    public private(set) var failedSinceNDR: [String] = []

    public init() {}

    /// A recipient's outcome: final or not; a failure for good also goes into the next NDR.
    public mutating func note(_ rcpt: String, status: Outcome.Status) {
        note(rcpt, final: status.isFinal)
        if status == .bounced || status == .expired { failedSinceNDR.append(rcpt) }
    }

    /// A recipient named without an outcome (a listed recipient at arrival).
    public mutating func note(_ rcpt: String, final isFinal: Bool) {
        if let was = final[rcpt] {
            if isFinal, !was { final[rcpt] = true }
        } else {
            order.append(rcpt)
            final[rcpt] = isFinal
        }
    }

    /// The queue lifetime ran out: every recipient still waiting expires (and goes into the next
    /// NDR). Returns them, in order.
    public mutating func expireWaiting() -> [String] {
        let waiting = order.filter { final[$0] == false }
        for r in waiting { note(r, status: .expired) }
        return waiting
    }

    /// The recipients the next NDR names; the list starts again.
    public mutating func takeFailed() -> [String] {
        defer { failedSinceNDR = [] }
        return failedSinceNDR
    }
}
