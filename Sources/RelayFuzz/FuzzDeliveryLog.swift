import RelayCore

enum FuzzDeliveryLog {
    /// A line decodes to an event or a reason; an event written again reads back as the same
    /// event, and the line written has no raw control character (it is one line of JSON); the
    /// store reads the event given as it is as it reads its line.
    static func run(_ input: UnsafeRawBufferPointer) -> Int {
        var events = 0
        var stores = AppliedBothWays()
        FuzzTarget.lines(input, max: LogDecoder.maxLineLength) { line, _ in
            if case .event(let event) = LogDecoder.decode(line) {
                roundTrip(event)
                stores.apply(event)
                events += 1
            }
        }
        stores.check()
        return events
    }

    /// What every writer of events promises: the encoded line is one line the decoder reads back
    /// to the very same line.
    static func roundTrip(_ event: DeliveryEvent) {
        let first = LogEncoder.line(event)
        precondition(first.utf8.last == 0x0A && !first.utf8.dropLast().contains(where: { $0 < 0x20 || $0 == 0x7F })
                     && !first.unicodeScalars.contains(where: { (0x80...0x9F).contains($0.value) }),
                     "encoded event is not one line without raw control characters: \(first.debugDescription)")
        guard case .event(let again) = LogDecoder.decode(first) else {
            preconditionFailure("encoded event does not decode: \(first)")
        }
        let second = LogEncoder.line(again)
        precondition(first == second, "event changed on a round trip:\n\(first)\n\(second)")
    }
}

/// Events applied to one store as they are and to another as their lines: the report and the
/// monitor apply an adapter's events straight, `convert` writes their lines, and both must come
/// to the same.
struct AppliedBothWays {
    private var asEvents = DeliveryStore(options: .init(dropFinished: false))
    private var asLines = DeliveryStore(options: .init(dropFinished: false))

    mutating func apply(_ event: DeliveryEvent) {
        let direct = asEvents.applyEvent(event)
        var line = LogEncoder.line(event)
        line.removeLast()
        let read = line.withUTF8 { asLines.apply(line: UnsafeRawBufferPointer($0)) }
        precondition("\(direct)" == "\(read)", "an event and its line applied differently (\(direct), \(read)): \(line)")
    }

    /// Once the input is read: the same messages, field by field, and the same sessions.
    func check() {
        precondition(asEvents.unfinished == asLines.unfinished && asEvents.peers == asLines.peers,
                     "a store given events and one given their lines hold different messages")
    }
}
