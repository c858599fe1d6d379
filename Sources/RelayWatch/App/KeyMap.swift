/// Everything a key can do.
enum Command: Sendable, Equatable {
    case up, down, pageUp, pageDown, first, last
    case open, expand, collapse, nextTab, previousTab, nextFlagged, previousFlagged, showDestination
    case acknowledge, acknowledgeAll
    case retry, retryMarked, mark, hold, release
    case filter, clearFilter, everything, findingsOnly, sort, destinations
    case back, theme, help, quit
}

/// The screens keys are bound on.
enum ScreenKind: Sendable, CaseIterable {
    case list, message, destinations
}

/// One key binding: what the dispatch obeys, what the hint bar shows and what `?` explains, in
/// one place, so the three cannot disagree.
struct KeyBinding: Sendable {
    let keys: [Key]
    /// How the help names the keys ("↑ k", "Enter →").
    let label: String
    let command: Command
    let screens: Set<ScreenKind>
    let summary: String
    /// On the hint bar: the key's short name and one word, when it earns a place there.
    let hint: (key: String, word: String)?
    /// Acts on the relay: shown only when there is one.
    let relay: Bool
    /// Kept at the right end of the hint bar whatever the width (help, quit, back).
    let pinned: Bool

    init(_ keys: [Key], _ label: String, _ command: Command, _ screens: Set<ScreenKind>, _ summary: String,
         hint: (String, String)? = nil, relay: Bool = false, pinned: Bool = false) {
        self.keys = keys
        self.label = label
        self.command = command
        self.screens = screens
        self.summary = summary
        self.hint = hint.map { (key: $0.0, word: $0.1) }
        self.relay = relay
        self.pinned = pinned
    }
}

enum KeyMap {
    static let all: Set<ScreenKind> = Set(ScreenKind.allCases)

    /// In the order the hint bar gives room (the most useful first) and the help lists them.
    static let bindings: [KeyBinding] = [
        .init([.down, .char("j")], "↓ j", .down, all, "move down", hint: ("↑↓", "move")),
        .init([.up, .char("k")], "↑ k", .up, all, "move up"),
        .init([.pageDown], "PgDn", .pageDown, all, "page down"),
        .init([.pageUp], "PgUp", .pageUp, all, "page up"),
        .init([.home, .char("g")], "g Home", .first, all, "first row"),
        .init([.end, .char("G")], "G End", .last, all, "last row"),
        .init([.enter], "Enter", .open, [.list], "open the selected message", hint: ("Enter", "open")),
        .init([.enter, .right], "Enter →", .expand, [.message], "expand the run under the cursor", hint: ("Enter", "expand")),
        .init([.left], "←", .collapse, [.message], "collapse it again"),
        .init([.char("n")], "n", .nextFlagged, [.message], "next flagged recipient", hint: ("n/N", "flagged")),
        .init([.char("N")], "N", .previousFlagged, [.message], "previous flagged recipient"),
        .init([.tab], "Tab", .nextTab, [.message], "next tab: Recipients, Transcript, Anomalies", hint: ("Tab", "tab")),
        .init([.backTab], "S-Tab", .previousTab, [.message], "previous tab"),
        .init([.enter], "Enter", .showDestination, [.destinations], "list that destination's messages", hint: ("Enter", "its messages")),
        .init([.char("x")], "x", .acknowledge, [.list, .message], "acknowledge a message's findings (x again undoes)", hint: ("x", "ack")),
        .init([.char("X")], "X", .acknowledgeAll, [.list], "acknowledge every message shown", hint: ("X", "ack all")),
        .init([.char("r")], "r", .retry, [.list, .message], "retry the message now (asks first)", hint: ("r", "retry"), relay: true),
        .init([.char(" ")], "space", .mark, [.message], "mark recipients in the Recipients tab", hint: ("space", "mark"), relay: true),
        .init([.char("R")], "R", .retryMarked, [.message], "retry the marked recipients", hint: ("R", "retry marked"), relay: true),
        .init([.char("h")], "h", .hold, [.list, .message], "hold the message", hint: ("h/u", "hold/release"), relay: true),
        .init([.char("u")], "u", .release, [.list, .message], "release it", relay: true),
        .init([.char("a")], "a", .findingsOnly, [.list], "only messages with findings, finished or not (a again: back)", hint: ("a", "findings")),
        .init([.char("f")], "f", .everything, [.list], "every message, finished ones too (f again: back)", hint: ("f", "all")),
        .init([.char("/")], "/", .filter, [.list], "filter: address, domain, queue id, dest:HOP, code:552, rule:ID", hint: ("/", "filter")),
        .init([.escape], "Esc", .clearFilter, [.list], "clear the filter"),
        .init([.char("d")], "d", .destinations, [.list, .message], "destinations: each next hop and domain", hint: ("d", "dests")),
        .init([.char("s")], "s", .sort, [.list], "sort: age, findings, recipients, queue id", hint: ("s", "sort")),
        .init([.char("t")], "t", .theme, all, "next theme"),
        .init([.escape, .char("q")], "Esc q", .back, [.message, .destinations], "back to the list", hint: ("Esc", "back"), pinned: true),
        .init([.char("?")], "?", .help, all, "this help", hint: ("?", "help"), pinned: true),
        .init([.char("q")], "q", .quit, [.list], "quit", hint: ("q", "quit"), pinned: true),
        .init([.interrupt], "Ctrl-C", .quit, all, "quit from anywhere"),
    ]

