import RelayCore

/// `$XDG_CONFIG_HOME/relaywatch/config.toml` (else `~/.config/relaywatch/config.toml`): defaults
/// for the command line, which always wins.
///
///     log = "/var/log/mailrelayd/delivery.log"
///     socket = "/var/spool/mailrelayd/control.sock"
///     theme = "high-contrast"
///     readonly = false
///     keep = 5000
public struct WatchConfig: Equatable, Sendable {
    public var log: String?
    public var socket: String?
    public var theme: String?
    public var readonly: Bool?
    /// Finished messages kept in memory.
    public var keep: Int?

    public init() {}

    public static func path(environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/relaywatch/config.toml" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.config/relaywatch/config.toml" }
        return nil
    }

    /// Reads the file's text; a mistake is an error naming the file, the line and the key.
    public static func parse(_ text: String, file: String) throws -> WatchConfig {
        let doc: [(String, TOMLSubset.Value)]
        do { doc = try TOMLSubset.parse(text) } catch { throw WatchConfigError("\(file): \(error)") }
        var c = WatchConfig()
        for (key, value) in doc {
            func string() throws -> String {
                guard let s = value.string, !s.isEmpty else { throw WatchConfigError("\(file): \(key): expected a non-empty string, found \(value.typeName)") }
                return s
            }
            switch key {
            case "log": c.log = try string()
            case "socket": c.socket = try string()
            case "theme": c.theme = try string()
            case "readonly":
                guard let b = value.boolean else { throw WatchConfigError("\(file): readonly: expected true or false, found \(value.typeName)") }
                c.readonly = b
            case "keep":
                guard let n = value.integer, n >= 1 else {
                    let found = value.integer.map(String.init) ?? value.typeName
                    throw WatchConfigError("\(file): keep: expected a number of finished messages, 1 or more, found \(found)")
                }
                c.keep = n
            default:
                throw WatchConfigError("\(file): unknown setting \(key) (known: log, socket, theme, readonly, keep)")
            }
        }
        return c
    }
}

public struct WatchConfigError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
