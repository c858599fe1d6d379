/// One character cell: a grapheme, how many columns it takes, and the role it is painted with.
public struct Cell: Sendable, Hashable {
    public var text: Character
    /// 1 or 2; 0 for the second column of a wide character.
    public var width: UInt8
    public var role: Role

    public static let blank = Cell(text: " ", width: 1, role: .text)
}

/// The screen as views draw it: an in-memory grid of cells with roles (ratatui's Buffer). One
/// backend flushes it to curses; tests read it directly.
public struct Grid: Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Fills a row segment with spaces of a role (a bar's background).
    public mutating func fill(y: Int, from x: Int = 0, to end: Int? = nil, role: Role) {
        guard y >= 0, y < height else { return }
        for cx in max(0, x)..<min(width, end ?? width) { self[cx, y] = Cell(text: " ", width: 1, role: role) }
    }

    /// Writes text from (x, y), clipped at `limit` columns (or the right edge). Characters are
    /// placed at their display width (a CJK character takes two cells); one that would not fit
    /// whole is left out. Returns the column after the text.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, role: Role, limit: Int? = nil) -> Int {
        guard y >= 0, y < height else { return x }
        let end = min(width, limit.map { x + $0 } ?? width)
        var cx = x
        for ch in text {
            var w = Grid.displayWidth(ch)
            if ch == "\t" || ch.isNewline { w = 1 }
            if w == 0 { continue }  // a lone combining mark: nothing of its own to draw
            if cx + w > end { break }
            if cx >= 0 {
                // A control character is its own Character (CR LF is a newline): its first scalar tells.
                let shown: Character = ch.isNewline || ch == "\t" || ch.unicodeScalars.first!.isTerminalControl ? "·" : ch
                self[cx, y] = Cell(text: shown, width: UInt8(w), role: role)
                if w == 2, cx + 1 < width { self[cx + 1, y] = Cell(text: " ", width: 0, role: role) }
            }
            cx += w
        }
        return cx
    }

    /// The row as text (wide characters once), for tests and for reading the screen back.
    public func line(_ y: Int) -> String {
        var s = ""
        for x in 0..<width where self[x, y].width > 0 { s.append(self[x, y].text) }
        return s
    }

    /// The whole grid as text, rows joined by newlines, trailing spaces kept.
    public var text: String { (0..<height).map(line).joined(separator: "\n") }

    /// The role of each cell of a row, for tests that check colours by role.
    public func roles(_ y: Int) -> [Role] { (0..<width).map { self[$0, y].role } }

    /// Columns a character takes on a terminal: 0 for combining marks and zero-width characters,
    /// 2 for East Asian wide and full-width characters and emoji presentation, else 1.
    public static func displayWidth(_ ch: Character) -> Int {
        guard let first = ch.unicodeScalars.first else { return 0 }
        let v = first.value
        if v < 0x300 { return 1 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if first.properties.isEmojiPresentation { return 2 }
        let wide: [ClosedRange<UInt32>] = [
            0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x20000...0x3FFFD,
        ]
        return wide.contains { $0.contains(v) } ? 2 : 1
    }

    /// Display width of a string.
    public static func displayWidth(_ s: String) -> Int { s.reduce(0) { $0 + displayWidth($1) } }
}
