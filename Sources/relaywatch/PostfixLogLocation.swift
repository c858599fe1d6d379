import Foundation
import RelayWatch

/// Where this host's Postfix log is, when --maillog does not say.
enum PostfixLogLocation {
    /// Postfix's own `maillog_file` when set, else the first of the usual syslog files that exists;
    /// nil when there is none and the journal is there to read instead. A host with neither yet
    /// gets /var/log/mail.log, which the follower waits for.
    static func find(configDirectory: String?) -> String? {
        if let own = maillogFile(configDirectory), !own.isEmpty { return own }
        let candidates = ["/var/log/mail.log", "/var/log/maillog"]
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        let journald = ["/run/systemd/journal", "/var/log/journal"].contains { FileManager.default.fileExists(atPath: $0) }
        return journald ? nil : candidates[0]
    }

    /// `postconf -h maillog_file` (with -c DIR), or nil when postconf cannot say.
    static func maillogFile(_ configDirectory: String?) -> String? {
        let argv = ["postconf"] + (configDirectory.map { ["-c", $0] } ?? []) + ["-h", "maillog_file"]
        guard let child = try? ChildProcess(argv, nonBlocking: false) else { return nil }
        var out: [UInt8] = []
        child.readOutput { out += $0 }
        child.readErrors()
        guard child.reap(block: true) == 0 else { return nil }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension LogFormat {
    /// The format of a file from its first line that is not blank (nil when it cannot be read
    /// or has none yet).
    static func ofFile(_ path: String) -> LogFormat? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 64 * 1024) else { return nil }
        for line in data.split(separator: 0x0A) where !line.isBlankLine {
            return Array(line).withUnsafeBytes { LogFormat.detect($0) }
        }
        return nil
    }
}