    /// The command a key has on a screen.
    static func command(for key: Key, on screen: ScreenKind) -> Command? {
        bindings.first { $0.screens.contains(screen) && $0.keys.contains(key) }?.command
    }

    /// The hint bar's entries for a screen: the unpinned ones in order, the pinned ones last.
    static func hints(on screen: ScreenKind, relay: Bool) -> (left: [(String, String)], pinned: [(String, String)]) {
        var left: [(String, String)] = [], pinned: [(String, String)] = []
        for b in bindings where b.screens.contains(screen) && (relay || !b.relay) {
            guard let h = b.hint else { continue }
            if b.pinned { pinned.append((h.key, h.word)) } else { left.append((h.key, h.word)) }
        }
        return (left, pinned)
    }

    /// The help text: every binding under the screens it works on, then what the letters mean.
    static func helpLines(relay: Bool) -> [(text: String, heading: Bool)] {
        var out: [(String, Bool)] = [("relaywatch keys", true)]
        var shown = Set<Int>()
        let groups: [(String, (KeyBinding) -> Bool)] = [
            ("everywhere", { $0.screens == all }),
            ("the list", { $0.screens.contains(.list) && !$0.relay }),
            ("a message", { $0.screens.contains(.message) && !$0.relay }),
            ("destinations", { $0.screens.contains(.destinations) }),
            (relay ? "the relay" : "the relay (needs --socket)", { $0.relay }),
        ]
        for (title, belongs) in groups {
            let entries = bindings.indices.filter { !shown.contains($0) && belongs(bindings[$0]) }
            guard !entries.isEmpty else { continue }
            out.append(("", false))
            out.append((title, true))
            for i in entries {
                shown.insert(i)
                out.append(("  " + Format.cell(bindings[i].label, 9) + bindings[i].summary, false))
            }
        }
        out += [
            ("", false),
            ("recipient letters (colour is never the only sign)", true),
            ("  D delivered   A accepted, awaiting end of data   . no reply yet", false),
            ("  T temporary refusal (4xx)   F permanent refusal (5xx)   L too many (452/552)", false),
            ("  lower case (d t f l): also named in an NDR   ! the relay got it wrong", false),
            ("  ▸ a run of recipients with the same replies (Enter opens it)", false),
            ("", false),
            ("↑↓ PgUp PgDn scroll this help; any other key closes it", false),
        ]
        return out
    }
}
