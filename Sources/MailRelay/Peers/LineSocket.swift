#if canImport(Glibc)
import Glibc
#endif

/// A connected blocking socket read line by line: what the package's simple clients (SMTP
/// submission, the tests' control client, the demo's traffic) share. Connected by the caller.
public final class LineSocket {
    public let fd: Int32
    private var buffer: [UInt8] = []

    /// Takes ownership of `fd`; reads give up after `timeout` seconds of silence.
    public init(fd: Int32, timeout: Int = 30) {
        self.fd = fd
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

    /// The next line without its LF (a CR before it is the caller's business), or nil at the end
    /// of the stream or after the timeout.
    public func readLine() -> ArraySlice<UInt8>? {
        while true {
            if let lf = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<lf]
                buffer.removeSubrange(...lf)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer += chunk[..<n]
        }
    }
}

/// Connecting to a Unix stream socket by path: the control socket's clients (tests, benchmark) and
/// the relay's own "is someone serving this socket?" check.
public enum UnixSocket {
    /// A connected descriptor, or the errno that socket(2) or connect(2) failed with
    /// (ENAMETOOLONG for a path longer than a socket address holds).
    public static func connect(_ path: String) -> Result<Int32, UnixSocketError> {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return .failure(UnixSocketError(path: path, errno: ENAMETOOLONG)) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(UnixSocketError(path: path, errno: errno)) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            return .failure(UnixSocketError(path: path, errno: e))
        }
        return .success(fd)
    }
}

public struct UnixSocketError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var description: String { "connect \(path): \(String(cString: strerror(errno)))" }
}

/// A TCP port on 127.0.0.1 that nothing listens on now: bound for a moment to get a free one, then
/// closed. For a next hop that refuses connections (the demo's unreachable domain, tests).
public enum LoopbackPort {
    public static func unused() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
