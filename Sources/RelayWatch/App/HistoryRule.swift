/// Which finished messages the monitor keeps: past the limit (and a quarter more, so the order
/// list is not shifted for every message that finishes), the oldest go; those with findings the
/// admin has not seen stay, up to as many again; pinned ones (open, selected) always. One rule for
/// the monitor's history and for a part of the log loaded on another core (``MonitorPart``).
enum HistoryRule {
    /// The messages to keep, oldest first, and those to forget (with whether each had a finding
    /// nobody acknowledged); nil when the history is within bounds.
    static func trim<Entry>(_ order: [Entry], limit: Int, pinned: (Entry) -> Bool, finding: (Entry) -> Bool)
        -> (kept: [Entry], forgotten: [(entry: Entry, finding: Bool)])? {
        guard order.count > limit + limit / 4 else { return nil }
        var excess = order.count - limit
        var kept: [Entry] = []
        kept.reserveCapacity(limit)
        var forgotten: [(entry: Entry, finding: Bool)] = []
        var keptFindings = 0
        for e in order {
            if pinned(e) { kept.append(e); continue }
            if finding(e) {
                keptFindings += 1
                kept.append(e)
                continue
            }
            if excess > 0 { forgotten.append((e, false)); excess -= 1 } else { kept.append(e) }
        }
        // Findings nobody acknowledges must not grow memory without end: past the limit again,
        // the oldest go too.
        if keptFindings > limit {
            var drop = keptFindings - limit
            kept = kept.filter { e in
                guard drop > 0, !pinned(e), finding(e) else { return true }
                forgotten.append((e, true))
                drop -= 1
                return false
            }
        }
        return (kept, forgotten)
    }
}
