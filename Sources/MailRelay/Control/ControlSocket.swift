import Foundation
import NIOCore
import NIOPosix

/// Creates the control socket with its final mode from the first instant. bind(2) would create the
/// file with the umask's mode, wider than 0600 for a moment; instead the socket is bound inside a
/// fresh 0700 directory next to its final path, given its mode (and group), then renamed into
/// place and the directory removed. Nobody else can reach it before it is 0600 (or 0660).
enum ControlSocket {
    static func bind(path: String, group gid: gid_t?, bootstrap: ServerBootstrap) async throws -> Channel {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else {
                throw ConfigError("control socket \(path): a file that is not a socket is in the way")
            }
            if isServed(path) { throw ConfigError("control socket \(path) is in use: is another mailrelayd running on this spool?") }
        }
        let parent = (path as NSString).deletingLastPathComponent
        var template = Array(((parent.isEmpty ? "." : parent) + "/.control.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw ConfigError("control socket \(path): cannot create a directory in \(parent): \(String(cString: strerror(errno)))")
        }
        let staging = String(cString: made)
        let temporary = staging + "/s"
        defer {
            unlink(temporary)
            rmdir(staging)
        }
        let channel = try await bootstrap.bind(unixDomainSocketPath: temporary).get()
        do {
            if let gid {
                guard chown(temporary, uid_t.max, gid) == 0 else { throw ConfigError("control socket: cannot give it group \(gid): \(String(cString: strerror(errno)))") }
            }
            guard chmod(temporary, gid == nil ? 0o600 : 0o660) == 0, rename(temporary, path) == 0 else {
                throw ConfigError("control socket \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? await channel.close()
            throw error
        }
        return channel
    }

    /// Someone answers on it (a live relay), as opposed to a stale file a crash left.
    static func isServed(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }

    /// Removes the socket file if it is still the one this relay made.
    static func remove(_ path: String, inode: ino_t) {
        var st = stat()
        if lstat(path, &st) == 0, st.st_ino == inode { unlink(path) }
    }

    static func inode(_ path: String) -> ino_t? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_ino : nil
    }
}
