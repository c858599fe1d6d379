import Foundation
import RelaySockets

/// A test's raw end of mailrelayd's control socket: blocking, byte-exact, one JSON object per line.
/// Independent of relaywatch's client, so the tests check the wire, not our own reading of it.
public final class ControlConnection: @unchecked Sendable {
    let socket: LineSocket

    public init(_ path: String, timeout: Int = 20) throws {
        socket = LineSocket(fd: try UnixSocket.connect(path).get(), timeout: timeout)
    }

    public func send(_ text: String) { socket.send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) { socket.send(bytes) }

    /// The next line, or nil at end of stream or after the timeout.
    public func line() -> String? { socket.readLine().map { String(decoding: $0, as: UTF8.self) } }

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

extension Dictionary where Key == String, Value == Any {
    /// `error.code` of a failed response.
    public var errorCode: String? { (self["error"] as? [String: Any])?["code"] as? String }
    public var isOK: Bool { self["ok"] as? Bool == true }
}
