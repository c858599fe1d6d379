import Foundation
import Testing
import TestSupport

/// Exim 4.96 as the relay (in a private mount namespace), delivering 60-recipient messages to
/// receiving peers with a 20-recipient limit; `relaywatch report --from exim` on Exim's own main log.
@Suite(.serialized) struct EximRelayTests {
    static let recipients = (1...60).map { "user\($0)@example.net" }

    static func submit(to exim: EximRelay) throws -> String {
        let result = try SMTPClient(port: exim.port).submit(from: "sender@example.org", to: recipients)
        let final = result.final ?? ""
        // "250 OK id=1xYX9c-0001Fa-25"
        guard final.hasPrefix("250"), let id = final.split(separator: " ").last.map({ String($0.dropFirst(3)) }), !id.isEmpty else {
            throw DaemonError("Exim did not take the message: \(final)")
        }
        return id
    }

    static func report(_ exim: EximRelay) throws -> (status: Int32, anomalies: [[String: Any]], json: [String: Any]) {
        let run = try Run.relaywatch(["report", "--from", "exim", "--json", exim.mainlog])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)\(run.stderr)")
        return (run.status, json["anomalies"] as? [[String: Any]] ?? [], json)
    }

    /// The recipients Exim failed with a too-many reply to RCPT, by a plain search of its log.
    static func refusedAtRCPT(_ log: String, id: String) -> Set<String> {
        Set(log.split(separator: "\n").filter {
            $0.contains(" \(id) ** ") && $0.contains("RCPT TO:<") && $0.lowercased().contains("too many recipients")
        }.compactMap { line -> String? in
            guard let r = line.range(of: " ** ") else { return nil }
            return line[r.upperBound...].split(separator: " ").first.map(String.init)
        })
    }

    @Test(arguments: ["aiosmtpd 552 5.5.3", "exim 552 (recipients_max_reject)"])
    func a552PeerMakesEximBounceExactlyTheRecipientsRefusedAtRCPT(_ peerKind: String) throws {
        let scratch = try TempDir()
        var keep: [AnyObject] = []
        let peerPort: Int
        if peerKind.hasPrefix("exim") {
            let peer = try EximPeer(in: scratch, recipientsMax: 20, rejectExcess: true)
            keep.append(peer)
            peerPort = peer.port
        } else {
            let peer = try Peer(in: scratch, ["--limit", "20", "--too-many", "552 5.5.3 Too many recipients"])
            keep.append(peer)
            peerPort = peer.port
        }
        let exim = try EximRelay(in: scratch, nextHop: peerPort)
        let id = try Self.submit(to: exim)
        #expect(exim.waitFor { $0.contains("\(id) Completed") && $0.contains("R=\(id)") }, "Exim's log: \(exim.log)")
        let refused = Self.refusedAtRCPT(exim.log, id: id)
        #expect(refused.count == 40, "Exim sends all 60 in one transaction; the peer takes 20: \(exim.log)")
        let (status, anomalies, json) = try Self.report(exim)
        #expect(status == 1)
        #expect(json["malformed"] as? Int == 0)
        #expect(anomalies.count == 1, "\(anomalies)")
        #expect(anomalies.first?["rule"] as? String == "limit-bounced")
        #expect(anomalies.first?["msg"] as? String == id)
        #expect(Set(anomalies.first?["rcpts"] as? [String] ?? []) == refused)
        _ = keep
    }

    @Test(arguments: ["aiosmtpd 452 4.5.3", "exim 452"])
    func a452PeerLeavesNoFinding(_ peerKind: String) throws {
        let scratch = try TempDir()
        var keep: [AnyObject] = []
        let peerPort: Int
        let delivered: () -> Set<String>
        if peerKind.hasPrefix("exim") {
            let peer = try EximPeer(in: scratch, recipientsMax: 20)
            keep.append(peer)
            peerPort = peer.port
            delivered = { Set(peer.received.flatMap(\.rcpts)) }
        } else {
            let peer = try Peer(in: scratch, ["--limit", "20", "--too-many", "452 4.5.3 Too many recipients"])
            keep.append(peer)
            peerPort = peer.port
            delivered = { Set(peer.deliveries.filter { !$0.sender.isEmpty }.flatMap(\.rcpts)) }
        }
        let exim = try EximRelay(in: scratch, nextHop: peerPort)
        let id = try Self.submit(to: exim)
        #expect(exim.waitFor(timeout: 60) { $0.contains("\(id) Completed") }, "Exim's log: \(exim.log)")
        #expect(delivered() == Set(Self.recipients))
        let (status, anomalies, json) = try Self.report(exim)
        #expect(anomalies.isEmpty, "\(anomalies)")
        #expect(status == 0)
        #expect(json["malformed"] as? Int == 0)
        _ = keep
    }
}

