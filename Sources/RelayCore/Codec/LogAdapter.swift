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
