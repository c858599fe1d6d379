import RelayCore

/// A configuration mistake, with the file's line when there is one: mailrelayd prints it and exits 2.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension RelayConfig {
    /// Reads a configuration file's text over the defaults. Unknown keys are errors (a misspelt
    /// `max_rcpt_per_txn` silently ignored would be worse than a refusal to start).
    public static func parse(_ text: String, file: String = "config") throws(ConfigError) -> RelayConfig {
        let doc: [(String, TOMLSubset.Value)]
        do {
            doc = try TOMLSubset.parse(text)
        } catch {
            throw ConfigError("\(file): \(error)")
        }
        var config = RelayConfig()
        var reader = KeyReader(file: file, section: nil)
        for (key, value) in doc {
            switch key {
            case "hostname": config.hostname = try reader.string(key, value)
            case "listen": config.listen = try reader.hostPort(key, value, anyPort: true)
            case "client_networks":
                config.clientNetworks = try reader.strings(key, value).map { (s: String) throws(ConfigError) -> NetworkRange in
                    guard let r = NetworkRange(parsing: s) else { throw reader.error(key, "\"\(s)\" is not an address or address/prefix") }
                    return r
                }
            case "spool": config.spool = try reader.string(key, value)
            case "log": config.log = try reader.string(key, value)
            case "control": config.control = try reader.string(key, value)
            case "control_group": config.controlGroup = try reader.string(key, value)
            case "log_rotate_size": config.logRotateSize = try reader.size(key, value, min: 4096)
            case "log_keep": config.logKeep = try reader.int(key, value, min: 1)
            case "max_message_size": config.maxMessageSize = try reader.size(key, value, min: 1024)
            case "max_recipients": config.maxRecipients = try reader.int(key, value, min: 100, why: "RFC 5321 §4.5.3.1.8 requires accepting 100")
            case "max_connections": config.maxConnections = try reader.int(key, value, min: 1)
            case "max_command_line": config.maxCommandLine = try reader.int(key, value, min: 512, why: "RFC 5321 §4.5.3.1.4")
            case "max_text_line": config.maxTextLine = try reader.int(key, value, min: 1000, why: "RFC 5321 §4.5.3.1.6")
            case "command_timeout": config.commandTimeout = try reader.duration(key, value)
            case "data_timeout": config.dataTimeout = try reader.duration(key, value)
            case "backoff":
                guard let items = value.array, !items.isEmpty else { throw reader.error(key, "expected a non-empty array of durations") }
                config.backoff = try items.map { (v: TOMLSubset.Value) throws(ConfigError) -> Double in try reader.duration(key, v) }
            case "queue_lifetime": config.queueLifetime = try reader.duration(key, value)
            case "connect_timeout": config.connectTimeout = try reader.duration(key, value)
            case "reply_timeout": config.replyTimeout = try reader.duration(key, value)
            case "idle_connection_time": config.idleConnectionTime = try reader.duration(key, value)
            case "dead_hop_time": config.deadHopTime = try reader.duration(key, value)
            case "peer_limit_lifetime": config.peerLimitLifetime = try reader.duration(key, value)
            case "default_route":
                config.defaultRoute = try readRoute(value, base: config.defaultRoute, reader: KeyReader(file: file, section: key))
            case "routes":
                guard let table = value.table else { throw reader.error(key, "expected a [routes] table of domain = { ... }") }
                var routeReader = KeyReader(file: file, section: "routes")
                for (domain, routeValue) in table {
                    routeReader.section = "routes.\"\(domain)\""
                    config.routes[domain.lowercased()] = try readRoute(routeValue, base: nil, reader: routeReader)
                }
            default:
                throw reader.error(key, "unknown setting")
            }
        }
        return config
    }

    private static func readRoute(_ value: TOMLSubset.Value, base: Route?, reader: KeyReader) throws(ConfigError) -> Route {
        guard let table = value.table else { throw reader.error("", "expected a table of next_hop, max_rcpt_per_txn, connections, rcpt_552") }
        var route = base
        var nextHop = base?.nextHop
        for (key, v) in table where key == "next_hop" { nextHop = try reader.hostPort(key, v) }
        guard let nextHop else { throw reader.error("next_hop", "every route needs a next_hop = \"host:port\"") }
        if route == nil { route = Route(nextHop: nextHop) }
        route!.nextHop = nextHop
        for (key, v) in table {
            switch key {
            case "next_hop": break
            case "max_rcpt_per_txn": route!.maxRcptPerTxn = try reader.int(key, v, min: 1)
            case "connections": route!.connections = try reader.int(key, v, min: 1)
            case "rcpt_552":
                let s = try reader.string(key, v)
                guard let p = Rcpt552Policy(rawValue: s) else { throw reader.error(key, "expected \"classify\" or \"permanent\", found \"\(s)\"") }
                route!.rcpt552 = p
            default: throw reader.error(key, "unknown route setting")
            }
        }
        return route!
    }
}

