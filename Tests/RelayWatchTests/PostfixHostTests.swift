import Foundation
import PostfixLog
import RelayCore
import RelaySockets
import RelayWatch
import Testing
import TestSupport

/// A real Postfix 3.7 on loopback relaying to receiving peers with a 20-recipient limit: the
/// KB822105 situation as it happens on most relays in the world. The report and the monitor read
/// what Postfix itself logged.
@Suite(.serialized) struct PostfixHostTests {
    static let recipients = (1...60).map { "user\($0)@example.net" }

    /// Submits the 60-recipient message to Postfix and returns its queue id (from Postfix's log).
    static func submit(to postfix: PostfixHost) throws -> String {
        let client = try SMTPClient(port: postfix.port)
        let result = client.submit(from: "sender@example.org", to: recipients)
        #expect(result.final?.hasPrefix("250") == true, "Postfix took the message: \(result.final ?? "no reply")")
        let line = result.final ?? ""
        // "250 2.0.0 Ok: queued as 4AbCdEf"
        guard let qid = line.split(separator: " ").last.map(String.init), !qid.isEmpty else {
            throw DaemonError("no queue id in \(line)")
        }
        return qid
    }

    static func report(_ postfix: PostfixHost) throws -> (status: Int32, anomalies: [[String: Any]], json: [String: Any]) {
        let run = try Run.relaywatch(["report", "--from", "postfix", "--json", postfix.maillog])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "report printed: \(run.stdout)\(run.stderr)")
        return (run.status, json["anomalies"] as? [[String: Any]] ?? [], json)
    }

    /// The recipients Postfix logged as bounced with a too-many reply to RCPT TO, from its own log
    /// lines (the check's independent reading: a plain text search, not the adapter).
    static func refusedAtRCPT(_ log: String, qid: String) -> Set<String> {
        Set(log.split(separator: "\n").filter {
            $0.contains(" \(qid): to=<") && $0.contains("status=bounced") && $0.contains("(in reply to RCPT TO command)")
                && $0.lowercased().contains("too many recipients")
        }.compactMap { line -> String? in
            guard let a = line.range(of: "to=<"), let b = line[a.upperBound...].range(of: ">") else { return nil }
            return String(line[a.upperBound..<b.lowerBound])
        })
    }

    @Test(arguments: ["aiosmtpd 552 5.5.3", "exim 552"])
    func a552PeerMakesPostfixBounceExactlyTheRecipientsRefusedAtRCPT(_ peerKind: String) throws {
        let scratch = try TempDir()
        let peerPort: Int
        var keep: [AnyObject] = []
        if peerKind.hasPrefix("exim") {
            let exim = try EximPeer(in: scratch, recipientsMax: 20, rejectExcess: true)
            keep.append(exim)
            peerPort = exim.port
        } else {
            let peer = try Peer(in: scratch, ["--limit", "20", "--too-many", "552 5.5.3 Too many recipients"])
            keep.append(peer)
            peerPort = peer.port
        }
        let postfix = try PostfixHost(in: scratch, relayhost: peerPort, backoff: 3600)
        let qid = try Self.submit(to: postfix)
        // The message and Postfix's bounce to the sender both leave the queue.
        #expect(postfix.waitFor { $0.contains("\(qid): removed") && $0.contains("\(qid): sender non-delivery notification") })
        let refused = Self.refusedAtRCPT(postfix.log, qid: qid)
        // Postfix sends 50 recipients per delivery (smtp_destination_recipient_limit): the peer
        // refuses #21-#50 of the first one; the other 10 go in a second.
        #expect(refused.count == 30, "Postfix's log: \(postfix.log)")
        let (status, anomalies, json) = try Self.report(postfix)
        #expect(status == 1)
        #expect(json["malformed"] as? Int == 0)
        #expect(anomalies.count == 1, "\(anomalies)")
        let a = try #require(anomalies.first)
        #expect(a["rule"] as? String == "limit-bounced")
        #expect(a["msg"] as? String == qid)
        #expect(Set(a["rcpts"] as? [String] ?? []) == refused)
        _ = keep
    }

    @Test(arguments: ["aiosmtpd 452 4.5.3", "exim 452"])
    func a452PeerLeavesNoFindingOncePostfixDeliveredTheDeferredOnes(_ peerKind: String) throws {
        let scratch = try TempDir()
        let peerPort: Int
        var delivered: () -> Set<String>
        var keep: [AnyObject] = []
        if peerKind.hasPrefix("exim") {
            let exim = try EximPeer(in: scratch, recipientsMax: 20)
            keep.append(exim)
            peerPort = exim.port
            delivered = { Set(exim.received.flatMap(\.rcpts)) }
        } else {
            let peer = try Peer(in: scratch, ["--limit", "20", "--too-many", "452 4.5.3 Too many recipients"])
            keep.append(peer)
            peerPort = peer.port
            delivered = { Set(peer.deliveries.filter { !$0.sender.isEmpty }.flatMap(\.rcpts)) }
        }
        // A short back-off: Postfix tries the deferred recipients again by itself within seconds.
        let postfix = try PostfixHost(in: scratch, relayhost: peerPort, backoff: 1)
        let qid = try Self.submit(to: postfix)
        // Postfix tries again by itself within seconds. Under load its queue manager can skip a
        // message still being delivered at its queue scan and leave it to a later one (seen on a
        // busy CI run); a flush, as an admin would run, then gets it going.
        var gone = postfix.waitFor(timeout: 20) { $0.contains("\(qid): removed") }
        for _ in 0..<6 where !gone {
            try postfix.run(["/usr/sbin/postqueue", "-c", postfix.config, "-f"])
            gone = postfix.waitFor(timeout: 10) { $0.contains("\(qid): removed") }
        }
        #expect(gone, "Postfix's log: \(postfix.log)")
        #expect(delivered() == Set(Self.recipients))
        #expect(postfix.log.contains("status=deferred"), "the peer's limit deferred some: \(postfix.log)")
        let (status, anomalies, json) = try Self.report(postfix)
        #expect(anomalies.isEmpty, "\(anomalies)")
        #expect(status == 0)
        #expect(json["malformed"] as? Int == 0)
        _ = keep
    }

    /// A Postfix whose peer takes 20 recipients of a transaction and defers the rest with 452,
    /// with a back-off of hours (only a command makes the deferred ones go): the 60-recipient
    /// message submitted, once Postfix has logged every recipient's first outcome.
    static func deferredMessage(in scratch: TempDir, settings: String = "") throws -> (postfix: PostfixHost, peer: Peer, qid: String) {
        let peer = try Peer(in: scratch, ["--limit", "20", "--too-many", "452 4.5.3 Too many recipients"])
        let postfix = try PostfixHost(in: scratch, relayhost: peer.port, backoff: 7200, settings: settings)
        let qid = try submit(to: postfix)
        #expect(postfix.waitFor { $0.components(separatedBy: "\(qid): to=<").count - 1 == 60 })
        return (postfix, peer, qid)
    }

    /// The monitor on a Postfix host, as an admin runs it: deferred recipients, then hold and
    /// release from the keyboard, then retries that deliver them.
    @Test func theMonitorWatchesAndDrivesPostfix() throws {
        let scratch = try TempDir()
        // A back-off of hours: only the r key can make the deferred ones go.
        let (postfix, peer, qid) = try Self.deferredMessage(in: scratch)

        let tmux = try TmuxSession(width: 120, height: 32, command: "\(Built.binary("relaywatch")) --postfix --postfix-config \(postfix.config) --queue-interval 1")
        // First screen, before any key: the message, in flight, in Postfix's deferred queue for
        // the peer's 452, with 30 delivered and 30 too many.
        var screen = try tmux.wait("the deferred message", seconds: 20) { $0.contains(qid) && $0.contains("deferred 452 4.5.3") }
        let row = try #require(screen.split(separator: "\n").first { $0.contains(qid) })
        #expect(row.contains("30/0/0/30"), "\(screen)")
        #expect(row.contains("in flight"))

        // Its recipients: the deferred ones say so, with the peer's reply; no empty RCPT columns.
        try tmux.keys("Enter")
        screen = try tmux.wait("the message view") { $0.contains("LAST REPLY") }
        #expect(screen.contains("Postfix logs no RCPT positions"))
        #expect(screen.contains("30 deferred"))
        // Postfix's two deliveries of the message interleave in its log; the view puts the
        // recipients that fared alike together, the deferred ones first: one row of 30.
        let deferredRows = screen.split(separator: "\n").filter { $0.contains("452 4.5.3 Too many recipients") }
        #expect(deferredRows.count == 1, "\(screen)")
        #expect(deferredRows.first?.contains("30 recipients") == true, "\(screen)")
        #expect(deferredRows.first?.contains("deferred") == true, "\(screen)")
        let recipientRows = screen.split(separator: "\n").filter { $0.contains("recipients: ") }
        #expect(recipientRows.first?.contains("452 4.5.3") == true, "the deferred ones come first: \(screen)")
        #expect(!screen.contains("TXN"))

        // h: postsuper -h puts it in the hold queue, as postqueue -j says.
        try tmux.keys("h")
        screen = try tmux.wait("the hold answer") { $0.contains("held; u releases it") }
        #expect(screen.contains("postsuper -h \(qid): exit 0"))
        #expect(try postfix.queue().first?["queue_name"] as? String == "hold")
        try tmux.wait("the hold queue on screen") { $0.contains("queue: hold") }
        // u: out of it again.
        try tmux.keys("u")
        try tmux.wait("the release answer") { $0.contains("released (postsuper -H \(qid): exit 0)") }
        #expect(try postfix.queue().first?["queue_name"] as? String == "deferred")

        // The message opened on its first recipient not delivered: Space marks that run, and R
        // would retry just those. Postfix retries whole messages, and the question says so.
        // y: postqueue -i on the message's current queue id.
        try tmux.keys("Space", "R")
        try tmux.wait("the whole-message question") { $0.contains("Postfix retries whole messages") }
        try tmux.keys("y")
        try tmux.wait("50 delivered", seconds: 30) { $0.contains("50 delivered") }

        // r, y: postqueue -i; 20 more past the peer's limit, and none is left.
        try tmux.keys("r")
        try tmux.wait("the retry question") { $0.contains("now? y/n") }
        try tmux.keys("y")
        try tmux.wait("60 delivered", seconds: 30) { $0.contains("60 delivered") }
        screen = try tmux.wait("every recipient delivered") { $0.contains("60 delivered · 0 deferred") }
        #expect(peer.waitForRecipients(60).filter { !$0.sender.isEmpty }.flatMap(\.rcpts).count == 60)
        #expect(!screen.contains("452 4.5.3 Too many recipients"), "no recipient is shown deferred any more: \(screen)")
    }

    /// An admin requeues a deferred message (`postsuper -r`): Postfix gives it a new queue id and
    /// tries it again at once. The monitor follows it: the same message, its history kept, no row
    /// for the new id, and `h` holds it under its new id.
    @Test func aRequeuedMessageStaysItself() throws {
        let scratch = try TempDir()
        let (postfix, peer, qid) = try Self.deferredMessage(in: scratch)
        defer { withExtendedLifetime(peer) {} }  // its next attempt goes to this peer
        let tmux = try TmuxSession(width: 120, height: 32, command: "\(Built.binary("relaywatch")) --postfix --postfix-config \(postfix.config) --queue-interval 1")
        try tmux.wait("the deferred message", seconds: 20) { $0.contains(qid) && $0.contains("30/0/0/30") && $0.contains("deferred 452 4.5.3") }
        try postfix.run(["/usr/sbin/postsuper", "-c", postfix.config, "-r", qid])
        // The requeued file waits in maildrop for pickup's next wake-up (a minute); kick it now.
        try postfix.run(["/usr/sbin/postkick", "-c", postfix.config, "public", "pickup", "W"])
        #expect(postfix.waitFor { $0.contains("orig_id=\(qid)") })
        let newID = try #require(postfix.log.split(separator: "\n").first { $0.contains("orig_id=\(qid)") }?
            .split(separator: " ").first { $0.hasSuffix(":") && $0.count > 6 && !$0.contains("[") }.map { String($0.dropLast()) })
        #expect(newID != qid)
        // Its new attempt takes 20 more: 50 delivered, 10 still deferred, all under its first id.
        var screen = try tmux.wait("the requeued message's new attempt", seconds: 20) { $0.contains("50/0/0/10") && $0.contains("deferred 452 4.5.3") }
        let rows = screen.split(separator: "\n").filter { $0.contains("sender@exampl") }
        #expect(rows.count == 1 && rows[0].hasPrefix(qid), "\(screen)")
        #expect(!screen.contains(newID), "no row for the new queue id: \(screen)")
        try tmux.keys("h")
        screen = try tmux.wait("the hold answer") { $0.contains("held; u releases it") }
        #expect(screen.contains("postsuper -h \(newID): exit 0"), "\(screen)")
        let queued = try postfix.queue().first
        #expect(queued?["queue_id"] as? String == newID)
        #expect(queued?["queue_name"] as? String == "hold")
        try tmux.wait("held on screen") { $0.split(separator: "\n").contains { $0.hasPrefix(qid) && $0.contains(" hold ") } }
    }

    /// Not root, and not in authorized_mailq_users: the monitor says why the queue is out of
    /// reach and goes on with the log alone; hold and release say they need root. Run as nobody in
    /// a private mount namespace whose /etc/postfix allows the test's configuration directory
    /// (Postfix takes -c from an unprivileged user only for alternate_config_directories); the
    /// host's own /etc/postfix is never touched.
    @Test func withoutRootTheLogGoesOnReadOnly() throws {
        let scratch = try TempDir()
        let (postfix, peer, qid) = try Self.deferredMessage(in: scratch, settings: "authorized_mailq_users = root")
        defer { withExtendedLifetime(peer) {} }
        chmod(postfix.maillog, 0o644)
        let etc = scratch.path + "/etc-postfix"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try "alternate_config_directories = \(postfix.config)\ncompatibility_level = 3.6\n".write(toFile: etc + "/main.cf", atomically: true, encoding: .utf8)
        for name in ["dynamicmaps.cf", "master.cf", "postfix-files"] {
            try? FileManager.default.copyItem(atPath: "/etc/postfix/" + name, toPath: etc + "/" + name)
        }
        chmod(etc, 0o755)
        let monitor = "\(Built.binary("relaywatch")) --postfix --postfix-config \(postfix.config) --queue-interval 1"
        let tmux = try TmuxSession(width: 120, height: 30, command:
            "unshare -m sh -c 'mount --bind \(etc) /etc/postfix && exec setpriv --reuid=nobody --regid=nogroup --clear-groups \(monitor)'")
        let screen = try tmux.wait("the refusal", seconds: 20) { $0.contains("permission denied, log only") }
        #expect(screen.contains("not allowed to view the mail queue"), "\(screen)")
        // The log still shows the message and its deferred recipients.
        let row = try #require(screen.split(separator: "\n").first { $0.contains(qid) }, "\(screen)")
        #expect(row.contains("30/0/0/30"))
        try tmux.keys("h")
        try tmux.wait("hold refused") { $0.contains("permission denied by the relay: this view is read-only") }
        #expect(try postfix.queue().first?["queue_name"] as? String == "deferred", "nothing was held")
    }
}


