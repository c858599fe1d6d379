/// The minute of the last time a reader read (the time's first 16 bytes: date, hour and
/// minute, as the relay's log or Exim's writes them) and when that minute began: a log has many
/// lines to the minute, so a reader works out the date only when it changes.
public struct MinuteCache: Sendable {
    /// No valid time starts with zero bytes, so nothing matches before the first.
    @usableFromInline var head: (UInt64, UInt64) = (0, 0)
    @usableFromInline var begins: Int64 = 0

    public init() {}

    /// When the minute whose 16 bytes are at `p` began: remembered when they are the last
    /// time's, else what `parse` makes of them (nil: not a minute, and nothing is remembered).
    @inlinable public mutating func start(of p: UnsafeRawPointer, _ parse: (UnsafeRawPointer) -> Int64?) -> Int64? {
        let h = (p.loadUnaligned(as: UInt64.self), p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        if h == head { return begins }
        guard let start = parse(p) else { return nil }
        head = h
        begins = start
        return start
    }
}