/// The monitor on an Exim host, run inside the relay's mount namespace as an admin runs it on the
/// host: a deferred message, frozen and thawed from the keyboard, then delivered with `r`.
@Suite(.serialized) struct EximMonitorTests {
    @Test func theMonitorWatchesAndDrivesExim() throws {
        let scratch = try TempDir()
        // A greylisting peer: every recipient's first RCPT gets 451, the second is taken.
        let peer = try Peer(in: scratch, ["--greylist"])
        // Retries an hour apart and queue runs an hour apart: only exim -M makes it go.
        let exim = try EximRelay(in: scratch, nextHop: peer.port, retry: "F,10m,1h", queueRuns: "1h")
        let id = try EximRelayTests.submit(to: exim)
        // (Beside the whole suite on two cores Exim's first attempt has taken over half a minute.)
        #expect(exim.waitFor(timeout: 90) { $0.components(separatedBy: " \(id) == ").count - 1 >= 60 }, "Exim's log: \(exim.log)")
        let monitor = "\(Built.binary("relaywatch")) --exim --exim-binary /usr/sbin/exim4 --mainlog \(exim.mainlog) --queue-interval 1"
        let tmux = try TmuxSession(width: 120, height: 32, command: "nsenter -t \(exim.daemon.pid) -m \(monitor)")
        // First screen: in flight, 60 deferred with the peer's 451.
        var screen = try tmux.wait("the deferred message", seconds: 20) {
            $0.contains(id) && $0.contains("0/60/0/0") && $0.contains("relay: connected (Exim 4.96)")
        }
        let row = try #require(screen.split(separator: "\n").first { $0.hasPrefix(id) })
        #expect(row.contains("in flight"))
        try tmux.keys("Enter")
        screen = try tmux.wait("its recipients") { $0.contains("LAST REPLY") }
        #expect(screen.contains("Exim logs no RCPT positions"))
        // One row of 60, deferred (with the peer's 451, or Exim's "retry time not reached" when a
        // slow first attempt left a retry record for the host).
        let deferred = screen.split(separator: "\n").filter { $0.contains("recipients: ") }
        #expect(deferred.count == 1 && deferred[0].contains("60 recipients") && deferred[0].hasSuffix("deferred"), "\(screen)")

        // h: exim -Mf freezes it (exim -bp says so); u: exim -Mt thaws it.
        try tmux.keys("h")
        screen = try tmux.wait("the freeze answer") { $0.contains("held; u releases it") }
        #expect(screen.contains("exim4 -Mf \(id): exit 0"), "\(screen)")
        try tmux.wait("frozen on screen") { $0.contains("queue: frozen") }
        #expect(try exim.listQueue().contains("\(id) <sender@example.org> *** frozen ***"), "exim -bp says frozen")
        #expect(exim.log.contains("\(id) frozen by root"), "\(exim.log)")
        try tmux.keys("u")
        try tmux.wait("the thaw answer") { $0.contains("released (exim4 -Mt \(id): exit 0)") }
        try tmux.wait("thawed on screen") { $0.contains("queue: queued") }
        #expect(try !exim.listQueue().contains("frozen"), "exim -bp no longer says frozen")

        // r, y: exim -M delivers it now; the greylist lets every recipient through this time.
        try tmux.keys("r")
        try tmux.wait("the retry question") { $0.contains("now? y/n") }
        try tmux.keys("y")
        screen = try tmux.wait("all delivered", seconds: 30) { $0.contains("60 delivered · 0 deferred") }
        #expect(Set(peer.waitForRecipients(60).flatMap(\.rcpts)).count == 60)
        #expect(exim.waitFor { $0.contains("\(id) Completed") })
    }
}

extension EximMonitorTests {
    /// Not an Exim administrator (queue_list_requires_admin): the monitor says what Exim said and
    /// goes on with the log alone, read-only.
    @Test func withoutAdminRightsTheLogGoesOnReadOnly() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, ["--greylist"])
        let exim = try EximRelay(in: scratch, nextHop: peer.port, retry: "F,10m,1h", queueRuns: "1h")
        let id = try EximRelayTests.submit(to: exim)
        #expect(exim.waitFor(timeout: 90) { $0.components(separatedBy: " \(id) == ").count - 1 >= 60 })
        chmod(exim.mainlog, 0o644)
        let monitor = "\(Built.binary("relaywatch")) --exim --exim-binary /usr/sbin/exim4 --mainlog \(exim.mainlog) --queue-interval 1"
        let tmux = try TmuxSession(width: 120, height: 32, command:
            "nsenter -t \(exim.daemon.pid) -m setpriv --reuid=nobody --regid=nogroup --clear-groups \(monitor)")
        let screen = try tmux.wait("the refusal", seconds: 20) { $0.contains("permission denied, log only") && $0.contains(id) }
        #expect(screen.lowercased().contains("permission denied"), "\(screen)")
        let row = try #require(screen.split(separator: "\n").first { $0.hasPrefix(id) })
        #expect(row.contains("0/60/0/0"), "the log still shows it: \(screen)")
        try tmux.keys("h")
        try tmux.wait("hold refused") { $0.contains("permission denied by the relay: this view is read-only") }
        #expect(!exim.log.contains("frozen by"), "nothing was frozen")
    }
}
