import RelayCore

/// `relaywatch convert`: another MTA's log written out as delivery-log v1, streamed (output is
/// handed on in chunks of about a megabyte, so a large log needs no more memory than a small one).
public struct LogConverter {
    /// Tells the format (given `.auto`) and translates; a v1 log passes through.
    private var translator: LogTranslator
    public var format: LogFormat { translator.format }
    /// Lines that could not be read (or were cut short), counted; the first few kept.
    public private(set) var problems = 0
    public private(set) var problemSamples: [ReportBuilder.MalformedLine] = []

    public init(format: LogFormat, reference: Timestamp, utcOffset: Int = 0) {
        translator = LogTranslator(format: format, reference: reference, utcOffset: utcOffset)
    }

    public mutating func read(_ input: LogInput, write: ([UInt8]) -> Void) throws(LogInput.OpenError) {
        var splitter = LineSplitter()
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        let name = input.path == "-" ? "<stdin>" : input.path
        var failure: LogInput.OpenError?
        do {
            try input.forEachChunk { chunk in
                splitter.feed(chunk) { number, bytes, overlong in line(name, number, bytes, overlong, &out) }
                if out.count >= 1 << 20 { write(out); out.removeAll(keepingCapacity: true) }
            }
        } catch {
            failure = error
        }
        splitter.finish { number, bytes, overlong in line(name, number, bytes, overlong, &out) }
        if !out.isEmpty { write(out) }
        if let failure { throw failure }
    }

    private mutating func line(_ file: String, _ number: Int, _ bytes: UnsafeRawBufferPointer, _ overlong: Bool, _ out: inout [UInt8]) {
        if overlong { return note(file, number, "line longer than \(LogDecoder.maxLineLength) bytes, skipped") }
        switch translator.translate(bytes) {
        case nil:
            // Already v1: passed through as it is.
            out.append(contentsOf: bytes)
            out.append(0x0A)
            return
        case .malformed(let why)?: note(file, number, "skipped: " + why)
        case .truncated(let why)?: note(file, number, why + ReportBuilder.usedAnyway)
        case .used?, .ignored?, .deferred?: break
        }
        translator.forEachLine { out.append(contentsOf: $0); out.append(0x0A) }
    }

    private mutating func note(_ file: String, _ number: Int, _ reason: String) {
        problems += 1
        if problemSamples.count < ReportBuilder.sampleLimit {
            problemSamples.append(ReportBuilder.MalformedLine(file: file, line: number, reason: reason))
        }
    }
}
