/// Input the monitor reacts to, as the backend decodes it from the terminal.
public enum Key: Sendable, Hashable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace
    /// Ctrl-C arrives as a key in raw mode; it quits like q at the top level.
    case interrupt
}

/// A mouse action, in screen cells.
public enum Mouse: Sendable, Hashable {
    case wheelUp, wheelDown
    case click(x: Int, y: Int)
}

/// Everything the event loop feeds the update step.
public enum AppEvent: Sendable {
    case key(Key)
    case mouse(Mouse)
    case resize(width: Int, height: Int)
    /// Time passes (ages, the sparkline, status messages that expire). Seconds since the epoch.
    case tick(Double)
}
