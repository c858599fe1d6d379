import Foundation

/// A test's raw end of mailrelayd's control socket: blocking, byte-exact, one JSON object per line.
/// Independent of relaywatch's client, so the tests check the wire, not our own reading of it.
public final class ControlConnection: @unchecked Sendable {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(_ path: String, timeout: Int = 20) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw ControlConnectionError(description: "connect \(path): \(String(cString: strerror(e)))", errno: e)
        }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    public func send(_ text: String) { send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            done += n
        }
    }

    /// The next line, or nil at end of stream or after the timeout.
    public func line() -> String? {
        while true {
            if let lf = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<lf]
                buffer.removeSubrange(...lf)
                return String(decoding: line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer += chunk[..<n]
        }
    }

    /// The next line as a JSON object.
    public func object() -> [String: Any]? {
        guard let l = line() else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(l.utf8))) as? [String: Any]
    }

    /// Sends one request line and returns the next line as an object (for connections that are
    /// not subscribed, that is its response).
    public func call(_ json: String) -> [String: Any]? {
        send(json + "\n")
        return object()
    }
}

public struct ControlConnectionError: Error, CustomStringConvertible {
    public var description: String
    public var errno: Int32
}

extension Dictionary where Key == String, Value == Any {
    /// `error.code` of a failed response.
    public var errorCode: String? { (self["error"] as? [String: Any])?["code"] as? String }
    public var isOK: Bool { self["ok"] as? Bool == true }
}
