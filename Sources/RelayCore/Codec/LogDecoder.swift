/// What one line of the delivery log turned out to be.
public enum DecodedLine: Sendable {
    case event(DeliveryEvent)
    /// A well-formed line with an event name this reader does not know (a newer relay): ignored.
    case unknownEvent(String)
    /// A blank line: not an event, not an error.
    case blank
    /// Not a delivery-log v1 event; the reason is a short phrase for the admin.
    case malformed(String)
}

/// Reads delivery-log v1 lines (see <doc:DeliveryLog>).
///
/// Unknown fields are skipped and unknown events reported as such (forward compatibility). A field
/// this reader knows but finds with the wrong JSON type only makes the line malformed when the event
/// needs that field, so a newer relay can reuse a name for another kind of event.
public enum LogDecoder {
    /// Lines longer than this are malformed without being parsed (a runaway writer, binary junk).
    public static let maxLineLength = 1 << 20

    public static func decode(_ line: String) -> DecodedLine {
        var line = line
        return line.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    public static func decode(_ line: UnsafeRawBufferPointer) -> DecodedLine {
        if line.count > maxLineLength { return .malformed("line longer than \(maxLineLength) bytes") }
        var scanner = JSONScanner(line)
        if scanner.peek() == nil { return .blank }
        do {
            var fields = Fields()
            try fields.read(&scanner)
            return fields.makeEvent()
        } catch {
            return .malformed("\(error.reason) at byte \(error.offset + 1)")
        }
    }
}

/// Every field name of the v1 log, so each key is matched once without building a String.
enum FieldName: Int {
    case v, ts, event, msg, from, rcpts, size, messageID, session, peer, ehlo, txn, attempt
    case pipelined, cmd, index, rcpt, code, enhanced, text, accepted, deferred, bounced, status
    case reason, retryAt, ndrMsg, diagnostics, source

    var key: StaticString {
        switch self {
        case .v: "v"
        case .ts: "ts"
        case .event: "event"
        case .msg: "msg"
        case .from: "from"
        case .rcpts: "rcpts"
        case .size: "size"
        case .messageID: "message_id"
        case .session: "session"
        case .peer: "peer"
        case .ehlo: "ehlo"
        case .txn: "txn"
        case .attempt: "attempt"
        case .pipelined: "pipelined"
        case .cmd: "cmd"
        case .index: "index"
        case .rcpt: "rcpt"
        case .code: "code"
        case .enhanced: "enhanced"
        case .text: "text"
        case .accepted: "accepted"
        case .deferred: "deferred"
        case .bounced: "bounced"
        case .status: "status"
        case .reason: "reason"
        case .retryAt: "retry_at"
        case .ndrMsg: "ndr_msg"
        case .diagnostics: "diagnostics"
        case .source: "source"
        }
    }

    /// Dispatch on length and first bytes, then confirm the whole key.
    static func match(_ k: UnsafeRawBufferPointer) -> FieldName? {
        guard let first = k.first else { return nil }
        let candidate: FieldName?
        switch (k.count, first) {
        case (1, 0x76): candidate = .v
        case (2, 0x74): candidate = .ts
        case (5, 0x65): candidate = .event
        case (3, 0x6D): candidate = .msg
        case (4, 0x66): candidate = .from
        case (5, 0x72): candidate = .rcpts
        case (4, 0x73): candidate = .size
        case (10, 0x6D): candidate = .messageID
        case (7, 0x73): candidate = .session
        case (4, 0x70): candidate = .peer
        case (4, 0x65): candidate = .ehlo
        case (3, 0x74): candidate = .txn
        case (7, 0x61): candidate = .attempt
        case (9, 0x70): candidate = .pipelined
        case (3, 0x63): candidate = .cmd
        case (5, 0x69): candidate = .index
        case (4, 0x72): candidate = .rcpt
        case (4, 0x63): candidate = .code
        case (8, 0x65): candidate = .enhanced
        case (4, 0x74): candidate = .text
        case (8, 0x61): candidate = .accepted
        case (8, 0x64): candidate = .deferred
        case (7, 0x62): candidate = .bounced
        case (6, 0x73): candidate = k[1] == 0x74 ? .status : .source
        case (6, 0x72): candidate = .reason
        case (8, 0x72): candidate = .retryAt
        case (7, 0x6E): candidate = .ndrMsg
        case (11, 0x64): candidate = .diagnostics
        default: candidate = nil
        }
        guard let candidate else { return nil }
        let key = candidate.key.utf8Start
        for j in 0..<k.count where k[j] != key[j] { return nil }
        return candidate
    }
}

/// The fields of one line, as read. A field can be absent, null, of the wrong type, or a value.
struct Fields {
    var v: Int?
    var ts: Timestamp?
    var event: String?
    var msg: String?
    var from: String?
    var rcpts: [String]?
    var size: Int?
    var messageID: String?
    var session: String?
    var peer: String?
    var ehlo: [String]?
    var txn: String?
    var attempt: Int?
    var pipelined: Bool?
    var cmd: String?
    var index: Int?
    var rcpt: String?
    var code: Int?
    var enhanced: EnhancedStatus?
    var text: String?
    var accepted: Int?
    var deferred: Int?
    var bounced: Int?
    var status: String?
    var reason: String?
    var retryAt: Timestamp?
    var ndrMsg: String?
    var diagnostics: [String: String]?
    var source: String?

