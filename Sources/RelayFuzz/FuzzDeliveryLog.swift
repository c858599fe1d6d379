import RelayCore

enum FuzzDeliveryLog {
    /// A line decodes to an event or a reason; an event written again reads back as the same
    /// event, and the line written has no raw control character (it is one line of JSON).
    static func run(_ input: UnsafeRawBufferPointer) -> Int {
        var events = 0
        FuzzTarget.lines(input, max: LogDecoder.maxLineLength) { line, _ in
            if case .event(let event) = LogDecoder.decode(line) { roundTrip(event); events += 1 }
        }
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
