import Foundation
import RelayCore

/// Builds delivery status notifications (RFC 3464 `multipart/report`, report-type
/// delivery-status): a human part, one `message/delivery-status` block per failed recipient that
/// quotes that recipient's own reply (rule R5), and the original headers.
struct DSNBuilder {
    struct Failure: Sendable {
        var recipient: String
        /// The reply that failed it, nil when none came (a connection that never opened).
        var reply: SMTPReply?
        /// Why, in words, when there is no reply to quote.
        var reason: String
        var remoteMTA: String?
        /// True for a recipient whose retries ran out (Status 4.x.x, Action failed).
        var expired: Bool
    }

    var hostname: String

    /// The DSN's `Diagnostic-Code` value for a failure: also what the `ndr` event records.
    static func diagnostic(_ f: Failure) -> String {
        if let r = f.reply { return "smtp; \(r)" }
        return "X-mailrelayd; \(f.reason)"
    }

    static func status(_ f: Failure) -> String {
        if let e = f.reply?.enhanced, !f.expired || e.klass == 4 { return e.description }
        if f.expired { return "4.4.7" }
        return f.reply?.replyClass == .transient ? "4.0.0" : "5.0.0"
    }

    func build(id: String, original: QueuedMessage, originalBody: [UInt8], failures: [Failure], now: Timestamp) -> [UInt8] {
        let date = now.rfc5322
        let boundary = "\(id)/\(hostname)"
        var t = ""
        t += "From: Mail Delivery System <MAILER-DAEMON@\(hostname)>\r\n"
        t += "To: <\(original.sender)>\r\n"
        t += "Subject: Undelivered Mail Returned to Sender\r\n"
        t += "Date: \(date)\r\n"
        t += "Message-ID: <\(id)@\(hostname)>\r\n"
        t += "Auto-Submitted: auto-replied\r\n"
        t += "MIME-Version: 1.0\r\n"
        t += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"\(boundary)\"\r\n"
        t += "\r\n"
        t += "This is a MIME-encapsulated message.\r\n\r\n"
        t += "--\(boundary)\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        t += "This is the mail relay at \(hostname).\r\n\r\n"
        t += "Your message (queue id \(original.id)) could not be delivered to the\r\n"
        t += "recipient\(failures.count == 1 ? "" : "s") below. Each line gives the reason the receiving server sent.\r\n\r\n"
        for f in failures {
            let why = f.reply.map { "\($0)" } ?? f.reason
            t += DSNBuilder.fold("<\(f.recipient)>\(f.expired ? " (gave up after retrying)" : ""): \(why)") + "\r\n"
        }
        t += "\r\n--\(boundary)\r\nContent-Type: message/delivery-status\r\n\r\n"
        t += "Reporting-MTA: dns; \(hostname)\r\n"
        t += "X-Mailrelayd-Queue-ID: \(original.id)\r\n"
        t += "Arrival-Date: \(Timestamp(seconds: original.received).rfc5322)\r\n"
        for f in failures {
            t += "\r\n"
            t += "Final-Recipient: rfc822; \(f.recipient)\r\n"
            t += "Action: failed\r\n"
            t += "Status: \(DSNBuilder.status(f))\r\n"
            if let mta = f.remoteMTA { t += "Remote-MTA: dns; \(mta)\r\n" }
            t += "Diagnostic-Code: \(DSNBuilder.fold(DSNBuilder.diagnostic(f)))\r\n"
            t += "Last-Attempt-Date: \(date)\r\n"
        }
        t += "\r\n--\(boundary)\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        var bytes = Array(t.utf8)
        bytes += DSNBuilder.headers(of: originalBody)
        bytes += Array("\r\n--\(boundary)--\r\n".utf8)
        return bytes
    }

    /// The header section of a message (up to the first empty line), ending in CRLF.
    static func headers(of body: [UInt8]) -> [UInt8] {
        var i = 0
        while i + 1 < body.count {
            if body[i] == 0x0D, body[i + 1] == 0x0A, i + 3 < body.count, body[i + 2] == 0x0D, body[i + 3] == 0x0A {
                return Array(body[..<(i + 2)])
            }
            i += 1
        }
        return body.isEmpty ? [] : body + (body.suffix(2) == [0x0D, 0x0A] ? [] : [0x0D, 0x0A])
    }

    /// Keeps a long diagnostic (in a header or the text part) inside RFC 5322's 998-octet line limit by folding it at spaces
    /// (§2.2.3: a reader unfolds by removing the CRLF), so the whole reply is still quoted (R5).
    /// A run of 900 octets without a space is broken where it stands.
    /// A peer's reply text is quoted here: its control characters (a bare CR, ESC, DEL, C1) become
    /// "?" so they can neither end a header line nor reach the terminal of whoever reads the DSN.
    static func fold(_ s: String) -> String {
        var lines: [Substring] = []
        var rest = Substring(printable(s))
        while rest.utf8.count > 900 {
            let window = rest.utf8.prefix(900)
            let cut = window.lastIndex(of: 0x20).flatMap { $0 > rest.startIndex ? $0 : nil } ?? window.endIndex
            lines.append(rest[..<cut])
            rest = rest[cut...]
            if rest.first != " " { rest = " " + rest }
        }
        lines.append(rest)
        return lines.joined(separator: "\r\n")
    }

    static func printable(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: \.isTerminalControl) else { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.map { $0.isTerminalControl ? "?" : $0 }))
    }
}
