import Foundation
import MailRelay
import RelayPeers
import RelaySockets
import Synchronization

/// The demo's receiving servers: real SMTP listeners on 127.0.0.1 that behave like the servers a
/// smarthost meets. One stops at 20 recipients per transaction with "552 5.5.3" (the KB822105
/// server); the other stops at 30 with "452 4.5.3", greylists one domain and refuses unknown users.
struct DemoPeers {
    /// Recipient limit 20, answered 552 5.5.3.
    let strict: SinkPeer
    /// Recipient limit 30, answered 452 4.5.3; greylisting; unknown users.
    let greylisting: SinkPeer

    static func start(greylistDelay: Double) async throws -> DemoPeers {
        let policy = DemoPolicy(greylistDelay: greylistDelay)
        let strict = try await SinkPeer.start(limit: 20, tooMany: "552 5.5.3 Too many recipients", policy: policy.decide)
        do {
            let greylisting = try await SinkPeer.start(limit: 30, tooMany: "452 4.5.3 Too many recipients", policy: policy.decide)
            return DemoPeers(strict: strict, greylisting: greylisting)
        } catch {
            await strict.stop()
            throw error
        }
    }

    func stop() async {
        await strict.stop()
        await greylisting.stop()
    }
}

/// Per-recipient refusals, the same for both peers: a local part starting with "nobody" or
/// "unknown" does not exist (550 5.1.1); in `greylist.example` a sender and recipient pair seen for
/// the first time is told to come back later (451 4.7.1), and accepted once `greylistDelay` passed.
final class DemoPolicy: Sendable {
    let greylistDelay: Double
    private let firstSeen = Mutex([String: Double]())

    init(greylistDelay: Double) { self.greylistDelay = greylistDelay }

    func decide(sender: String, recipient: String) -> String? {
        let parts = recipient.lowercased().split(separator: "@", maxSplits: 1)
        guard parts.count == 2 else { return "501 5.1.3 Bad recipient address syntax" }
        if parts[0].hasPrefix("nobody") || parts[0].hasPrefix("unknown") {
            return "550 5.1.1 <\(recipient)>: Recipient address rejected: User unknown in virtual mailbox table"
        }
        if parts[1] == DemoTraffic.greylistDomain {
            let now = Date().timeIntervalSince1970
            let key = sender.lowercased() + "\u{0}" + recipient.lowercased()
            let first = firstSeen.withLock { seen in
                if let t = seen[key] { return t }
                seen[key] = now
                return now
            }
            if now - first < greylistDelay {
                return "451 4.7.1 <\(recipient)>: Recipient address rejected: Greylisted, try again in \(Int(greylistDelay))s"
            }
        }
        return nil
    }
}
