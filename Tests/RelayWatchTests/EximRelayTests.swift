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
