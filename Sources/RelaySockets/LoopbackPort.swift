#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A TCP port on 127.0.0.1 that nothing listens on now: bound for a moment to check it is free,
/// then closed. For a next hop that refuses connections (the demo's unreachable domain) and for
/// the peers the tests start.
///
/// The port is taken from below the kernel's ephemeral range, not by binding port 0: a port from
/// that range can be given to any outgoing connection between the check and the listener's bind
/// (a test's Exim once lost its port that way while other tests were connecting), and ports below
/// it are only ever used by someone asking for them. No port is handed out twice in one process.
public enum LoopbackPort {
    private static let handedOut = Mutex<Set<Int>>([])

    public static func unused() -> Int {
        let below = ephemeralLow
        let low = max(1024, below - 12_000)
        for _ in 0..<1000 {
            let port = Int.random(in: low..<below)
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            if fresh, let free = bound(port) { return free }
        }
        // Everything tried was taken: fall back to a port the kernel picks.
        return bound(0) ?? 0
    }

    /// The first port of `net.ipv4.ip_local_port_range` (32768 unless changed), read once.
    private static let ephemeralLow: Int = {
        guard let f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r") else { return 32768 }
        defer { fclose(f) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), f) != nil else { return 32768 }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first, let low = Int(first),
              low > 2048 else { return 32768 }
        return low
    }()

    /// Binds `port` on 127.0.0.1 for a moment (0: any the kernel picks) and returns the port
    /// bound, or nil if it is taken.
    private static func bound(_ port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = loopback(port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }) == 0,
              withUnsafeMutablePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }) == 0
        else { return nil }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return addr
    }
}
