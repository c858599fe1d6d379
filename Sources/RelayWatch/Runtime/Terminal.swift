#if canImport(Glibc)
import Glibc
#endif

/// What the runtime needs of a terminal: its size, its input, and somewhere to draw. The curses
/// backend is one; ``TestTerminal`` is another, so the whole monitor runs in a test without a tty.
public protocol Terminal: AnyObject {
    var size: (width: Int, height: Int) { get }
    /// Keys, mouse events and resizes waiting, decoded (``Msg/key(_:)``, ``Msg/mouse(_:)``,
    /// ``Msg/resize(width:height:)``); never blocks.
    func pendingInput() -> [Msg]
    /// Readable when input is waiting, for poll(2); -1 when there is none to wait on.
    var inputDescriptor: Int32 { get }
    /// Shows the grid (the backend sends only what changed).
    func draw(_ grid: Grid)
    /// Paints the roles with this theme from the next draw on.
    func apply(_ theme: Theme)
}

/// A terminal in memory: the test types keys and reads back the last frame drawn, exactly what
/// the curses backend would have been handed.
public final class TestTerminal: Terminal {
    public private(set) var size: (width: Int, height: Int)
    /// The last frame drawn, and how many there were.
    public private(set) var screen: Grid?
    public private(set) var frames = 0
    public private(set) var theme: Theme?
    private var input: [Msg] = []
    private let wake: (read: Int32, write: Int32)

    public init(width: Int, height: Int) {
        size = (width, height)
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        wake = (fds[0], fds[1])
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// Keys as the admin would type them.
    public func type(_ keys: Key...) {
        input += keys.map { .key($0) }
        _ = write(wake.write, "k", 1)
    }

    /// The window changes size.
    public func resize(width: Int, height: Int) {
        size = (width, height)
        input.append(.resize(width: width, height: height))
        _ = write(wake.write, "r", 1)
    }

    public func pendingInput() -> [Msg] {
        var drain = [UInt8](repeating: 0, count: 64)
        while read(wake.read, &drain, drain.count) > 0 {}
        defer { input = [] }
        return input
    }

    public var inputDescriptor: Int32 { wake.read }

    public func draw(_ grid: Grid) {
        screen = grid
        frames += 1
    }

    public func apply(_ theme: Theme) { self.theme = theme }

    /// The last frame as text (empty before the first).
    public var text: String { screen?.text ?? "" }
}
