import RelayCore

/// Puts a next hop's reply lines together into replies (RFC 5321 §4.2.1), refusing what is not
/// one: a line that is not `ddd[ -]text`, a code outside 2xx–5xx, a continuation that changes the
/// code, and a multi-line reply without end. A peer sending `250-` forever would otherwise grow
/// the relay's memory until the reply timeout; past ``maxLines`` or ``maxBytes`` it is out of step.
/// Pure, so the connection and the fuzzer read replies the same way.
package struct ReplyAssembler {
    package static let maxLines = 256
    package static let maxBytes = 64 * 1024

    package enum Step {
        /// More lines of this reply are to come.
        case more
        case reply(PeerReply)
        /// Not a reply: the peer is out of step and the connection is done.
        case malformed(String)
    }

    private var lines: [String] = []
    private var bytes = 0

    package init() {}

    package mutating func take(_ b: UnsafeRawBufferPointer, overlong: Bool) -> Step {
        guard !overlong, b.count >= 3, (0x32...0x35).contains(b[0]), b[1] &- 0x30 < 10, b[2] &- 0x30 < 10,
              b.count == 3 || b[3] == 0x20 || b[3] == 0x2D else {
            return .malformed("not an SMTP reply: \(Self.shown(b))")
        }
        if let first = lines.first?.utf8, !first.starts(with: b.prefix(3)) {
            return .malformed("a multi-line reply changed its code: \(Self.shown(b))")
        }
        bytes += b.count
        if lines.count >= Self.maxLines || bytes > Self.maxBytes {
            return .malformed("a multi-line reply longer than \(Self.maxLines) lines or \(Self.maxBytes / 1024) KiB")
        }
        lines.append(String(decoding: b, as: UTF8.self))
        if b.count > 3, b[3] == 0x2D { return .more }
        let reply = PeerReply(reply: PeerReply.join(lines), lines: lines.map { String($0.dropFirst(4)) })
        lines = []
        bytes = 0
        return .reply(reply)
    }

    /// The start of a bad line, for the log (the log's encoder escapes what it must).
    private static func shown(_ b: UnsafeRawBufferPointer) -> String {
        String(decoding: b.prefix(80), as: UTF8.self)
    }
}
