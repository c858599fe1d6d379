import Foundation
import RelayWatch

/// Where this host's Exim main log is, and what its binary is called, when the options do not say.
enum EximLogLocation {
    /// `exim4` (Debian) when it is on PATH, else `exim`.
    static func binary() -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/exim4") { return "exim4" }
        return FileManager.default.isExecutableFile(atPath: "/usr/sbin/exim4") ? "/usr/sbin/exim4" : "exim"
    }

    /// Exim's own `log_file_path` (its `%s` as `main`), else the first of the usual places that
    /// exists, else Debian's, which the follower waits for.
    static func find(_ options: EximOptions) -> String {
        if let configured = logFilePath(options) { return configured }
        let candidates = ["/var/log/exim4/mainlog", "/var/log/exim/main.log", "/var/log/exim/mainlog", "/var/spool/exim/log/mainlog"]
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }

    /// `exim -bP log_file_path`: "log_file_path = /var/log/exim4/%slog" (the first of a
    /// colon-separated list that is a file, not `syslog`).
    static func logFilePath(_ options: EximOptions) -> String? {
        let argv = [options.binary] + (options.configFile.map { ["-C", $0] } ?? []) + ["-bP", "log_file_path"]
        guard let child = try? ChildProcess(argv, nonBlocking: false) else { return nil }
        var out: [UInt8] = []
        child.readOutput { out += $0 }
        child.readErrors()
        guard child.reap(block: true) == 0 else { return nil }
        let text = String(decoding: out, as: UTF8.self)
        guard let eq = text.firstIndex(of: "=") else { return nil }
        let value = text[text.index(after: eq)...].trimmingCharacters(in: .whitespacesAndNewlines)
        for part in value.split(separator: ":") where part.hasPrefix("/") && part.contains("%s") {
            return part.replacingOccurrences(of: "%s", with: "main")
        }
        return nil
    }
}
