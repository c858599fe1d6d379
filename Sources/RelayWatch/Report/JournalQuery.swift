import PostfixLog

/// The `journalctl` command line that reads Postfix's records: JSON, one per line, filtered to
/// Postfix's syslog identifiers. `follow`: new records as they come (the monitor); `since`: what
/// journalctl's --since takes ("2026-11-29 08:00", "-1h", "today").
public enum JournalQuery {
    public static func argv(follow: Bool, since: String? = nil, lines: Int? = nil) -> [String] {
        var argv = ["journalctl", "--output=json", "--no-pager", "--quiet"]
        if follow { argv.append("--follow") }
        if let since { argv.append("--since=\(since)") }
        if let lines { argv.append("--lines=\(lines)") }
        for id in JournalRecord.postfixIdentifiers { argv += ["-t", id] }
        return argv
    }
}