/// Typed reads of one value, with errors that name the file, the table and the key.
struct KeyReader {
    var file: String
    var section: String?

    func error(_ key: String, _ message: String) -> ConfigError {
        let path = [section, key.isEmpty ? nil : key].compactMap { $0 }.joined(separator: ".")
        return ConfigError("\(file): \(path): \(message)")
    }

    func string(_ key: String, _ v: TOMLSubset.Value) throws(ConfigError) -> String {
        guard let s = v.string else { throw error(key, "expected a string, found \(v.typeName)") }
        return s
    }

    func strings(_ key: String, _ v: TOMLSubset.Value) throws(ConfigError) -> [String] {
        guard let a = v.array else { throw error(key, "expected an array of strings, found \(v.typeName)") }
        return try a.map { (item: TOMLSubset.Value) throws(ConfigError) -> String in try string(key, item) }
    }

    func int(_ key: String, _ v: TOMLSubset.Value, min: Int, why: String? = nil) throws(ConfigError) -> Int {
        guard let n = v.integer else { throw error(key, "expected an integer, found \(v.typeName)") }
        guard n >= min else { throw error(key, "\(n) is below the minimum of \(min)" + (why.map { " (\($0))" } ?? "")) }
        return n
    }

    func hostPort(_ key: String, _ v: TOMLSubset.Value, anyPort: Bool = false) throws(ConfigError) -> HostPort {
        let s = try string(key, v)
        guard let hp = HostPort(parsing: s, anyPort: anyPort) else { throw error(key, "expected \"host:port\", found \"\(s)\"") }
        return hp
    }

    /// A byte count: an integer, or a string like "25M", "512k", "1G".
    func size(_ key: String, _ v: TOMLSubset.Value, min: Int) throws(ConfigError) -> Int {
        var n: Int?
        if let i = v.integer { n = i }
        if let s = v.string { n = ConfigUnits.bytes(s) }
        guard let n else { throw error(key, "expected a size such as 26214400 or \"25M\", found \(v.shown)") }
        guard n >= min else { throw error(key, "\(n) is below the minimum of \(min)") }
        return n
    }

    /// Seconds: an integer, or a string like "90s", "5m", "4h", "5d".
    func duration(_ key: String, _ v: TOMLSubset.Value) throws(ConfigError) -> Double {
        var d: Double?
        if let i = v.integer { d = Double(i) }
        if let s = v.string { d = ConfigUnits.seconds(s) }
        guard let d, d > 0 else { throw error(key, "expected a duration such as 300, \"5m\" or \"5d\", found \(v.shown)") }
        return d
    }
}

/// "25M" and "5m" as the configuration and the flags write them.
public enum ConfigUnits {
    public static func bytes(_ s: String) -> Int? {
        let t = s.trimmingSpaces
        guard let last = t.last else { return nil }
        let scale: Int
        switch last {
        case "k", "K": scale = 1 << 10
        case "m", "M": scale = 1 << 20
        case "g", "G": scale = 1 << 30
        default: return Int(t)
        }
        return Int(t.dropLast()).map { $0 * scale }
    }

    public static func seconds(_ s: String) -> Double? {
        let t = s.trimmingSpaces
        guard let last = t.last else { return nil }
        let scale: Double
        switch last {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        default: return Double(t)
        }
        if t.hasSuffix("ms") { return Double(t.dropLast(2)).map { $0 / 1000 } }
        return Double(t.dropLast()).map { $0 * scale }
    }
}

private extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
