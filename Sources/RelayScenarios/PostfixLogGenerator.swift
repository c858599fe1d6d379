import RelayCore

/// A Postfix 3.x mail log with the mix a busy relay writes: client connections and their
/// disconnects, postscreen and anvil chatter, rejected RCPTs, messages of 1 to 60 recipients
/// delivered by smtp (some deferred by a peer's 452 and sent later, some bounced by its 552, some
/// refused as unknown users, then a bounce notification), local deliveries, TLS lines.
public struct PostfixLogGenerator: SeededLines {
    public var state: UInt64
    /// The time of the next line (seconds since 1970).
    public var now = 1_796_000_000.0
    public var written = 0
    public var out: [UInt8] = []
    var queueSerial: UInt64 = 0x1A2B3C4D5
    var pid = 1000
    /// Deferred recipients waiting for their retry: (due line, queue id, recipients).
    var pending: [(Int, String, [String])] = []

    public init(seed: UInt64) { state = seed }


    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    mutating func line(_ daemon: String, _ text: String) {
        now += 0.004
        out.append(contentsOf: "\(stampNow()) mx1 postfix/\(daemon)[\(pid + below(400))]: \(text)\n".utf8)
        written += 1
    }

    func stampNow() -> String {
        let t = Timestamp(seconds: now)
        let (_, month) = t.yearAndMonth
        let secs = Int(now) % 86_400
        let day = Int(t.rfc3339.dropFirst(8).prefix(2)) ?? 1
        return "\(Self.months[month - 1]) \(day < 10 ? " " : "")\(day) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))"
    }

    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    mutating func qid() -> String {
        queueSerial &+= UInt64(1 + below(7))
        return String(queueSerial, radix: 16, uppercase: true)
    }

    public mutating func noise() {
        switch below(10) {
        case 0: line("anvil", "statistics: max connection rate 3/60s for (smtp:203.0.113.\(below(250))) at Dec  1 10:00:00")
        case 1:
            line("postscreen", "CONNECT from [198.51.100.\(below(250))]:\(40000 + below(20000)) to [192.0.2.1]:25")
            line("postscreen", "PASS OLD [198.51.100.\(below(250))]:\(40000 + below(20000))")
        case 2:
            line("smtpd", "NOQUEUE: reject: RCPT from unknown[198.51.100.\(below(250))]: 554 5.7.1 <x\(below(999))@example.com>: Relay access denied; from=<spam@example.biz> to=<x@example.com> proto=ESMTP helo=<spam>")
        case 3: line("smtpd", "warning: hostname mail\(below(99)).example.biz does not resolve to address 198.51.100.\(below(250))")
        default: break
        }
    }

    public mutating func message() {
        let id = qid()
        let client = "client\(below(50)).example.org[192.0.2.\(below(250))]"
        line("smtpd", "connect from \(client)")
        line("smtpd", "Anonymous TLS connection established from \(client): TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)")
        line("smtpd", "\(id): client=\(client), sasl_method=PLAIN, sasl_username=user\(below(500))")
        line("cleanup", "\(id): message-id=<\(next())@example.org>")
        if below(2) == 0 {
            // Another program in the same log (a milter): pflogsumm and relaywatch both pass it by.
            out.append(contentsOf: "\(stampNow()) mx1 opendkim[812]: \(id): DKIM-Signature field added (s=mail, d=example.org)\n".utf8)
            written += 1
        }
        let n = below(20) == 0 ? 60 : 1 + below(4)
        let sender = below(30) == 0 ? "" : "sender\(below(2000))@example\(below(20)).org"
        line("qmgr", "\(id): from=<\(sender)>, size=\(2000 + below(90000)), nrcpt=\(n) (queue active)")
        line("smtpd", "disconnect from \(client) ehlo=2 starttls=1 auth=1 mail=1 rcpt=\(n) data=1 quit=1 commands=\(n + 7)")
        // Recipients and senders from pools of the size a busy relay sees (a summariser's cost
        // grows with the distinct addresses, so a log of all-new ones would flatter us).
        let domain = "example\(below(200)).net"
        let relay = "mx.\(domain)[203.0.113.\(below(250))]:25"
        let limitKind = n == 60 ? below(3) : 3  // 0: 552 peer, 1: 452 peer, 2: no limit
        if below(2) == 0 { line("smtp", "Trusted TLS connection established to \(relay): TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256") }
        var deferred: [String] = []
        var bounced = false
        for i in 0..<n {
            // Distinct within the message (Postfix drops duplicate recipients), from a bounded pool.
            let rcpt = "user\(i)_\(below(50))@\(domain)"
            let tls = ", tls=TLSv1.3:TLS_AES_256_GCM_SHA384:256"
            let head = "\(id): to=<\(rcpt)>, relay=\(relay), delay=0.\(below(99)), delays=0.1/0/0.\(below(9))/0.\(below(9))"
            if limitKind == 0, i % 50 >= 20, i < 50 {
                line("smtp", "\(head), dsn=5.5.3, status=bounced (host \(relay.dropLast(3)) said: 552 5.5.3 Too many recipients (in reply to RCPT TO command))")
                bounced = true
            } else if limitKind == 1, i % 50 >= 20, i < 50 {
                line("smtp", "\(head), dsn=4.5.3, status=deferred (host \(relay.dropLast(3)) said: 452 4.5.3 Too many recipients (in reply to RCPT TO command))")
                deferred.append(rcpt)
            } else if below(200) == 0 {
                line("smtp", "\(head), dsn=5.1.1, status=bounced (host \(relay.dropLast(3)) said: 550 5.1.1 <\(rcpt)>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))")
                bounced = true
            } else if below(50) == 0 {
                line("local", "\(id): to=<root@mx1.example.org>, orig_to=<postmaster@\(domain)>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)")
            } else {
                line("smtp", "\(head)\(below(2) == 0 ? tls : ""), dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as \(String(next(), radix: 16, uppercase: true)))")
            }
        }
        if bounced {
            let ndr = qid()
            line("cleanup", "\(ndr): message-id=<\(next()).\(ndr)@mx1.example.org>")
            line("bounce", "\(id): sender non-delivery notification: \(ndr)")
            line("qmgr", "\(ndr): from=<>, size=3000, nrcpt=1 (queue active)")
            line("smtp", "\(ndr): to=<\(sender.isEmpty ? "postmaster@example.org" : sender)>, relay=mx.example.org[192.0.2.9]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as \(String(next(), radix: 16, uppercase: true)))")
            line("qmgr", "\(ndr): removed")
        }
        if deferred.isEmpty {
            line("qmgr", "\(id): removed")
        } else {
            pending.append((written + 2000 + below(4000), id, deferred))
        }
    }

    /// Deferred recipients come back after their back-off, and go.
    public mutating func retryDue() {
        while let first = pending.first, first.0 <= written {
            pending.removeFirst()
            let (_, id, rcpts) = first
            line("qmgr", "\(id): from=<sender@example.org>, size=5000, nrcpt=\(rcpts.count) (queue active)")
            for r in rcpts {
                line("smtp", "\(id): to=<\(r)>, relay=mx.example.net[203.0.113.7]:25, delay=300, delays=300/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as \(String(next(), radix: 16, uppercase: true)))")
            }
            line("qmgr", "\(id): removed")
        }
    }
}
