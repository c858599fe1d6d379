#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RelaySockets

/// A submitting SMTP client over a plain blocking socket, so its caller controls every byte
/// (pipelining, garbage, hanging up mid-DATA) and reads every reply: the tests', the benchmark's.
public final class SubmissionClient {
    let socket: LineSocket

    public init(port: Int) throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw SubmissionError(description: "connect to 127.0.0.1:\(port): \(String(cString: strerror(e)))")
        }
        socket = LineSocket(fd: fd)
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) { socket.send(bytes) }

    /// One reply (all its lines), or nil when the connection closed or went quiet for 30 s.
    public func reply() -> String? {
        var lines: [String] = []
        while true {
            guard let line = readLine() else { return lines.isEmpty ? nil : lines.joined(separator: "\n") }
            lines.append(line)
            let b = Array(line.utf8)
            if b.count < 4 || b[3] != UInt8(ascii: "-") { return lines.joined(separator: "\n") }
        }
    }

    public func replies(_ n: Int) -> [String] { (0..<n).compactMap { _ in reply() } }

    private func readLine() -> String? {
        socket.readLine().map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }
    }

    /// Greeting, EHLO, then MAIL, every RCPT and DATA in one write (RFC 2920), then the text.
    /// Returns the final reply ("250 2.0.0 Ok: queued as ...").
    @discardableResult
    public func submit(from: String, to rcpts: [String], body: String? = nil) -> (rcptReplies: [String], final: String?) {
        _ = reply()
        send("EHLO client.test\r\n")
        _ = reply()
        var group = "MAIL FROM:<\(from)>\r\n"
        for r in rcpts { group += "RCPT TO:<\(r)>\r\n" }
        group += "DATA\r\n"
        send(group)
        _ = reply()
        let rcptReplies = replies(rcpts.count)
        let data = reply()
        guard data?.hasPrefix("354") == true else { return (rcptReplies, data) }
        let text = body ?? "From: <\(from)>\r\nTo: undisclosed-recipients:;\r\nSubject: test\r\nMessage-ID: <\(UUID().uuidString)@client.test>\r\n\r\nHello.\r\n"
        send(text + ".\r\n")
        let final = reply()
        send("QUIT\r\n")
        _ = reply()
        return (rcptReplies, final)
    }
}

public struct SubmissionError: Error, CustomStringConvertible {
    public var description: String
}
