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

/// The `?` help, over the whole body: the key table itself (every key, on the screens it works
/// on), then what each recipient letter means. It scrolls when the screen is short.
enum Help {
    static func overlay(_ m: Monitor, top: Int, into g: inout Grid) {
        let lines = KeyMap.helpLines(relay: m.live.link != nil)
        let body = m.layout.body
        for y in body.y..<body.bottom { g.fill(y: y, role: .text) }
        let w = min(g.width - 2, (lines.map { Grid.displayWidth($0.text) }.max() ?? 40) + 4)
        let x0 = max(0, (g.width - w) / 2)
        let first = max(0, min(top, lines.count - body.height))
        for (n, line) in lines.dropFirst(first).prefix(body.height).enumerated() {
            g.put(line.text, x: x0 + 2, y: body.y + n, role: line.heading ? .title : .text, limit: w - 4)
        }
    }
}
