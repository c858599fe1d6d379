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

    /// The size of a plain (not gzip) regular file, which can be read in parts at once; nil for
    /// stdin, a pipe or a gzip file, which are read as a stream.
    public var splittableSize: Int? {
        guard path != "-" else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        var magic: (UInt8, UInt8) = (0, 0)
        if pread(fd, &magic, 2, 0) == 2, magic == (0x1F, 0x8B) { return nil }
        return Int(st.st_size)
    }

    /// Where `count` parts of a plain file start and end, each boundary moved to just after a
    /// newline, so every part holds whole lines (a part can be empty when a line is longer than
    /// a part). Reads a few bytes at each boundary, nothing more.
    public func lineAlignedParts(_ count: Int, size: Int) -> [Range<Int>] {
        var starts = [0]
        let probe = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { probe.deallocate() }
        for k in 1..<max(1, count) {
            var at = max(size * k / count, starts.last!)
            var found = false
            while at < size, !found {
                let n = pread(fd, probe, 1 << 16, off_t(at))
                guard n > 0 else { break }
                if let hit = memchr(probe, 0x0A, n) {
                    at += UnsafeRawPointer(hit) - UnsafeRawPointer(probe) + 1
                    found = true
                } else {
                    at += n
                }
            }
            starts.append(found ? at : size)
        }
        starts.append(size)
        return (0..<max(1, count)).map { starts[$0]..<starts[$0 + 1] }
    }

    /// The file's device and inode (nil for a stream).
    public var fileID: (dev: UInt64, ino: UInt64)? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Where the file's last whole line ends (after its newline), searching back from `size`
    /// at most 64 KB; 0 when no newline is that near the end.
    public func endOfLastLine(size: Int) -> Int {
        guard let bytes = bytes(endingAt: size), let last = bytes.lastIndex(of: 0x0A) else { return 0 }
        return size - bytes.count + last + 1
    }

    /// The line that ends just before `offset` (a part's start), without its newline; nil at the
    /// file's start or when that line is longer than 64 KB.
    public func line(endingBefore offset: Int) -> [UInt8]? {
        guard let bytes = bytes(endingAt: offset) else { return nil }
        var end = bytes.count
        if bytes[end - 1] == 0x0A { end -= 1 }
        guard let start = bytes[..<end].lastIndex(of: 0x0A).map({ $0 + 1 }) ?? (offset == bytes.count ? 0 : nil) else { return nil }
        return Array(bytes[start..<end])
    }

    /// The up to 64 KB of the file before `offset`; nil when there are none or they cannot be read.
    private func bytes(endingAt offset: Int) -> [UInt8]? {
        let window = min(offset, 1 << 16)
        guard window > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: window)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, window, off_t(offset - window)) }
        return n == window ? bytes : nil
    }

    /// Reads the bytes of `range` (a part from ``lineAlignedParts(_:size:)``) in chunks. Safe to
    /// call from several threads at once: it reads at offsets and moves no shared position.
    public func forEachChunk(in range: Range<Int>, size: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws(OpenError) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var at = range.lowerBound
        while at < range.upperBound {
            let n = pread(fd, buffer, min(size, range.upperBound - at), off_t(at))
            if n < 0, errno == EINTR { continue }
            if n < 0 { throw OpenError(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { throw OpenError(path: path, reason: "file shrank while it was read") }
            body(UnsafeRawBufferPointer(start: buffer, count: n))
            at += n
        }
    }

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
