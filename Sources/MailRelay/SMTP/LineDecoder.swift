import NIOCore

/// One line of SMTP, without its line ending. `overlong` lines were cut at the decoder's limit and
/// the rest discarded, so a client sending a 1 GB line costs the relay `limit` bytes, not 1 GB.
public struct SMTPLine: Sendable {
    public var bytes: ByteBuffer
    /// Length on the wire including the line ending (what the RFC limits count).
    public var wireLength: Int
    public var overlong: Bool
}

/// Splits the byte stream at LF (accepting a bare LF as well as CRLF, as real clients send both).
public struct LineDecoder: ByteToMessageDecoder {
    public typealias InboundOut = SMTPLine

    let limit: Int
    /// Bytes of an overlong line already thrown away.
    var discarding: Int?

    public init(limit: Int) {
        self.limit = limit
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        if let lf = view.firstIndex(of: 0x0A) {
            let length = lf - view.startIndex + 1
            if let dropped = discarding {
                buffer.moveReaderIndex(forwardBy: length)
                discarding = nil
                context.fireChannelRead(wrapInboundOut(SMTPLine(bytes: ByteBuffer(), wireLength: dropped + length, overlong: true)))
                return .continue
            }
            var line = buffer.readSlice(length: length)!
            var content = length - 1
            if content > 0, line.getInteger(at: line.readerIndex + content - 1, as: UInt8.self) == 0x0D { content -= 1 }
            line = line.getSlice(at: line.readerIndex, length: content)!
            context.fireChannelRead(wrapInboundOut(SMTPLine(bytes: line, wireLength: length, overlong: length > limit)))
            return .continue
        }
        if buffer.readableBytes > limit {
            // No line end within the limit: keep nothing of it.
            discarding = (discarding ?? 0) + buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        }
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A last line without its line end is not a command (and never part of a queued message).
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}