    /// Bit per FieldName: present (any value, null included).
    var present: UInt32 = 0
    /// Bit per FieldName: present but null.
    var null: UInt32 = 0
    /// Bit per FieldName: present with a JSON type (or value) this version cannot use.
    var bad: UInt32 = 0

    func has(_ f: FieldName) -> Bool { present & (1 << f.rawValue) != 0 }
    func isNull(_ f: FieldName) -> Bool { null & (1 << f.rawValue) != 0 }
    func isBad(_ f: FieldName) -> Bool { bad & (1 << f.rawValue) != 0 }

    mutating func read(_ s: inout JSONScanner) throws(JSONScanner.Failure) {
        guard s.peek() == 0x7B else { throw s.fail("line is not a JSON object") }
        s.i += 1
        if s.peek() == 0x7D {
            s.i += 1
        } else {
            while true {
                let name: FieldName?
                if let raw = try s.rawString() {
                    name = FieldName.match(raw)
                } else {
                    var key = try s.string()
                    name = key.withUTF8 { FieldName.match(UnsafeRawBufferPointer($0)) }
                }
                try s.expect(0x3A, "':' after a key")
                if let name { try readValue(name, &s) } else { try s.skipValue(depth: 1) }
                guard let n = s.peek() else { throw s.fail("line ends inside the object (truncated?)") }
                s.i += 1
                if n == 0x7D { break }
                guard n == 0x2C else { s.i -= 1; throw s.fail("expected ',' or '}'") }
            }
        }
        if s.peek() != nil { throw s.fail("text after the JSON object") }
    }

