#if canImport(Glibc)
import Glibc
#endif
import RelayCore

/// A connected blocking socket read line by line: what the package's simple clients (SMTP
/// submission, the tests' control client, the demo's traffic) share. Connected by the caller.
/// Lines are cut by RelayCore's ``LineSplitter``, the same reader the log and relaywatch's
/// control client use, so a line has one meaning everywhere and none can grow without bound.
public final class LineSocket {
    public let fd: Int32
    private var splitter: LineSplitter
    private var lines: [[UInt8]] = []
    private var next = 0
    /// The stream sent a line longer than the limit: nothing after it is read.
    public private(set) var overlong = false

    /// Takes ownership of `fd`; reads give up after `timeout` seconds of silence. A line longer
    /// than `maxLineLength` ends the stream (``readLine()`` answers nil from then on).
    public init(fd: Int32, timeout: Int = 30, maxLineLength: Int = 64 << 20) {
        self.fd = fd
        splitter = LineSplitter(maxLineLength: maxLineLength)
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Writes all of it (or as much as the peer takes before it goes away).
    public func send(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            done += n
        }
    }

    /// The next line without its LF (or a CR before it), or nil at the end of the stream, after
    /// the timeout, or once a line was too long.
    public func readLine() -> ArraySlice<UInt8>? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !overlong {
            if next < lines.count {
                defer { next += 1 }
                return lines[next][...]
            }
            lines.removeAll(keepingCapacity: true)
            next = 0
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            chunk.withUnsafeBytes { raw in
                splitter.feed(UnsafeRawBufferPointer(rebasing: raw.prefix(n))) { _, line, tooLong in
                    if tooLong { overlong = true }
                    if !overlong { lines.append(Array(line)) }
                }
            }
            if splitter.discardingOverlongLine { overlong = true }
        }
        return nil
    }
}
