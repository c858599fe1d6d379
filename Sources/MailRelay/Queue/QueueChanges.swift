import Foundation
import RelayCore

/// Which queued messages changed since a version, so a control client can ask for the changes
/// (protocol v2 `snapshot` with `since`) instead of the whole queue every few seconds.
///
/// Every change to a message (queued, an attempt starting or settling, a hold, a retry) moves the
/// queue's version on by one and stamps the message with it; a message leaving the queue is kept
/// in a bounded list of removals. Versions start at the relay's start time in microseconds, so a
/// version from before a restart is older than any this run hands out and gets a full snapshot,
/// never a delta against a queue it did not see.
package struct QueueChanges {
    package private(set) var version: Int64
    private var stamped: [String: Int64] = [:]
    /// Removals, oldest first, with the version each was made at; at most `keep` of them.
    private var removals: [(id: String, version: Int64)] = []
    private var removalsStart = 0
    /// A delta from before this version could miss a removal that was forgotten.
    private var horizon: Int64
    let keep: Int

    package init(startedAt: Double = Date().timeIntervalSince1970, keep: Int = 100_000) {
        // The version before this run's first change.
        version = Int64(startedAt * 1_000_000)
        horizon = version
        self.keep = max(1, keep)
    }

    package mutating func touch(_ id: String) {
        version += 1
        stamped[id] = version
    }

    package mutating func removed(_ id: String) {
        version += 1
        stamped[id] = nil
        removals.append((id, version))
        if removals.count - removalsStart > keep {
            horizon = removals[removalsStart].version
            removalsStart += 1
            // Compact now and then, not on every removal.
            if removalsStart > keep {
                removals.removeFirst(removalsStart)
                removalsStart = 0
            }
        }
    }

    /// The messages changed and removed after `since`, or nil when this run cannot say (a version
    /// it never handed out, or one so old that removals since were forgotten): then the client
    /// needs the whole queue.
    package func since(_ since: Int64) -> (changed: Set<String>, removed: [String])? {
        guard since >= horizon, since <= version else { return nil }
        if since == version { return ([], []) }
        var changed = Set<String>()
        for (id, v) in stamped where v > since { changed.insert(id) }
        var gone: [String] = []
        var k = removals.count - 1
        while k >= removalsStart, removals[k].version > since {
            gone.append(removals[k].id)
            k -= 1
        }
        return (changed, gone.reversed())
    }
}

/// One answer to `snapshot`: the queue's version, and either every message or (with `since`)
/// the messages changed after that version and the ids of those that left.
struct QueueView: Sendable {
    var version: Int64
    var since: Int64?
    var entries: [QueueEntry] = []
    var removed: [String] = []
}