    private mutating func readValue(_ f: FieldName, _ s: inout JSONScanner) throws(JSONScanner.Failure) {
        let bit: UInt32 = 1 << f.rawValue
        present |= bit
        if try s.takeNull() { null |= bit; return }
        func str(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String? {
            if s.peek() == 0x22 { return try s.string() }
            try s.skipValue(depth: 1)
            return nil
        }
        func int(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Int? {
            if let c = s.peek(), c == 0x2D || (c >= 0x30 && c <= 0x39) { return try s.number() }
            try s.skipValue(depth: 1)
            return nil
        }
        var ok = true
        switch f {
        case .v: v = try int(&s); ok = v != nil
        case .ts:
            if s.peek() == 0x22, let raw = try s.rawString() {
                ts = Timestamp.parse(raw)
            } else if let text = try str(&s) {
                ts = Timestamp(rfc3339: text)
            }
            ok = ts != nil
        case .event: event = try str(&s); ok = event != nil
        case .msg: msg = try str(&s); ok = msg != nil
        case .from: from = try str(&s); ok = from != nil
        case .rcpts: rcpts = try s.stringArray(); ok = rcpts != nil
        case .size: size = try int(&s); ok = size.map { $0 >= 0 } ?? false
        case .messageID: messageID = try str(&s); ok = messageID != nil
        case .session: session = try str(&s); ok = session != nil
        case .peer: peer = try str(&s); ok = peer != nil
        case .ehlo: ehlo = try s.stringArray(); ok = ehlo != nil
        case .txn: txn = try str(&s); ok = txn != nil
        case .attempt: attempt = try int(&s); ok = attempt != nil
        case .pipelined: pipelined = try s.bool(); if pipelined == nil { try s.skipValue(depth: 1); ok = false }
        case .cmd: cmd = try str(&s); ok = cmd != nil
        case .index: index = try int(&s); ok = index.map { $0 >= 0 } ?? false
        case .rcpt: rcpt = try str(&s); ok = rcpt != nil
        case .code: code = try int(&s); ok = code.map { (100...999).contains($0) } ?? false
        case .enhanced:
            // An enhanced code we cannot parse is treated as absent: the basic code still stands.
            if let text = try str(&s) { enhanced = EnhancedStatus(text) } else { ok = false }
        case .text: text = try str(&s); ok = text != nil
        case .accepted: accepted = try int(&s); ok = accepted.map { $0 >= 0 } ?? false
        case .deferred: deferred = try int(&s); ok = deferred.map { $0 >= 0 } ?? false
        case .bounced: bounced = try int(&s); ok = bounced.map { $0 >= 0 } ?? false
        case .status: status = try str(&s); ok = status != nil
        case .reason: reason = try str(&s); ok = reason != nil
        case .retryAt:
            if let text = try str(&s) { retryAt = Timestamp(rfc3339: text) }
            ok = retryAt != nil
        case .ndrMsg: ndrMsg = try str(&s); ok = ndrMsg != nil
        case .diagnostics: diagnostics = try s.stringObject(); ok = diagnostics != nil
        case .source: source = try str(&s); ok = source != nil
        }
        if !ok { bad |= bit }
    }

    /// Builds the typed event, or says which field is missing or unusable.
    func makeEvent() -> DecodedLine {
        guard has(.v), !isNull(.v) else { return .malformed("no \"v\" field") }
        guard let v, !isBad(.v) else { return .malformed("\"v\" is not a number") }
        guard v == 1 else { return .malformed("log version \(v) is not supported (this reader knows v1)") }
        guard let event, !isBad(.event) else { return .malformed("no \"event\" name") }
        guard let ts, !isBad(.ts) else {
            return .malformed(has(.ts) ? "\"ts\" is not an RFC 3339 time" : "no \"ts\" field")
        }

        func need<T>(_ f: FieldName, _ value: T?) throws(MissingField) -> T {
            guard let value, !isBad(f) else { throw MissingField(field: f, present: has(f) && !isNull(f)) }
            return value
        }
        /// A field that may be absent or null (nil), but not of the wrong type.
        func optional<T>(_ f: FieldName, _ value: T?) throws(MissingField) -> T? {
            if isBad(f) && !isNull(f) { throw MissingField(field: f, present: true) }
            return value
        }

        do {
            let body: DeliveryEvent.Body
            var msgID: String? = nil
            if event != "session" { msgID = try need(.msg, msg) }
            switch event {
            case "queued":
                body = .queued(Queued(from: try need(.from, from), rcpts: try need(.rcpts, rcpts),
                                      size: try need(.size, size), messageID: try optional(.messageID, messageID)))
            case "session":
                body = .session(Session(session: try need(.session, session), peer: try need(.peer, peer),
                                        ehlo: try need(.ehlo, ehlo)))
            case "txn":
                body = .txn(Transaction(txn: try need(.txn, txn), session: try need(.session, session),
                                        attempt: try need(.attempt, attempt), pipelined: try need(.pipelined, pipelined),
                                        rcpts: try need(.rcpts, rcpts)))
            case "reply":
                let command = SMTPCommand(try need(.cmd, cmd))
                var index: Int? = nil
                var rcpt: String? = nil
                if command == .rcpt {
                    index = try need(.index, self.index)
                    rcpt = try need(.rcpt, self.rcpt)
                }
                body = .reply(ReplyRecord(txn: try need(.txn, txn), command: command, index: index, rcpt: rcpt,
                                          reply: SMTPReply(code: try need(.code, code), enhanced: enhanced,
                                                           text: try optional(.text, text) ?? "")))
            case "tally":
                body = .tally(Tally(txn: try need(.txn, txn), accepted: try need(.accepted, accepted),
                                    deferred: try need(.deferred, deferred), bounced: try need(.bounced, bounced)))
            case "outcome":
                let statusText = try need(.status, status)
                guard let st = Outcome.Status(rawValue: statusText) else {
                    return .malformed("outcome status \"\(statusText)\" is not delivered, deferred, bounced or expired")
                }
                body = .outcome(Outcome(rcpt: try need(.rcpt, rcpt), status: st, txn: try optional(.txn, txn),
                                        reason: try optional(.reason, reason) ?? "",
                                        retryAt: try optional(.retryAt, retryAt)))
            case "ndr":
                body = .ndr(NDR(ndrMsg: try optional(.ndrMsg, ndrMsg), rcpts: try need(.rcpts, rcpts),
                                diagnostics: try optional(.diagnostics, diagnostics)))
            case "retry":
                body = .retry(Retry(rcpts: try optional(.rcpts, rcpts), source: try optional(.source, source) ?? "schedule"))
            case "hold": body = .hold
            case "release": body = .release
            case "done": body = .done
            default: return .unknownEvent(event)
            }
            return .event(DeliveryEvent(ts: ts, msg: msgID, body))
        } catch {
            let name = String(describing: error.field.key)
            return .malformed(error.present
                ? "\(event) event: \"\(name)\" has the wrong type or value"
                : "\(event) event without \"\(name)\"")
        }
    }
}

struct MissingField: Error {
    var field: FieldName
    var present: Bool
}
