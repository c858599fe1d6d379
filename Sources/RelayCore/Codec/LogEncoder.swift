/// Writes delivery-log v1 lines (see <doc:DeliveryLog>): one JSON object, keys in a fixed order
/// (`v`, `ts`, `event`, `msg`, then the event's own), no spaces, a trailing newline.
public enum LogEncoder {
    public static func line(_ event: DeliveryEvent) -> String {
        var out: [UInt8] = []
        append(event, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the event's line (with its newline) to a byte buffer: the relay batches these.
    public static func append(_ event: DeliveryEvent, to out: inout [UInt8]) {
        var line = JSONLine(w: JSONWriter(out: out))
        out = []
        // Room for a typical line at once, so the appends below do not grow the buffer piecemeal.
        line.w.out.reserveCapacity(line.w.out.count + 512)
        event.writeFields(to: &line)
        line.w.raw("}\n")
        out = line.w.out
    }
}

/// An event's fields as one JSON object: `{` before the first, `,"key":` before each.
private struct JSONLine: EventFieldSink {
    var w: JSONWriter
    private var opened = false

    init(w: JSONWriter) { self.w = w }

    @inline(__always) private mutating func key(_ f: FieldName) {
        w.key(f.key)
        // The first key opens the object: its `,` becomes the `{`.
        if !opened {
            opened = true
            w.out[w.out.count - f.key.utf8CodeUnitCount - 4] = 0x7B
        }
    }

    mutating func string(_ f: FieldName, _ s: String) { key(f); w.string(s) }
    mutating func strings(_ f: FieldName, _ list: [String]) { key(f); w.strings(list) }
    mutating func int(_ f: FieldName, _ n: Int) { key(f); w.int(n) }
    mutating func bool(_ f: FieldName, _ b: Bool) { key(f); w.raw(b ? "true" : "false") }
    mutating func null(_ f: FieldName) { key(f); w.raw("null") }
    mutating func enhanced(_ f: FieldName, _ e: EnhancedStatus) { key(f); w.enhanced(e) }

    mutating func time(_ f: FieldName, _ t: Timestamp) {
        key(f)
        w.out.append(0x22)
        t.appendRFC3339(to: &w.out)
        w.out.append(0x22)
    }

    mutating func pairs(_ f: FieldName, _ members: [(String, String)]) { key(f); w.object(members) }
}
