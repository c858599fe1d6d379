import NIOCore
import RelayCore

/// The receiving side's SMTP dialogue as a state machine with no I/O: lines in, replies and the
/// message to commit out. ``SMTPServerHandler`` feeds it from the socket; tests feed it directly.
///
/// RFC 2920 duties live here and in the handler: replies in command order, buffered input never
/// dropped, 354 only after an accepted RCPT.
package struct ServerSession {
    package struct Limits {
        var hostname: String
        var maxMessageSize: Int
        var maxRecipients: Int
        var maxCommandLine: Int
        var maxTextLine: Int
        /// The answer to RCPTs past `maxRecipients`. A test peer says 552 5.5.3 here, as old
        /// servers do; the relay says what RFC 5321 asks.
        var tooManyReply = "452 4.5.3 Too many recipients"
        /// A receiving peer's own refusals (the demo's unknown users and greylisting); the relay's
        /// listener has none.
        var recipientPolicy: RecipientPolicy?
    }

    package enum Action: Equatable {
        case reply(String)
        /// The message is complete: commit it durably, then answer. Nothing after it in the same
        /// batch may be processed before that answer (the handler holds the rest).
        case commit(IncomingMessage)
        case close
    }

    let limits: Limits
    /// A client outside the allowed networks: RFC 5321 §3.1, answer 503 to all but QUIT.
    let refused: Bool
    var clientName: String?
    var sender: String?
    var recipients: [String] = []
    var eightBit = false
    var inData = false
    var body: [UInt8] = []
    var bodySize = 0
    /// A data line longer than the decoder keeps was cut: the message cannot be queued intact.
    var sawLostLine = false
    /// The longest line the decoder keeps whole (a data line longer than this is refused).
    package static let decoderLimit = 1 << 20
    var badCommands = 0

    package init(limits: Limits, refused: Bool) {
        self.limits = limits
        self.refused = refused
    }

    package mutating func receive(_ line: SMTPLine) -> [Action] {
        if inData { return dataLine(line) }
        if line.overlong || line.wireLength > limits.maxCommandLine {
            return bad("500 5.5.2 Line too long (the limit is \(limits.maxCommandLine) bytes)")
        }
        // Control characters (NUL, ESC, a UTF-8 C1 such as CSI ...) mean binary garbage, not a
        // command: none may reach an address, the Received: header's EHLO name or the log. Other
        // bytes >= 0x80 may be a UTF-8 address and are left to the command's own syntax check.
        guard let text = line.bytes.getString(at: line.bytes.readerIndex, length: line.bytes.readableBytes),
              !text.unicodeScalars.contains(where: \.isTerminalControl)
        else {
            return bad("500 5.5.2 Syntax error: binary data in a command")
        }
        let verb = text.prefix(while: { $0 != " " }).uppercased()
        let argument = text.dropFirst(verb.count).drop(while: { $0 == " " })
        if refused {
            if verb == "QUIT" { return [.reply("221 2.0.0 Bye"), .close] }
            badCommands += 1
            if badCommands >= 5 { return [.reply("421 4.7.1 \(limits.hostname) Closing connection"), .close] }
            return [.reply("503 5.7.1 Access denied")]
        }
        switch verb {
        case "EHLO", "HELO":
            guard !argument.isEmpty else { return bad("501 5.5.4 Syntax: \(verb) hostname") }
            clientName = String(argument)
            resetTransaction()
            if verb == "HELO" { return [.reply("250 \(limits.hostname)")] }
            return [.reply(multiline(250, [limits.hostname, "PIPELINING", "SIZE \(limits.maxMessageSize)", "8BITMIME", "ENHANCEDSTATUSCODES"]))]
        case "MAIL":
            guard clientName != nil else { return bad("503 5.5.1 Error: send HELO/EHLO first") }
            guard sender == nil else { return bad("503 5.5.1 Error: nested MAIL command") }
            guard let (path, params) = ServerSession.path(argument, keyword: "FROM:") else {
                return bad("501 5.5.4 Syntax: MAIL FROM:<address>")
            }
            var eight = false
            for p in params {
                let kv = p.split(separator: "=", maxSplits: 1)
                switch kv[0].uppercased() {
                case "SIZE":
                    guard kv.count == 2, let n = Int(kv[1]) else { return bad("501 5.5.4 Bad SIZE parameter") }
                    if n > limits.maxMessageSize {
                        return [.reply("552 5.3.4 Message size exceeds fixed limit of \(limits.maxMessageSize) bytes")]
                    }
                case "BODY":
                    guard kv.count == 2 else { return bad("501 5.5.4 Bad BODY parameter") }
                    switch kv[1].uppercased() {
                    case "8BITMIME": eight = true
                    case "7BIT": eight = false
                    default: return bad("501 5.5.4 Unknown BODY type")
                    }
                default:
                    return bad("555 5.5.4 Unsupported parameter \(kv[0])")
                }
            }
            sender = path
            eightBit = eight
            return [.reply("250 2.1.0 Ok")]
        case "RCPT":
            guard sender != nil else { return bad("503 5.5.1 Error: need MAIL command") }
            guard let (path, params) = ServerSession.path(argument, keyword: "TO:"), !path.isEmpty else {
                return bad("501 5.5.4 Syntax: RCPT TO:<address>")
            }
            guard params.isEmpty else { return bad("555 5.5.4 Unsupported parameter \(params[0])") }
            guard recipients.count < limits.maxRecipients else { return [.reply(limits.tooManyReply)] }
            if let refusal = limits.recipientPolicy?(sender ?? "", path) { return [.reply(refusal)] }
            recipients.append(path)
            return [.reply("250 2.1.5 Ok")]
        case "DATA":
            guard sender != nil else { return bad("503 5.5.1 Error: need MAIL command") }
            guard !recipients.isEmpty else { return bad("554 5.5.1 Error: no valid recipients") }
            guard argument.isEmpty else { return bad("501 5.5.4 Syntax: DATA") }
            inData = true
            body = []
            bodySize = 0
            sawLostLine = false
            return [.reply("354 End data with <CR><LF>.<CR><LF>")]
        case "RSET":
            resetTransaction()
            return [.reply("250 2.0.0 Ok")]
        case "NOOP":
            return [.reply("250 2.0.0 Ok")]
        case "QUIT":
            return [.reply("221 2.0.0 Bye"), .close]
        case "VRFY":
            return [.reply("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery")]
        case "HELP":
            return [.reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY")]
        case "EXPN", "STARTTLS", "BDAT", "AUTH", "ETRN", "TURN":
            return bad("502 5.5.1 Error: command not implemented")
        default:
            return bad("500 5.5.2 Error: command not recognized")
        }
    }

    private mutating func dataLine(_ line: SMTPLine) -> [Action] {
        let count = line.bytes.readableBytes
        if !line.overlong, count == 1, line.bytes.getInteger(at: line.bytes.readerIndex, as: UInt8.self) == 0x2E {
            inData = false
            defer { resetTransaction() }
            if bodySize > limits.maxMessageSize {
                return [.reply("552 5.3.4 Message size exceeds fixed limit of \(limits.maxMessageSize) bytes")]
            }
            if sawLostLine {
                return [.reply("554 5.6.0 Message has a line longer than \(ServerSession.decoderLimit) bytes; it was not queued")]
            }
            return [.commit(IncomingMessage(sender: sender ?? "", recipients: recipients, eightBit: eightBit,
                                            clientName: clientName ?? "", body: body))]
        }
        if line.overlong, line.wireLength > ServerSession.decoderLimit { sawLostLine = true; return [] }
        var start = line.bytes.readerIndex
        var n = count
        // Dot-unstuffing (RFC 5321 §4.5.2).
        if n > 0, line.bytes.getInteger(at: start, as: UInt8.self) == 0x2E { start += 1; n -= 1 }
        // A line past RFC 5322's 998 characters is split, as Postfix does, rather than refused:
        // senders that write them exist, and the next hop may refuse what we pass on unsplit.
        let piece = limits.maxTextLine - 2
        bodySize += n + 2 * max(1, (n + piece - 1) / piece)
        if bodySize <= limits.maxMessageSize {
            line.bytes.withUnsafeReadableBytes { raw in
                var rest = raw[(start - line.bytes.readerIndex)...]
                repeat {
                    body.append(contentsOf: rest.prefix(piece))
                    body.append(0x0D)
                    body.append(0x0A)
                    rest = rest.dropFirst(piece)
                } while !rest.isEmpty
            }
        }
        return []
    }

    private mutating func resetTransaction() {
        sender = nil
        recipients = []
        eightBit = false
        body = []
        bodySize = 0
    }

    /// A refusal that counts towards closing a connection that sends nothing but garbage.
    private mutating func bad(_ reply: String) -> [Action] {
        badCommands += 1
        if badCommands >= 20 {
            return [.reply(reply), .reply("421 4.7.0 \(limits.hostname) Error: too many errors"), .close]
        }
        return [.reply(reply)]
    }

    private func multiline(_ code: Int, _ lines: [String]) -> String {
        lines.enumerated().map { i, l in "\(code)\(i == lines.count - 1 ? " " : "-")\(l)" }.joined(separator: "\r\n")
    }

    /// `FROM:<a@b> SIZE=10` → ("a@b", ["SIZE=10"]). Accepts a space after the colon, as many clients
    /// send it; source routes (`<@x,@y:a@b>`) are stripped as RFC 5321 §C allows, so they route
    /// nothing. A quoted local part (`"john smith"@b`, `"a>b"@b`) is kept as written, quotes and
    /// all: its `>`, `@` and spaces are inside the quotes, and the domain is what follows the last
    /// `@` outside them. `%` and `!` in a local part are just characters: the relay routes by the
    /// domain only, and every address goes to the route's next hop unchanged.
    static func path(_ argument: Substring, keyword: String) -> (String, [Substring])? {
        guard argument.uppercased().hasPrefix(keyword) else { return nil }
        let rest = argument.dropFirst(keyword.count).drop(while: { $0 == " " })
        guard rest.first == "<" else { return nil }
        let open = rest.index(after: rest.startIndex)
        var i = open
        var quoted = false
        var close: Substring.Index?
        while i < rest.endIndex {
            let c = rest[i]
            if quoted {
                if c == "\\" {
                    i = rest.index(after: i)
                    guard i < rest.endIndex else { return nil }
                } else if c == "\"" {
                    quoted = false
                }
            } else if c == "\"" {
                quoted = true
            } else if c == ">" {
                close = i
                break
            } else if c == " " || c == "<" {
                return nil
            }
            i = rest.index(after: i)
        }
        guard let close else { return nil }
        var address = rest[open..<close]
        if address.first == "@" {
            // A source route has no quotes: it ends at the first colon.
            guard let colon = address.firstIndex(of: ":") else { return nil }
            address = address[address.index(after: colon)...]
        }
        guard !address.contains("\u{0}") else { return nil }
        let params = rest[rest.index(after: close)...].split(separator: " ")
        return (String(address), params)
    }
}

extension ServerSession.Limits {
    /// The relay's own listener's limits, from its configuration.
    package init(config: RelayConfig) {
        self.init(hostname: config.hostname, maxMessageSize: config.maxMessageSize, maxRecipients: config.maxRecipients,
                  maxCommandLine: config.maxCommandLine, maxTextLine: config.maxTextLine)
    }
}

/// Decides one RCPT for a receiving peer, given the sender and the recipient: a reply line to
/// refuse it, or nil to accept it. (The recipient limit is the session's own, not the policy's.)
public typealias RecipientPolicy = @Sendable (_ sender: String, _ recipient: String) -> String?

/// A message as received, before it is queued.
package struct IncomingMessage: Equatable, Sendable {
    package var sender: String
    package var recipients: [String]
    package var eightBit: Bool
    package var clientName: String
    package var body: [UInt8]
}
