#if canImport(Glibc)
import Glibc
#endif

/// Connecting to a Unix stream socket by path: every client of the control socket (relaywatch,
/// the tests, the benchmark) and the relay's own "is someone serving this socket?" check.
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
