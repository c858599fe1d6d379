import Foundation
import Synchronization

/// The recipient limits next hops have shown (RFC 5321 §4.5.3.1.10: remembered so later
/// transactions to that peer split at its limit instead of meeting too-many again), each with the
/// time it was learned, kept in the spool so a restart does not meet every limit afresh.
///
/// A limit is the peer's latest word: a lower one replaces it at once. Past `lifetime` it is
/// stale: the next transaction may carry the route's full batch, and if the peer takes more than
/// the old limit it is forgotten (the peer raised it), or its new too-many teaches the new one.
final class PeerLimits: Sendable {
    struct Learned: Sendable, Equatable {
        var limit: Int
        var learned: Double
    }

    private let known: Mutex<[String: Learned]>
    private let lifetime: Double
    private let spool: Spool?

    init(spool: Spool?, lifetime: Double) {
        self.spool = spool
        self.lifetime = lifetime
        known = Mutex((try? spool?.peerLimits()) ?? [:])
    }

    /// The limit to split at now; nil when none is known or the known one is stale.
    func limit(for peer: String, now: Double = Date().timeIntervalSince1970) -> Int? {
        known.withLock { k in
            guard let l = k[peer], now - l.learned < lifetime else { return nil }
            return l.limit
        }
    }

    /// What one transaction showed: `sent` RCPTs, and the limit if the peer said too-many after
    /// accepting some.
    func observe(peer: String, sent: Int, limit: Int?, now: Double = Date().timeIntervalSince1970) {
        enum Change { case keep, store(Learned), forget }
        let change: Change = known.withLock { k in
            if let limit {
                if let old = k[peer], old.limit == limit, now - old.learned < lifetime { return .keep }
                let l = Learned(limit: limit, learned: now)
                k[peer] = l
                return .store(l)
            }
            if let old = k[peer], now - old.learned >= lifetime, sent > old.limit {
                k[peer] = nil
                return .forget
            }
            return .keep
        }
        // A limit lost in a crash is only relearned; the spool write is best effort.
        switch change {
        case .keep: break
        case .store(let l): try? spool?.savePeerLimit(peer, l)
        case .forget: try? spool?.forgetPeerLimit(peer)
        }
    }
}
