import Foundation
import NIOCore
import NIOPosix
import RelaySockets

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
        guard case .success(let fd) = UnixSocket.connect(path) else { return false }
        close(fd)
        return true
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
