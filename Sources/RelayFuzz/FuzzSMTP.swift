import MailRelay
import NIOCore
import NIOEmbedded
import RelayCore

/// The SMTP targets run the relay's own line reader (the NIO decoder, fed in chunks whose sizes
/// come from the input, so lines split across reads are covered) and then its session or its
/// reply assembler.
enum FuzzSMTP {
    static func server(_ input: UnsafeRawBufferPointer) -> Int {
        var accepted = 0
        var session = ServerSession(limits: ServerSession.Limits(config: RelayConfig()), refused: input.first.map { $0 & 1 == 1 } ?? false)
        decodeLines(input, limit: max(RelayConfig().maxCommandLine, ServerSession.decoderLimit)) { line in
            for action in session.receive(line) {
                switch action {
                case .reply(let text): checkReply(text); if text.hasPrefix("2") || text.hasPrefix("3") { accepted += 1 }
                case .commit: accepted += 1
                case .close: break
                }
            }
        }
        return accepted
    }

    static func reply(_ input: UnsafeRawBufferPointer) -> Int {
        var replies = 0
        var assembler = ReplyAssembler()
        decodeLines(input, limit: 4096) { line in
            let step = line.bytes.withUnsafeReadableBytes { assembler.take($0, overlong: line.overlong) }
            if case .malformed = step { assembler = ReplyAssembler() }
            if case .reply(let r) = step {
                precondition((200...599).contains(r.reply.code), "reply code \(r.reply.code) accepted")
                precondition(!r.lines.isEmpty && r.lines.count <= ReplyAssembler.maxLines, "reply of \(r.lines.count) lines")
                replies += 1
            }
        }
        return replies
    }

    /// A reply the relay sends: CRLF-separated lines of `ddd[ -]text` with no other CR, LF or
    /// control character, whatever the client put in its commands.
    static func checkReply(_ text: String) {
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            let b = Array(line.utf8)
            precondition(b.count >= 4 && b[0...2].allSatisfy { $0 &- 0x30 < 10 }, "not a reply line: \(text.debugDescription)")
            precondition(b[3] == (i == lines.count - 1 ? 0x20 : 0x2D), "bad continuation: \(text.debugDescription)")
            precondition(!b.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }, "control character in a reply: \(text.debugDescription)")
        }
    }

    /// Feeds the input to ``LineDecoder`` in an embedded channel, in chunks of 1–256 bytes chosen
    /// by the input's own bytes.
    static func decodeLines(_ input: UnsafeRawBufferPointer, limit: Int, _ each: (SMTPLine) -> Void) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(limit: limit)))
        var i = 0
        while i < input.count {
            let n = min(input.count - i, Int(input[i]) + 1)
            let chunk = channel.allocator.buffer(bytes: UnsafeRawBufferPointer(rebasing: input[i..<(i + n)]))
            try? channel.writeInbound(chunk)
            while let line = try? channel.readInbound(as: SMTPLine.self) { each(line) }
            i += n
        }
    }
}
