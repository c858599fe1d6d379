import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// A log file, or stdin, read as bytes: plain or gzip-compressed, told apart by content (zlib's
/// transparent mode), so `report log.2.gz log.1 -` needs no flags.
public final class LogInput {
    public struct OpenError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public let path: String
    private var file: gzFile?

    /// Opens `path` ("-" for stdin). Fails with the system's reason (missing, a directory, no
    /// permission) so the user knows what to fix.
    public init(path: String) throws(OpenError) {
        self.path = path
        let fd: Int32
        if path == "-" {
            fd = dup(0)
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
        }
        guard fd >= 0 else { throw OpenError(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw OpenError(path: path, reason: "is a directory")
        }
        guard let gz = gzdopen(fd, "rb") else {
            close(fd)
            throw OpenError(path: path, reason: "cannot start reading (out of memory)")
        }
        gzbuffer(gz, 1 << 18)
        file = gz
    }

    deinit {
        if let file { gzclose(file) }
    }

    /// Reads the whole input in chunks, handing each to `body`. Throws on a read error (an I/O error,
    /// a corrupt or truncated gzip stream) after handing on everything read before it.
    public func forEachChunk(size: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws(OpenError) {
        guard let file else { return }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = gzread(file, buffer, UInt32(size))
            if n > 0 { body(UnsafeRawBufferPointer(start: buffer, count: Int(n))) }
            if n < 0 || (n == 0 && gzeof(file) == 0) {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw OpenError(path: path, reason: code == Z_ERRNO ? String(cString: strerror(errno)) : message)
            }
            if n == 0 { return }
        }
    }
}
