import RelayCore

/// Everything mailrelayd can be told, with the defaults a smarthost relay on a single host wants.
/// Read from TOML (see README.md for a complete example) and then overridden by command-line flags.
public struct RelayConfig: Sendable {
    /// The name the relay gives in its greeting, in EHLO, in Received: headers and in DSNs.
    public var hostname = "localhost"
    public var listen = HostPort(host: "127.0.0.1", port: 2525)
    /// Clients allowed to submit mail. Anyone else gets 554 at connection: not an open relay.
    public var clientNetworks: [NetworkRange] = [NetworkRange(parsing: "127.0.0.0/8")!, NetworkRange(parsing: "::1")!]
    public var spool = "/var/spool/mailrelayd"
    /// The delivery log; nil puts it at `<spool>/delivery.log`.
    public var log: String?
    /// The log is renamed to `<log>.1` (older ones shifted up to `logKeep`) once it passes this size.
    public var logRotateSize = 100 << 20
    public var logKeep = 10
    /// The control socket; nil puts it at `<spool>/control.sock`.
    public var control: String?
    /// A group whose members may use the control socket too (it is then mode 0660, else 0600).
    public var controlGroup: String?

    // Receiving limits.
    public var maxMessageSize = 25 << 20
    /// Recipients per incoming message. RFC 5321 §4.5.3.1.8: never below 100.
    public var maxRecipients = 1000
    public var maxConnections = 100
    /// The longest command line, CRLF included (RFC 5321 §4.5.3.1.4 asks for at least 512).
    public var maxCommandLine = 2048
    /// The longest line of message text, CRLF included (RFC 5322 §2.1.1: 1000).
    public var maxTextLine = 1000
    public var commandTimeout: Double = 300
    public var dataTimeout: Double = 600

    // Delivering.
    public var defaultRoute = Route(nextHop: HostPort(host: "127.0.0.1", port: 25))
    /// Per recipient domain; a domain matches itself and its subdomains, the longest match wins.
    public var routes: [String: Route] = [:]
    /// Waits after the 1st, 2nd, ... failed attempt; the last one repeats.
    public var backoff: [Double] = [60, 300, 900, 1800, 3600]
    /// A deferred recipient older than this expires: DSN with Action: failed, Status 4.x.x.
    public var queueLifetime: Double = 5 * 86_400
    /// Timeouts talking to a next hop.
    public var connectTimeout: Double = 30
    public var replyTimeout: Double = 300
    /// An unused connection to a next hop is closed after this long.
    public var idleConnectionTime: Double = 5
    /// A next hop that could not be reached (or would not talk) is not tried again for this long:
    /// the jobs queued for it are deferred at once instead of each waiting for a timeout (the way
    /// Postfix's dead-destination cache works).
    public var deadHopTime: Double = 60
    /// A recipient limit a peer showed is trusted this long; after it the relay sends up to the
    /// route's `max_rcpt_per_txn` again once, to relearn a limit the peer may have raised.
    public var peerLimitLifetime: Double = 86_400

    public init() {}

    /// Where the delivery log goes when `log` is not set.
    public var logPath: String { log ?? spool + "/delivery.log" }

    /// Where the control socket goes when `control` is not set.
    public var controlPath: String { control ?? spool + "/control.sock" }

    /// The route a recipient's domain takes: the longest configured domain that is the domain or a
    /// parent of it, else the default.
    public func route(for recipient: String) -> Route {
        guard !routes.isEmpty else { return defaultRoute }
        // The domain follows the last "@": a quoted local part may hold one ("a@b"@c routes by c).
        var domain = Substring(recipient.split(separator: "@", omittingEmptySubsequences: false).last ?? "").lowercased()[...]
        while true {
            if let r = routes[String(domain)] { return r }
            guard let dot = domain.firstIndex(of: ".") else { return defaultRoute }
            domain = domain[domain.index(after: dot)...]
        }
    }
}

/// A next hop and how to talk to it.
public struct Route: Sendable, Hashable {
    public var nextHop: HostPort
    /// Recipients per transaction before any limit is learned (RFC 5321 asks servers for 100).
    public var maxRcptPerTxn = 100
    /// Simultaneous connections to this next hop.
    public var connections = 4
    public var rcpt552: Rcpt552Policy = .classify

    public init(nextHop: HostPort, maxRcptPerTxn: Int = 100, connections: Int = 4, rcpt552: Rcpt552Policy = .classify) {
        self.nextHop = nextHop
        self.maxRcptPerTxn = maxRcptPerTxn
        self.connections = connections
        self.rcpt552 = rcpt552
    }
}

/// What a 552 to RCPT means.
public enum Rcpt552Policy: String, Sendable, Hashable, CaseIterable {
    /// RFC 5321 §4.5.3.1.10: classified by the rules; a too-many 552 is temporary and the
    /// recipients go again in a new transaction.
    case classify
    /// RFC 821's reading, still Postfix's, Exim's and OpenSMTPD's: every 5xx to RCPT bounces. For
    /// interoperating with what those do, and what a monitor should flag.
    case permanent
}

/// `host:port`, with `[v6]:port` for IPv6 literals.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `anyPort` accepts port 0 (a listener's "any free port", as tests and the demo use).
    public init?(parsing text: String, defaultPort: Int? = nil, anyPort: Bool = false) {
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if rest.hasPrefix(":") { portText = rest.dropFirst() } else if !rest.isEmpty { return nil }
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { return nil }
        if let portText {
            guard let p = Int(portText), ((anyPort ? 0 : 1)...65535).contains(p) else { return nil }
            self.init(host: String(host), port: p)
        } else if let defaultPort {
            self.init(host: String(host), port: defaultPort)
        } else {
            return nil
        }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
