import RelayCore

/// Delivery-log lines as one message: the bytes of a batch of lines in one buffer, each line with
/// its number and whether it was cut for being too long. One copy of what the follower read, so a
/// large log still loads at the speed of the parser.
public struct LineBatch: Sendable {
    struct Entry: Sendable {
        var start: Int
        var count: Int
        var number: Int
        var overlong: Bool
    }

    private var bytes: [UInt8] = []
    private var entries: [Entry] = []
    /// Bytes to make room for at the first line (the follower's read budget), so a large batch
    /// is not copied again as it grows.
    private let expected: Int

    public init(expecting bytes: Int = 0) {
        expected = bytes
    }

    public var isEmpty: Bool { entries.isEmpty }
    /// Bytes of the lines held.
    public var byteCount: Int { bytes.count + events.count * Self.bytesPerEvent }

    public mutating func append(_ line: UnsafeRawBufferPointer, number: Int, overlong: Bool) {
        if entries.isEmpty, expected > 0 {
            // The budget, and the line that was cut at the previous read's end.
            bytes.reserveCapacity(expected + LogDecoder.maxLineLength)
            entries.reserveCapacity(expected / 128)
        }
        entries.append(Entry(start: bytes.count, count: line.count, number: number, overlong: overlong))
        bytes.append(contentsOf: line)
    }

    public mutating func append(_ line: [UInt8], number: Int = 0) {
        line.withUnsafeBytes { append($0, number: number, overlong: false) }
    }

    /// Events an adapter made of another MTA's lines, each with its line's number, for a reader
    /// that applies them without the JSON in between (the report's two-stage read). A log is in
    /// one format, so a batch holds lines or events, never both.
    public private(set) var events: [(number: Int, event: DeliveryEvent)] = []
    /// What an event counts for in ``byteCount`` (about its line's length), so batches of events
    /// are handed on as often as batches of lines.
    static let bytesPerEvent = 200

    public mutating func append(_ event: DeliveryEvent, number: Int) {
        events.append((number, event))
    }

    /// Lines of another MTA's log its adapter could not read, with why: counted as malformed.
    public private(set) var problems: [(number: Int, reason: String)] = []

    public mutating func noteProblem(number: Int, _ reason: String) { problems.append((number, reason)) }

    public var hasContent: Bool { !entries.isEmpty || !events.isEmpty || !problems.isEmpty }

    /// Each line in order: its number, its bytes (valid during the call), whether it was cut.
    public func forEach(_ body: (_ number: Int, _ bytes: UnsafeRawBufferPointer, _ overlong: Bool) -> Void) {
        bytes.withUnsafeBytes { all in
            for e in entries {
                body(e.number, UnsafeRawBufferPointer(rebasing: all[e.start..<(e.start + e.count)]), e.overlong)
            }
        }
    }
}

/// The log follower's state, for the header and the progress bar.
public struct FollowerStatus: Sendable, Equatable {
    public var state: LogFollower.State
    public var rotations: Int
    public var bytesRead: Int
    public var catchUpSize: Int

    public init(state: LogFollower.State, rotations: Int = 0, bytesRead: Int = 0, catchUpSize: Int = 0) {
        self.state = state
        self.rotations = rotations
        self.bytesRead = bytesRead
        self.catchUpSize = catchUpSize
    }

    public init(_ f: LogFollower) {
        self.init(state: f.state, rotations: f.rotations, bytesRead: f.bytesRead, catchUpSize: f.catchUpSize)
    }

    /// The header's words for it.
    public var label: String {
        switch state {
        case .waiting: "waiting for the file"
        case .catchingUp: "loading"
        case .following: rotations > 0 ? "following (rotated \(rotations)×)" : "following"
        case .failed(let why): "cannot read: \(why)"
        }
    }
}
