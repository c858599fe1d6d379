import Foundation
import MailRelay
import RelayPeers
import RelaySockets
import Testing
import TestSupport

/// Who may use the control socket, tested with a second uid (nobody, 65534): the file's mode keeps
/// out whoever it does not name, and the relay's own SO_PEERCRED check refuses a uid that reached
/// the socket through a group it is not a member of.
@Suite(.serialized, .enabled(if: getuid() == 0, "switching to a second uid needs root"))
struct ControlPermissionTests {
    /// Runs a small client as uid 65534 with the given gid: it connects, says hello and prints
    /// the first line it gets, or the errno name when connect fails.
    func helloAsNobody(_ socket: String, gid: Int) throws -> String {
        let script = """
            import socket, sys, errno
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sys.argv[1])
            except OSError as e:
                print("ERRNO", errno.errorcode[e.errno]); sys.exit(0)
            s.sendall(b'{"id":1,"op":"hello"}\\n')
            s.settimeout(10)
            print(s.makefile().readline().strip())
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=\(gid)", "--clear-groups", "/usr/bin/python3", "-c", script, socket]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A relay whose socket sits in a directory anyone may enter, so only the socket decides.
    func relay(_ scratch: TempDir, group: String?) throws -> (RelayUnderTest, String) {
        let dir = scratch.path + "/ctl"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let socket = dir + "/control.sock"
        let settings = "control = \"\(socket)\"" + (group.map { "\ncontrol_group = \"\($0)\"" } ?? "")
        return (try RelayUnderTest(in: scratch, nextHop: LoopbackPort.unused(), settings: settings), socket)
    }

    @Test func anotherUserCannotOpenTheOwnerOnlySocket() throws {
        let scratch = try TempDir()
        let (relay, socket) = try relay(scratch, group: nil)
        #expect(try helloAsNobody(socket, gid: 65534) == "ERRNO EACCES")
        // Root (the relay's user here) still can.
        #expect(try ControlConnection(socket).call(#"{"id":1,"op":"hello"}"#)?.isOK == true)
        withExtendedLifetime(relay) {}
    }

    @Test func aGroupMemberMayUseAGroupSocket() throws {
        let scratch = try TempDir()
        let (relay, socket) = try relay(scratch, group: "nogroup")
        var st = stat()
        #expect(lstat(socket, &st) == 0 && st.st_mode & 0o777 == 0o660 && st.st_gid == 65534)
        // nobody's primary group is nogroup: a member.
        let answer = try helloAsNobody(socket, gid: 65534)
        #expect(answer.contains(#""ok":true"#) && answer.contains(#""protocol":1"#), "\(answer)")
        withExtendedLifetime(relay) {}
    }

    @Test func theRelayRefusesAUidOutsideItsGroupEvenIfTheFileLetsItIn() throws {
        let scratch = try TempDir()
        let (relay, socket) = try relay(scratch, group: "daemon")
        var st = stat()
        #expect(lstat(socket, &st) == 0 && st.st_mode & 0o777 == 0o660 && st.st_gid == 1)
        // With gid daemon the file's mode lets nobody connect; the relay's SO_PEERCRED check does not.
        let answer = try helloAsNobody(socket, gid: 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any], "\(answer)")
        #expect(object.errorCode == "permission-denied")
        #expect(object["id"] is NSNull)
        #expect((object["error"] as? [String: Any])?["message"] as? String ?? "" == "uid 65534 may not use this relay's control socket (root, the relay's user and its control_group may)")
        withExtendedLifetime(relay) {}
    }
}
