import CNcurses
import CTerminal
import RelayWatch
#if canImport(Glibc)
import Glibc
#endif

/// The only code that talks to curses: sets the terminal up, flushes a grid to it with the
/// theme's styles, decodes keys and mouse, and puts the terminal back on every way out.
/// All calls happen on the thread that runs the event loop (curses is not thread-safe).
final class CursesTerminal: Terminal {
    private var styles: [Role: (attrs: attr_t, pair: Int32)] = [:]
    private(set) var colors: Int = 0

    init() {
        rw_install_crash_restore()
        setlocale(LC_ALL, "")
        // The window's real size: use_tioctl makes the terminal's own report win over a stale
        // LINES/COLUMNS in the environment. (use_env(false) would be wrong: it ignores the window
        // size too and falls back to terminfo's 80x24.)
        use_env(true)
        use_tioctl(true)
        initscr()
        raw()  // Ctrl-C arrives as a key: q-like, and the terminal is ours to restore
        noecho()
        nonl()
        keypad(rw_stdscr(), true)
        nodelay(rw_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        if has_colors() {
            start_color()
            use_default_colors()
        }
        colors = has_colors() ? Int(rw_colors()) : 0
        mousemask(rw_mouse_mask(), nil)
        mouseinterval(0)
    }

    func shutdown() {
        endwin()
    }

    var size: (width: Int, height: Int) { (Int(rw_cols()), Int(rw_lines())) }

    /// Maps each role to curses attributes and a colour pair for this terminal's palette.
    func apply(_ theme: Theme) {
        styles = [:]
        var pairs: [[Int32]: Int32] = [:]
        let maxPairs = Int(rw_color_pairs())
        for role in Role.allCases {
            let style = theme.style(role)
            var attrs = rw_attr_normal()
            if style.bold { attrs |= rw_attr_bold() }
            if style.dim { attrs |= rw_attr_dim() }
            if style.underline { attrs |= rw_attr_underline() }
            if style.reverse { attrs |= rw_attr_reverse() }
            var pair: Int32 = 0
            if colors >= 8 {
                let fg = Int32(style.fg.index(forColors: colors) ?? -1)
                let bg = Int32(style.bg.index(forColors: colors) ?? -1)
                if fg != -1 || bg != -1 {
                    if let p = pairs[[fg, bg]] {
                        pair = p
                    } else if pairs.count + 1 < maxPairs {
                        pair = Int32(pairs.count + 1)
                        init_extended_pair(pair, fg, bg)
                        pairs[[fg, bg]] = pair
                    }
                }
            }
            styles[role] = (attrs, pair)
        }
    }

    /// Draws the grid and shows it (curses sends only what changed since the last frame).
    func draw(_ grid: Grid) {
        let (w, h) = size
        for y in 0..<min(h, grid.height) {
            var x = 0
            while x < min(w, grid.width) {
                let cell = grid[x, y]
                if cell.width == 0 { x += 1; continue }
                let style = styles[cell.role] ?? (rw_attr_normal(), 0)
                var text = Array(String(cell.text).unicodeScalars.map { wchar_t(bitPattern: $0.value) })
                text.append(0)
                // A wide character in the last column cannot be drawn whole: leave it blank.
                if cell.width == 2 && x + 1 >= w { text = [wchar_t(32), 0] }
                _ = rw_put_cell(Int32(y), Int32(x), text, style.attrs, style.pair)
                x += 1
            }
        }
        refresh()
    }

    /// curses reads the terminal on standard input.
    var inputDescriptor: Int32 { 0 }

    /// Every key, mouse event and resize waiting, decoded (non-blocking).
    func pendingInput() -> [Msg] {
        var out: [Msg] = []
        while true {
            var ch: wint_t = 0
            let rc = get_wch(&ch)
            if rc == ERR { break }
            if rc == KEY_CODE_YES {
                switch Int32(ch) {
                case KEY_UP: out.append(.key(.up))
                case KEY_DOWN: out.append(.key(.down))
                case KEY_LEFT: out.append(.key(.left))
                case KEY_RIGHT: out.append(.key(.right))
                case KEY_PPAGE: out.append(.key(.pageUp))
                case KEY_NPAGE: out.append(.key(.pageDown))
                case KEY_HOME: out.append(.key(.home))
                case KEY_END: out.append(.key(.end))
                case KEY_ENTER: out.append(.key(.enter))
                case KEY_BACKSPACE: out.append(.key(.backspace))
                case KEY_BTAB: out.append(.key(.backTab))
                case KEY_RESIZE:
                    // The next draw repaints every cell: after a resize the terminal's content is
                    // not what curses believes it is (tmux and others clear or reflow it).
                    clear()
                    let (w, h) = size
                    out.append(.resize(width: w, height: h))
                case KEY_MOUSE:
                    var event = MEVENT()
                    if getmouse(&event) == OK {
                        if rw_wheel_up(event.bstate) != 0 {
                            out.append(.mouse(.wheelUp))
                        } else if rw_wheel_down(event.bstate) != 0 {
                            out.append(.mouse(.wheelDown))
                        } else if rw_button1(event.bstate) != 0 {
                            out.append(.mouse(.click(x: Int(event.x), y: Int(event.y))))
                        }
                    }
                default: break
                }
                continue
            }
            switch ch {
            case 3: out.append(.key(.interrupt))
            case 9: out.append(.key(.tab))
            case 10, 13: out.append(.key(.enter))
            case 27: out.append(.key(.escape))
            case 8, 127: out.append(.key(.backspace))
            default:
                if let scalar = Unicode.Scalar(UInt32(ch)), ch >= 32 { out.append(.key(.char(Character(scalar)))) }
            }
        }
        return out
    }
}
