import NIOCore
import RelayCore

/// One message's pending recipients for one route, in one delivery attempt.
struct DeliveryJob: Sendable {
    var messageID: String
    var attempt: Int
    var sender: String
    var size: Int
    var eightBit: Bool
    var received: Double
    /// (position in the message, address), in the message's order.
    var recipients: [(position: Int, address: String)]
    var route: Route
    /// The message text, dot-stuffed and ending in ".\r\n", ready to write after a 354.
    var data: ByteBuffer
}

/// What an attempt decided for one recipient.
struct RecipientResult: Sendable {
    var position: Int
    var address: String
    var status: Outcome.Status
    var reply: SMTPReply?
    var reason: String
    var remoteMTA: String?

    /// What the spool keeps as the recipient's last reply ("code enhanced text", quoted in a DSN).
    var lastReply: String { reply.map { "\($0)" } ?? reason }
}

/// The message text as it goes on the wire: lines starting with "." get another (RFC 5321
/// §4.5.2), a missing final CRLF is added, and the end-of-data line follows.
enum WireData {
    static func stuffed(_ body: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: body.count + body.count / 64 + 8)
        var atLineStart = true
        var runStart = 0
        for (i, c) in body.enumerated() {
            if atLineStart, c == 0x2E {
                out.writeBytes(body[runStart..<i])
                out.writeInteger(UInt8(0x2E))
                runStart = i
            }
            atLineStart = c == 0x0A
        }
        out.writeBytes(body[runStart...])
        if !body.isEmpty, body.last != 0x0A { out.writeStaticString("\r\n") }
        out.writeStaticString(".\r\n")
        return out
    }
}
