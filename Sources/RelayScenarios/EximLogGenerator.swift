import RelayCore

/// An Exim 4.9x main log with a busy relay's mix: connections and their ends, rejected RCPTs,
/// queue runs, messages of 1 to 60 recipients (some deferred by a peer's 451 and delivered later,
/// some failed by its 552 at RCPT or as unknown users, then their bounces), local deliveries.
public struct EximLogGenerator: SeededLines {
    public var state: UInt64
    /// The time of the next line (seconds since 1970).
    public var now = 1_796_000_000.0
    public var written = 0
    public var out: [UInt8] = []
    var serial = 0
    var pending: [(Int, String, [String])] = []

    public init(seed: UInt64) { state = seed }


    static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    mutating func id() -> String {
        serial += 1
        func b62(_ v: Int, _ n: Int) -> String {
            var v = v, s = ""
            for _ in 0..<n { s = String(Self.base62[v % 62]) + s; v /= 62 }
            return s
        }
        return "\(b62(Int(now), 6))-\(b62(serial, 6))-\(b62(below(3844), 2))"
    }

    mutating func line(_ text: String) {
        now += 0.004
        let t = Timestamp(seconds: now)
        let s = t.rfc3339
        out.append(contentsOf: "\(s.prefix(10)) \(s.dropFirst(11).prefix(8)) \(text)\n".utf8)
        written += 1
    }

    public mutating func noise() {
        switch below(12) {
        case 0: line("SMTP connection from [198.51.100.\(below(250))]:\(40000 + below(20000)) (TCP/IP connection count = \(1 + below(9)))")
        case 1: line("H=(spam\(below(99)).example.biz) [198.51.100.\(below(250))] F=<spam@example.biz> rejected RCPT <x\(below(999))@example.com>: relay not permitted")
        case 2: line("Start queue run: pid=\(1000 + below(9000))")
        case 3: line("End queue run: pid=\(1000 + below(9000))")
        case 4: line("SMTP connection from client\(below(50)).example.org [192.0.2.\(below(250))] closed by QUIT")
        default: break
        }
    }

    public mutating func message() {
        let mid = id()
        let n = below(20) == 0 ? 60 : 1 + below(4)
        let domain = "example\(below(200)).net"
        let rcpts = (0..<n).map { "user\($0)_\(below(50))@\(domain)" }
        let sender = below(30) == 0 ? "<>" : "sender\(below(2000))@example\(below(20)).org"
        let forList = below(2) == 0 ? " for " + rcpts.joined(separator: " ") : ""
        line("\(mid) <= \(sender) H=client\(below(50)).example.org [192.0.2.\(below(250))] P=esmtps X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no S=\(2000 + below(90000)) id=\(next())@example.org\(forList)")
        let host = "mx.\(domain) [203.0.113.\(below(250))]"
        let kind = n == 60 ? below(3) : 3   // 0: 552 peer, 1: 451 greylist peer, 2: no limit
        var failed = false
        var deferred: [String] = []
        var first = true
        for (i, r) in rcpts.enumerated() {
            if kind == 0, i >= 20 {
                line("\(mid) ** \(r) R=dnslookup T=remote_smtp H=\(host): SMTP error from remote mail server after pipelined RCPT TO:<\(r)>: 552 5.5.3 Too many recipients")
                failed = true
            } else if kind == 1 {
                line("\(mid) == \(r) R=dnslookup T=remote_smtp defer (-44) H=\(host): SMTP error from remote mail server after RCPT TO:<\(r)>: 451 4.7.1 Greylisted, try again later")
                deferred.append(r)
            } else if below(200) == 0 {
                line("\(mid) ** \(r) R=dnslookup T=remote_smtp H=\(host): SMTP error from remote mail server after RCPT TO:<\(r)>: 550 5.1.1 <\(r)>: Recipient address rejected: User unknown")
                failed = true
            } else {
                line("\(mid) \(first ? "=>" : "->") \(r) R=dnslookup T=remote_smtp H=\(host) X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C=\"250 2.0.0 Ok: queued as \(String(next(), radix: 16, uppercase: true))\"")
                first = false
            }
        }
        if failed, sender != "<>" {
            let bounce = id()
            line("\(bounce) <= <> R=\(mid) U=Debian-exim P=local S=\(3000 + below(2000)) T=\"Mail delivery failed: returning message to sender\"")
            line("\(bounce) => \(sender) R=dnslookup T=remote_smtp H=mx.example.org [192.0.2.9] C=\"250 2.0.0 Ok\"")
            line("\(bounce) Completed")
        }
        if deferred.isEmpty {
            line("\(mid) Completed")
        } else {
            pending.append((written + 2000 + below(4000), mid, deferred))
        }
    }

    public mutating func retryDue() {
        while let first = pending.first, first.0 <= written {
            pending.removeFirst()
            let (_, mid, rcpts) = first
            for (i, r) in rcpts.enumerated() {
                line("\(mid) \(i == 0 ? "=>" : "->") \(r) R=dnslookup T=remote_smtp H=mx.example.net [203.0.113.7] C=\"250 2.0.0 Ok\"")
            }
            line("\(mid) Completed")
        }
    }
}
