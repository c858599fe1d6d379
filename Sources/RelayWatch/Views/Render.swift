import RelayCore

/// The whole screen as a function of the monitor's state.
public enum Render {
    public static func frame(_ m: Monitor) -> Grid {
        var g = Grid(width: m.width, height: m.height)
        guard !m.layout.tooSmall else {
            g.put("relaywatch: terminal too small", x: 0, y: 0, role: .warning)
            return g
        }
        Chrome.header(m, into: &g)
        switch m.screen {
        case .list: ListView.render(m, into: &g)
        case .message(let id, let tab): MessageView.render(m, id: id, tab: tab, into: &g)
        case .destinations: DestinationsView.render(m, into: &g)
        }
        Chrome.footer(m, into: &g)
        if let top = m.helpTop { Help.overlay(m, top: top, into: &g) }
        return g
    }
}

/// The `?` overlay: the key table itself (every key, on the screens it works on), then what each
/// recipient letter means. It scrolls when the screen is short.
enum Help {
    static func overlay(_ m: Monitor, top: Int, into g: inout Grid) {
        let lines = KeyMap.helpLines(relay: m.live.link != nil)
        let w = min(g.width - 2, (lines.map { Grid.displayWidth($0.text) }.max() ?? 40) + 4)
        let h = min(g.height - 2, lines.count + 2)
        let x0 = max(0, (g.width - w) / 2), y0 = max(0, (g.height - h) / 2)
        for y in y0..<(y0 + h) { g.fill(y: y, from: x0, to: x0 + w, role: .border) }
        let first = max(0, min(top, lines.count - (h - 2)))
        for (n, line) in lines.dropFirst(first).prefix(h - 2).enumerated() {
            g.put(line.text, x: x0 + 2, y: y0 + 1 + n, role: line.heading ? .title : .text, limit: w - 4)
        }
    }
}
