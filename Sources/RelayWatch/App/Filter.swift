import RelayCore

/// The `/` filter: words that must all match. `code:552` matches a message with that reply code,
/// `rule:ndr-count-mismatch` one with that finding, `dest:127.0.0.1:2526` one with recipients at
/// that next hop (or, for recipients never sent, that domain); any other word matches part of
/// the queue id, the sender, or a recipient's address or domain (case ignored).
public struct MessageFilter: Sendable, Equatable {
    enum Term: Equatable {
        case code(Int)
        case rule(String)
        case destination(String)
        case text(String)
    }

    let terms: [Term]
    public let source: String

    public init(_ text: String) {
        source = text
        terms = text.split(separator: " ").map { word in
            let w = word.lowercased()
            if w.hasPrefix("code:"), let c = Int(w.dropFirst(5)) { return .code(c) }
            if w.hasPrefix("rule:") { return .rule(String(w.dropFirst(5))) }
            if w.hasPrefix("dest:") { return .destination(String(w.dropFirst(5))) }
            return .text(w)
        }
    }

    public var isEmpty: Bool { terms.isEmpty }

    /// Whether a `dest:` term needs each message's destinations.
    var namesDestinations: Bool { terms.contains { if case .destination = $0 { return true }; return false } }

    public func matches(_ s: MessageSummary, addresses: () -> [String], destinations: () -> [DestinationTally] = { [] }) -> Bool {
        var lowered: [String]? = nil
        for term in terms {
            switch term {
            case .code(let c):
                guard s.codes.contains(c) else { return false }
            case .rule(let r):
                guard s.anomalies.contains(where: { $0.rule.rawValue == r || $0.rule.rawValue.hasPrefix(r) }) else { return false }
            case .destination(let d):
                guard destinations().contains(where: { $0.name.lowercased() == d }) else { return false }
            case .text(let t):
                if s.id.lowercased().contains(t) || s.from.lowercased().contains(t) { continue }
                if lowered == nil { lowered = addresses().map { $0.lowercased() } }
                guard lowered!.contains(where: { $0.contains(t) }) else { return false }
            }
        }
        return true
    }
}
