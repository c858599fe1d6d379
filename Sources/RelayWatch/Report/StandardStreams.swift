#if canImport(Glibc)
import Glibc
#endif

/// Writes to stdout and stderr with write(2): no C `FILE*` globals (Swift 6 rejects them as
/// shared mutable state), and everything is out before the process exits with a status.
public enum StandardStreams {
    public static func out(_ text: String) { write(fd: 1, text) }

    /// Text from a log or a peer, safe to print on a terminal: control characters (C0 but for the
    /// tab, DEL, C1) written as `\x1B`, so an escape sequence in an address, a reply or a host
    /// name shows as text and never moves the cursor, clears the screen or retitles the window.
    public static func printable(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: \.isTerminalControl) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            if u.isTerminalControl {
                let hex = String(u.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Writes one line (a newline is added when missing).
    public static func error(_ text: String) { write(fd: 2, text.hasSuffix("\n") ? text : text + "\n") }

    /// Bytes as they are (`convert`'s output).
    public static func out(bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            var offset = 0
            while offset < buf.count {
                let n = Glibc.write(1, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    static func write(fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buf in
            var offset = 0
            while offset < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // a closed pipe (`report | head`): nothing more to say
                }
                offset += n
            }
        }
    }
}
