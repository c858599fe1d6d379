import RelayCore

/// The whole screen as a function of the monitor's state.
public enum Render {
    public static func frame(_ m: Monitor) -> Grid {
        var g = Grid(width: m.width, height: m.height)
        guard m.height >= 4, m.width >= 20 else {
            g.put("relaywatch: terminal too small", x: 0, y: 0, role: .warning)
            return g
        }
        Chrome.header(m, into: &g)
        switch m.screen {
        case .list:
            ListView.render(m, into: &g)
            Chrome.footer(m, hints: m.live.link == .none ? ListView.hints : ListView.liveHints, into: &g)
        case .message(let id, let tab):
            MessageView.render(m, id: id, tab: tab, into: &g)
            Chrome.footer(m, hints: m.live.link == .none ? MessageView.hints : MessageView.liveHints, into: &g)
        }
        if m.helpVisible { Help.overlay(into: &g) }
        return g
    }
}

/// The `?` overlay: every key, and what each recipient letter means.
enum Help {
    static let lines: [String] = [
        "relaywatch keys",
        "",
        "↑ ↓ j k        move            PgUp PgDn   page",
        "g G Home End   first / last    Enter       open message",
        "Tab ← →        next tab        Esc q       back (q quits the list)",
        "/              filter: address, domain, queue id, code:552, rule:ndr-count-mismatch",
        "a              anomalies only  f           show finished messages",
        "s              sort            t           next theme",
        "r              retry the message (asks first)   h u   hold / release",
        "space          mark a recipient (Recipients tab)   R   retry the marked ones",
        "",
        "recipient letters (colour is never the only sign)",
        "D delivered   A accepted, awaiting end of data   . no reply yet",
        "T temporary refusal (4xx)   F permanent refusal (5xx)   L too many (452/552 limit)",
        "lower case (d t f l): also named in an NDR   ! the relay got this recipient wrong",
        "",
        "any key closes this",
    ]

    static func overlay(into g: inout Grid) {
        let w = min(g.width - 2, (lines.map(Grid.displayWidth).max() ?? 40) + 4)
        let h = min(g.height - 2, lines.count + 2)
        let x0 = max(0, (g.width - w) / 2), y0 = max(0, (g.height - h) / 2)
        for y in y0..<(y0 + h) { g.fill(y: y, from: x0, to: x0 + w, role: .border) }
        for (n, line) in lines.prefix(h - 2).enumerated() {
            g.put(line, x: x0 + 2, y: y0 + 1 + n, role: n == 0 || n == 11 ? .title : .text, limit: w - 4)
        }
    }
}
