/// The raw form the store ingests (``RawEvent``), made straight from an event that never was a
/// line (an adapter's, the control socket's), as if its line had been written and read back: the
/// fields come from ``DeliveryEvent/writeFields(to:)`` in the line's order, each is set by the
/// readers' own ``RawEvent/assign(_:_:)``, and the line's checks (``RawEvent/verdict()``) run on
/// the result. Only the cost differs: no time is formatted and parsed again, no string escaped
/// and unescaped. A string's bytes are kept as they are (a slice that needs no unescaping); an
/// array or object of strings is written as JSON, which the store walks as it walks a line's.
struct RawEventWriter: EventFieldSink {
    /// The strings' bytes; the slices are offsets into it. Kept, with the fields, from event to
    /// event for their capacity.
    private var bytes: [UInt8] = []
    private var fields: [(FieldName, RawEvent.Token)] = []

    init() {}

    mutating func string(_ f: FieldName, _ s: String) {
        let start = bytes.count
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
        fields.append((f, .string(StringSlice(start: Int32(truncatingIfNeeded: start), count: Int32(truncatingIfNeeded: bytes.count - start),
                                              escaped: false))))
    }

    mutating func strings(_ f: FieldName, _ list: [String]) {
        let start = writeJSON { $0.strings(list) }
        fields.append((f, .strings(ContainerSlice(start: start, end: Int32(truncatingIfNeeded: bytes.count), count: Int32(truncatingIfNeeded: list.count)))))
    }

    mutating func pairs(_ f: FieldName, _ members: [(String, String)]) {
        let start = writeJSON { $0.object(members) }
        fields.append((f, .stringObject(ContainerSlice(start: start, end: Int32(truncatingIfNeeded: bytes.count),
                                                       count: Int32(truncatingIfNeeded: members.count)))))
    }

    mutating func int(_ f: FieldName, _ n: Int) { fields.append((f, .number(n))) }
    mutating func bool(_ f: FieldName, _ b: Bool) { fields.append((f, .bool(b))) }
    mutating func null(_ f: FieldName) { fields.append((f, .null)) }
    mutating func enhanced(_ f: FieldName, _ e: EnhancedStatus) { fields.append((f, .enhanced(e))) }
    mutating func time(_ f: FieldName, _ t: Timestamp) { fields.append((f, .time(t))) }

    /// Appends JSON to the bytes; returns where it starts.
    private mutating func writeJSON(_ body: (inout JSONWriter) -> Void) -> Int32 {
        let start = Int32(truncatingIfNeeded: bytes.count)
        var w = JSONWriter(out: bytes)
        bytes = []
        body(&w)
        bytes = w.out
        return start
    }

    /// The event's raw form, valid inside `body` only (its slices point into the writer's
    /// bytes), with the verdict reading its line would give: `.event` or `.malformed`.
    mutating func withRaw<R>(of event: DeliveryEvent, _ body: (inout RawEvent, LogDecoder.Scanned) -> R) -> R {
        bytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        event.writeFields(to: &self)
        return bytes.withUnsafeBytes { all in
            var raw = RawEvent(JSONScanner(all))
            for (f, token) in fields { raw.assign(f, token) }
            let verdict = raw.verdict()
            return body(&raw, verdict)
        }
    }
}
