/// A colour as a theme file names it, before it meets a terminal.
public enum TermColor: Sendable, Hashable {
    /// The terminal's own foreground or background (`default`).
    case terminalDefault
    /// A palette index: 0–15 are the named ANSI colours, 16–255 the xterm 256-colour cube and greys.
    case indexed(UInt8)
    case rgb(UInt8, UInt8, UInt8)

    static let names: [String: UInt8] = [
        "black": 0, "red": 1, "green": 2, "yellow": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7,
        "gray": 8, "grey": 8, "bright-black": 8, "bright-red": 9, "bright-green": 10, "bright-yellow": 11,
        "bright-blue": 12, "bright-magenta": 13, "bright-cyan": 14, "bright-white": 15,
    ]

    /// `red`, `bright-blue`, `default`, `#rrggbb`, or a 256-colour index as a string.
    public init?(_ spec: String) {
        let s = spec.lowercased()
        if s == "default" || s == "none" { self = .terminalDefault; return }
        if let n = TermColor.names[s] { self = .indexed(n); return }
        if s.hasPrefix("#"), s.count == 7, let v = UInt32(s.dropFirst(), radix: 16) {
            self = .rgb(UInt8(v >> 16), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF))
            return
        }
        if let n = Int(s), (0...255).contains(n) { self = .indexed(UInt8(n)); return }
        return nil
    }

    public init?(index: Int) {
        guard (0...255).contains(index) else { return nil }
        self = .indexed(UInt8(index))
    }

    /// The palette index to use on a terminal with `colors` colours (8, 16, 256 or more); nil
    /// for the terminal's default. True colour is mapped down to the nearest cube or grey entry,
    /// and indices past what the terminal has to the nearest of its colours.
    public func index(forColors colors: Int) -> Int? {
        switch self {
        case .terminalDefault: return nil
        case .indexed(let i):
            if Int(i) < colors { return Int(i) }
            return nearest(TermColor.rgb(of: Int(i)), colors: colors)
        case .rgb(let r, let g, let b):
            return nearest((r, g, b), colors: colors)
        }
    }

    /// The RGB value of a palette entry (xterm's defaults).
    static func rgb(of i: Int) -> (UInt8, UInt8, UInt8) {
        let basic: [(UInt8, UInt8, UInt8)] = [
            (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
            (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
        ]
        if i < 16 { return basic[i] }
        if i < 232 {
            let c = i - 16
            let level: (Int) -> UInt8 = { $0 == 0 ? 0 : UInt8(55 + $0 * 40) }
            return (level(c / 36), level(c / 6 % 6), level(c % 6))
        }
        let g = UInt8(8 + (i - 232) * 10)
        return (g, g, g)
    }
}

/// Nearest palette entry by squared distance in RGB (good enough to keep reds red and greys grey).
/// On 256-colour terminals only the fixed cube and greys (16-255) are searched: users repaint the
/// first sixteen, so "#ff0000" must not come out as whatever their "bright red" is.
private func nearest(_ c: (UInt8, UInt8, UInt8), colors: Int) -> Int {
    let range = colors >= 256 ? 16..<256 : 0..<max(1, min(colors, 16))
    var best = range.lowerBound, bestDistance = Int.max
    for i in range {
        let p = TermColor.rgb(of: i)
        let dr = Int(p.0) - Int(c.0), dg = Int(p.1) - Int(c.1), db = Int(p.2) - Int(c.2)
        let d = dr * dr + dg * dg + db * db
        if d < bestDistance { bestDistance = d; best = i }
    }
    return best
}

/// How a role looks: colours and attributes.
public struct Style: Sendable, Hashable {
    public var fg: TermColor = .terminalDefault
    public var bg: TermColor = .terminalDefault
    public var bold = false
    public var dim = false
    public var underline = false
    public var reverse = false

    public init(fg: TermColor = .terminalDefault, bg: TermColor = .terminalDefault,
                bold: Bool = false, dim: Bool = false, underline: Bool = false, reverse: Bool = false) {
        self.fg = fg
        self.bg = bg
        self.bold = bold
        self.dim = dim
        self.underline = underline
        self.reverse = reverse
    }

    /// The same attributes without colour (monochrome terminals, NO_COLOR).
    public var withoutColour: Style {
        Style(bold: bold, dim: dim, underline: underline, reverse: reverse)
    }
}
