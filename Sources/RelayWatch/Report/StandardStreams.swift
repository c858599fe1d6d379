#if canImport(Glibc)
import Glibc
#endif

/// Writes to stdout and stderr with write(2): no C `FILE*` globals (Swift 6 rejects them as
/// shared mutable state), and everything is out before the process exits with a status.
public enum StandardStreams {
    public static func out(_ text: String) { write(fd: 1, text) }

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
