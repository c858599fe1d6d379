/// A rectangle of screen cells.
public struct Rect: Sendable, Equatable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    /// The row below the last.
    public var bottom: Int { y + height }

    /// This rectangle without its first `n` rows.
    public func dropping(_ n: Int) -> Rect { Rect(x: x, y: y + min(n, height), width: width, height: height - min(n, height)) }

    /// The first `n` rows of this rectangle.
    public func taking(_ n: Int) -> Rect { Rect(x: x, y: y, width: width, height: min(n, height)) }
}

/// Where everything goes on a screen of a given size: one description that the update step
/// (page sizes, scroll limits, mouse rows) and the views both read, so neither repeats the other's
/// row arithmetic.
public struct Layout: Sendable, Equatable {
    public let width: Int
    public let height: Int

    public init(width: Int, height: Int) {
        self.width = max(1, width)
        self.height = max(1, height)
    }

    /// Too small to draw anything but a line saying so.
    public var tooSmall: Bool { height < 4 || width < 20 }

    public var header: Rect { Rect(x: 0, y: 0, width: width, height: 1) }
    /// Between the header and the two bottom lines.
    public var body: Rect { Rect(x: 0, y: 1, width: width, height: height - 3) }
    /// Notices, the filter being typed, questions.
    public var status: Rect { Rect(x: 0, y: height - 2, width: width, height: 1) }
    /// The key-hint bar.
    public var keys: Rect { Rect(x: 0, y: height - 1, width: width, height: 1) }

    // MARK: the list (and the destinations view, which has the same shape)

    /// The column titles.
    public var listTitles: Rect { body.taking(1) }
    /// One message a row.
    public var listRows: Rect { body.dropping(1) }

    // MARK: a message

    /// The most rows the summary band above a message's tabs may take: enough for the usual
    /// message, never so many that the recipients are pushed off a small screen.
    public var bandLimit: Int { height < 12 ? 0 : max(2, (height - 9) / 2) }

    /// A message's screen with a summary band of `bandRows` (at most ``bandLimit``).
    public func message(bandRows: Int) -> MessageLayout {
        let band = min(bandRows, bandLimit)
        let title = body.taking(1)
        let bandRect = body.dropping(1).taking(band)
        let tabs = body.dropping(1 + band).taking(1)
        return MessageLayout(title: title, band: bandRect, tabs: tabs, content: body.dropping(2 + band))
    }
}

/// The parts of a message's screen.
public struct MessageLayout: Sendable, Equatable {
    public var title: Rect
    public var band: Rect
    public var tabs: Rect
    /// Below the tabs: a tab's own rows (the Recipients tab's first is its column titles).
    public var content: Rect

    /// The rows a tab scrolls through: the Recipients tab keeps its first row for column titles.
    public func rows(_ tab: Monitor.Tab) -> Rect { tab == .recipients ? content.dropping(1) : content }
}

/// Scrolling that follows a cursor, the same way in every scrolled view.
enum Scroll {
    /// The first row to show so that `cursor` is in sight: `top` moved as little as needed, and
    /// never past the last screenful of `count` rows.
    static func top(_ top: Int, keeping cursor: Int, rows: Int, count: Int) -> Int {
        var t = top
        if cursor < t { t = cursor }
        if cursor >= t + rows { t = cursor - rows + 1 }
        return max(0, min(t, max(0, count - rows)))
    }
}
