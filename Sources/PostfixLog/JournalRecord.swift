import RelayCore

/// One entry of `journalctl -o json` (one JSON object per line), reduced to what a syslog line
/// carries: systemd-only hosts (Debian 13 and others without rsyslog) keep Postfix's lines only in
/// the journal. `MESSAGE` is a string, or an array of bytes when it is not valid UTF-8.
public struct JournalRecord: Sendable, Equatable {
    public var ts: Timestamp
    public var host: String
    /// SYSLOG_IDENTIFIER: `postfix/smtp`.
    public var identifier: String
    public var pid: Int?
    public var message: [UInt8]

    public init(ts: Timestamp, host: String, identifier: String, pid: Int?, message: [UInt8]) {
        self.ts = ts
        self.host = host
        self.identifier = identifier
        self.pid = pid
        self.message = message
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    public init(line: UnsafeRawBufferPointer) throws(ParseError) {
        let v: JSONValue
        do { v = try JSONValue.parse(line) } catch { throw ParseError(reason: "journal record is not JSON: \(error)") }
        guard v.object != nil else { throw ParseError(reason: "journal record is not a JSON object") }
        guard let micros = v["__REALTIME_TIMESTAMP"]?.string.flatMap({ Int64($0) }) else {
            throw ParseError(reason: "journal record without __REALTIME_TIMESTAMP")
        }
        // A garbled time beyond what a log line can say would be written as another time.
        guard Timestamp.writable.contains(Timestamp(microseconds: micros)) else {
            throw ParseError(reason: "journal record's __REALTIME_TIMESTAMP \(micros) is not a time from year 0 to 9999")
        }
        ts = Timestamp(microseconds: micros)
        host = v["_HOSTNAME"]?.string ?? ""
        identifier = v["SYSLOG_IDENTIFIER"]?.string ?? ""
        pid = (v["SYSLOG_PID"]?.string ?? v["_PID"]?.string).flatMap { Int($0) }
        switch v["MESSAGE"] {
        case .string(let s)?: message = Array(s.utf8)
        case .array(let bytes)?: message = bytes.compactMap { $0.int.flatMap { (0...255).contains($0) ? UInt8($0) : nil } }
        default: throw ParseError(reason: "journal record without MESSAGE")
        }
    }

    /// The identifiers Postfix logs under with the default `syslog_name`, for journalctl's
    /// filter (`-t`): one per program whose lines the adapter reads.
    public static let postfixIdentifiers = [
        "postfix/smtp", "postfix/lmtp", "postfix/local", "postfix/virtual", "postfix/error", "postfix/retry",
        "postfix/pipe", "postfix/discard", "postfix/qmgr", "postfix/cleanup", "postfix/pickup", "postfix/bounce",
        "postfix/postsuper", "postfix/smtpd",
    ]
}

extension PostfixAdapter {
    /// A journal entry through the same reading as a syslog line.
    public mutating func read(journal r: JournalRecord, into events: inout [DeliveryEvent]) -> AdapterVerdict {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(r.host.utf8.count + r.identifier.utf8.count + r.message.count)
        bytes.append(contentsOf: r.host.utf8)
        let tagStart = bytes.count
        bytes.append(contentsOf: r.identifier.utf8)
        let messageStart = bytes.count
        bytes.append(contentsOf: r.message)
        return bytes.withUnsafeBytes { b in
            record(b, ts: r.ts, host: 0..<tagStart, tag: tagStart..<messageStart, message: messageStart..<b.count, into: &events)
        }
    }

    /// One line of `journalctl -o json`.
    public mutating func read(journalLine line: UnsafeRawBufferPointer, into events: inout [DeliveryEvent]) -> AdapterVerdict {
        counts.lines += 1
        if line.isEmpty { return .ignored }
        do {
            let r = try JournalRecord(line: line)
            return read(journal: r, into: &events)
        } catch {
            counts.malformed += 1
            return .malformed(error.reason)
        }
    }
}

/// `journalctl -o json` lines as a ``LogAdapter``: the journal's records through Postfix's reading.
public struct PostfixJournalAdapter: LogAdapter {
    public var postfix: PostfixAdapter

    public init(_ postfix: PostfixAdapter) { self.postfix = postfix }

    public mutating func read(line: UnsafeRawBufferPointer, into events: inout [DeliveryEvent]) -> AdapterVerdict {
        postfix.read(journalLine: line, into: &events)
    }

    public mutating func finish(into events: inout [DeliveryEvent]) { postfix.finish(into: &events) }
}
