import Foundation
import Synchronization

/// Next hops that could not be reached, or would not talk, a moment ago. While one is dead the
/// jobs queued for it are deferred at once with the reason it failed, instead of each waiting for
/// its own connect or greeting timeout (Postfix's dead-destination cache does the same). The next
/// attempt after `deadHopTime` tries the hop again; one that answers is alive at once.
final class DeadHops: Sendable {
    struct Dead: Sendable {
        var since: Double
        var why: String
    }

    private let dead = Mutex<[String: Dead]>([:])
    let time: Double

    init(time: Double) { self.time = time }

    /// The failure that makes `hop` dead now, if any.
    func check(_ hop: String, now: Double = Date().timeIntervalSince1970) -> Dead? {
        dead.withLock { d in
            guard let entry = d[hop] else { return nil }
            if now - entry.since >= time { d[hop] = nil; return nil }
            return entry
        }
    }

    func failed(_ hop: String, _ why: String, now: Double = Date().timeIntervalSince1970) {
        dead.withLock { d in if d[hop] == nil { d[hop] = Dead(since: now, why: why) } }
    }

    func answered(_ hop: String) {
        dead.withLock { d in _ = d.removeValue(forKey: hop) }
    }

    /// The deferral reason for a job that was not tried because its hop is dead.
    func reason(_ hop: String, _ entry: Dead, now: Double = Date().timeIntervalSince1970) -> String {
        let ago = max(0, Int(now - entry.since))
        let again = max(0, Int((entry.since + time - now).rounded(.up)))
        return "not attempted: \(hop) failed \(ago)s ago (\(entry.why)); it is tried again in \(again)s"
    }
}
