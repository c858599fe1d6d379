#if canImport(Glibc)
import Glibc
#endif

/// Who may use the control socket: root, the relay's own user, and members of the configured
/// group (by /etc/group membership or as their primary group). Checked on every connection with
/// SO_PEERCRED, on top of the socket file's mode, so a socket made reachable by mistake (a wrong
/// chmod, a bind mount) still refuses strangers.
struct ControlAccess: Sendable {
    let ownUID: uid_t
    let gid: gid_t?

    init(group: gid_t?) {
        ownUID = getuid()
        gid = group
    }

    func allows(uid: uid_t) -> Bool {
        if uid == 0 || uid == ownUID { return true }
        guard let gid else { return false }
        return ControlAccess.isMember(uid: uid, of: gid)
    }

    static func isMember(uid: uid_t, of gid: gid_t) -> Bool {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getpwuid_r(uid, &pw, &buffer, buffer.count, &result) == 0, result != nil else { return false }
        if pw.pw_gid == gid { return true }
        let name = String(cString: pw.pw_name)
        return groupMembers(gid)?.contains(name) ?? false
    }

    static func groupMembers(_ gid: gid_t) -> [String]? {
        var gr = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65_536)
        guard getgrgid_r(gid, &gr, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        var members: [String] = []
        var p = gr.gr_mem
        while let member = p?.pointee {
            members.append(String(cString: member))
            p = p?.advanced(by: 1)
        }
        return members
    }

    /// A group name (or number) as a gid.
    static func groupID(_ name: String) -> gid_t? {
        if let n = UInt32(name) { return gid_t(n) }
        var gr = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65_536)
        guard getgrnam_r(name, &gr, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return gr.gr_gid
    }
}
