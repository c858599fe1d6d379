/// A key as the backend decodes it from the terminal.
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

/// Every input the monitor reacts to, as a message to its one update function
/// (``Monitor/update(_:)``): the terminal's keys, mouse and size, time, the log, the relay, and
/// the answers to effects the runtime carried out. Nothing else changes the monitor's state.
public enum Msg: Sendable {
    case key(Key)
    case mouse(Mouse)
    case resize(width: Int, height: Int)
    /// Time passes (ages, the sparkline, notices that expire). Seconds since the epoch.
    case tick(Double)
    /// Delivery-log lines read from the file.
    case logLines(LineBatch)
    /// A later part of the log read on another core (``MonitorPart``), to merge after the lines
    /// read so far; `lineOffset`: the lines before it.
    case logPart(MonitorPart, lineOffset: Int)
    /// Where the log follower is (loading, following, waiting for the file, failing).
    case follower(FollowerStatus)
    /// The relay link changed state.
    case relayLink(RelayLink)
    /// The relay's queue as it is now.
    case relayQueue(QueueSnapshot)
    /// Delivery events the relay pushed (when there is no log file to read them from).
    case relayEvents(LineBatch)
    /// The relay's answer to an action the monitor asked for.
    case relayAnswer(RelayAnswer)
    /// Events the relay could not send us (a slow view); the queue was sent again instead.
    case relayDropped(Int)
    /// Something from the relay the monitor cannot use, in words.
    case relayProblem(String)
    /// A theme was loaded (the answer to ``Effect/loadTheme(_:)``), with what was wrong in it.
    case themeLoaded(name: String, warnings: [String])
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT: leave as q does.
    case terminate
}

/// What the update function asks the runtime to do. The state owns nothing that blocks: sockets,
/// files, processes and the terminal are the runtime's.
public enum Effect: Sendable, Equatable {
    /// Ask the relay to retry, hold or release.
    case relay(RelayAction)
    /// Load this theme and apply it to the terminal.
    case loadTheme(String)
    case quit
}
