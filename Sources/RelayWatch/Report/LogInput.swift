import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// A log file, or stdin, read as bytes: plain or gzip-compressed, told apart by the gzip magic
/// bytes, so `report log.2.gz log.1 -` needs no flags. Plain input is read straight into the
/// caller's buffer (no extra copy: the report reads at several hundred MB/s); gzip goes through
/// zlib's inflate, member after member (`cat a.gz b.gz` is a valid gzip stream).
public final class LogInput {
    public struct OpenError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public let path: String
    private let fd: Int32

    /// Opens `path` ("-" for stdin). Fails with the system's reason (missing, a directory, no
    /// permission) so the user knows what to fix.
    public init(path: String) throws(OpenError) {
        self.path = path
        let fd = path == "-" ? dup(0) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OpenError(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw OpenError(path: path, reason: "is a directory")
        }
        self.fd = fd
    }

    /// Reads a descriptor the caller opened (a child's stdout: `journalctl -o json`); it is
    /// duplicated, so the caller's stays its own.
    public init(fileDescriptor: Int32, name: String) {
        path = name
        fd = dup(fileDescriptor)
        // The report reads to the end: a pipe left non-blocking would end it early.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    }

    deinit { close(fd) }

    /// Reads the whole input in chunks, handing each to `body`. Throws on a read error (an I/O error,
    /// a corrupt or truncated gzip stream) after handing on everything read before it.
    public func forEachChunk(size: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws(OpenError) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var n = try readSome(buffer, size)
        guard n > 0 else { return }
        if n >= 2, buffer.load(fromByteOffset: 0, as: UInt8.self) == 0x1F, buffer.load(fromByteOffset: 1, as: UInt8.self) == 0x8B {
            try inflateAll(first: n, buffer: buffer, size: size, body)
            return
        }
        while n > 0 {
            body(UnsafeRawBufferPointer(start: buffer, count: n))
            n = try readSome(buffer, size)
        }
    }

    private func readSome(_ buffer: UnsafeMutableRawPointer, _ size: Int) throws(OpenError) -> Int {
        while true {
            let n = read(fd, buffer, size)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw OpenError(path: path, reason: String(cString: strerror(errno)))
        }
    }

    private func inflateAll(first: Int, buffer input: UnsafeMutableRawPointer, size: Int,
                            _ body: (UnsafeRawBufferPointer) -> Void) throws(OpenError) {
        let output = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { output.deallocate() }
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header and trailer (and check its CRC).
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw OpenError(path: path, reason: "cannot start gzip decompression")
        }
        defer { inflateEnd(&stream) }
        var available = first
        var finishedMember = false
        while true {
            stream.next_in = input.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = UInt32(available)
            while stream.avail_in > 0 {
                if finishedMember {
                    // Another gzip member follows (concatenated files): start it afresh.
                    inflateReset(&stream)
                    finishedMember = false
                }
                stream.next_out = output.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = UInt32(size)
                let rc = inflate(&stream, Z_NO_FLUSH)
                let produced = size - Int(stream.avail_out)
                if produced > 0 { body(UnsafeRawBufferPointer(start: output, count: produced)) }
                switch rc {
                case Z_STREAM_END: finishedMember = true
                case Z_OK, Z_BUF_ERROR: break
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "corrupt data"
                    throw OpenError(path: path, reason: "gzip: \(message)")
                }
            }
            available = try readSome(input, size)
            if available == 0 {
                guard finishedMember else { throw OpenError(path: path, reason: "gzip: unexpected end of file (truncated?)") }
                return
            }
        }
    }
}