/// What the Postfix source refuses before running anything: every command line it would build
/// carries a checked queue id of this host.
@Suite struct PostfixSourceRefusals {
    func answer(_ action: RelayAction, uid: uid_t) -> RelayAnswer? {
        let shared = SharedTranslator(LogTranslator(format: .postfix, reference: Timestamp(seconds: 0)))
        for text in ["Nov 29 08:00:00 mx1 postfix/qmgr[1]: ABCDE1: from=<s@x>, size=1, nrcpt=1 (queue active)",
                     "Nov 29 08:00:00 mx2 postfix/qmgr[1]: ABCDE1: from=<s@x>, size=1, nrcpt=1 (queue active)"] {
            var line = Array(text.utf8)
            _ = line.withUnsafeMutableBytes { shared.translator.translate(UnsafeRawBufferPointer($0)) }
        }
        let source = PostfixSource(options: PostfixOptions(configDirectory: "/nonexistent"), translator: shared, uid: uid)
        for m in source.perform(action, now: 0) { if case .relayAnswer(let a) = m { return a } }
        return nil
    }

    @Test func holdAndReleaseNeedRoot() {
        let a = answer(.hold(msg: "ABCDE1"), uid: 1000)
        #expect(a?.ok == false)
        #expect(a?.detail?.contains("postsuper needs root") == true)
        #expect(answer(.release(msg: "ABCDE1"), uid: 1000)?.code == "not-root")
    }

    @Test func anythingButAQueueIDIsRefused() {
        for id in ["-rf", "ABC; rm -rf /", "../x", ""] {
            let a = answer(.retry(msg: id, rcpts: nil), uid: 0)
            #expect(a?.ok == false, "\(id)")
            #expect(a?.code == "bad-id", "\(id): \(a?.detail ?? "")")
        }
    }

    @Test func anotherHostsMessageIsOutOfReach() {
        let a = answer(.retry(msg: "mx2/ABCDE1", rcpts: nil), uid: 0)
        #expect(a?.code == "remote")
    }
}
