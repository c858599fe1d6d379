import CTerminal
import RelayCore
import RelayWatch
#if canImport(Glibc)
import Glibc
#endif

/// What `relaywatch` was asked to watch: a log, a control socket, or both.
public struct MonitorOptions: Sendable {
    public var logPath: String?
    public var socketPath: String?
    /// No actions on the relay.
    public var readonly = false
    /// Always on the status line (the demo's note).
    public var banner: String?
    public var start: LogFollower.StartPoint = .beginning
    /// Only events at or after this time (seconds since the epoch).
    public var since: Double?
    public var theme: String?
    public var themeFolders: [String] = []
    public var environment: [String: String] = [:]

    public init(logPath: String?, socketPath: String? = nil) {
        self.logPath = logPath
        self.socketPath = socketPath
    }
}

/// The event loop: one thread, every curses call on it. It waits in poll(2) on the terminal and a
/// signalfd for SIGTERM/SIGHUP/SIGINT (so a kill restores the terminal like q does), follows the
/// log between waits with a read budget (the first screen comes before a large log is loaded),
/// and redraws at most 30 times a second, only when something changed.
public enum MonitorLoop {
    public static func run(_ options: MonitorOptions) -> Int32 {
        var monitor = Monitor()
        monitor.source.label = options.logPath ?? ""
        if options.logPath == nil { monitor.source.state = "live" }
        monitor.readonly = options.readonly
        monitor.banner = options.banner
        // With a log, events come from it; the socket adds the live queue and the actions. With
        // the socket alone, the relay pushes the events too.
        let client = options.socketPath.map { ControlClient(path: $0, subscribe: options.logPath == nil) }
        if let client { monitor.live.link = client.state }
        let loaded = ThemeLoader.resolve(options.theme, folders: options.themeFolders, environment: options.environment)
        monitor.notices = loaded.warnings
        var names = ThemeLoader.available(in: options.themeFolders)
        if !names.contains(loaded.theme.name) { names.insert(loaded.theme.name, at: 0) }
        monitor.themeNames = names
        while monitor.themeName != loaded.theme.name, monitor.themeNames.count > 1 { _ = monitor.update(.key(.char("t"))) }

        // Termination signals through a descriptor, not a handler: no global state, and the loop
        // sees them between frames.
        let signalFD = rw_termination_signals_fd()

        let terminal = CursesTerminal()
        defer { terminal.shutdown() }
        terminal.apply(loaded.theme)
        var (w, h) = terminal.size
        _ = monitor.update(.resize(width: w, height: h))

        let follower = options.logPath.map { LogFollower(path: $0, start: options.start) }
        var lastFrame = 0.0
        var changed = true
        while true {
            let now = clock()
            _ = monitor.update(.tick(now))

            // Keys first: they must be answered within a frame, however busy the log is.
            for event in terminal.pendingEvents() {
                if case .resize(let nw, let nh) = event {
                    (w, h) = (nw, nh)
                    terminal.repaintAll()
                }
                switch monitor.update(event) {
                case .quit: return 0
                case .control(let request):
                    if let client, client.isConnected { client.send(request) } else { monitor.say("not connected to the relay; nothing was sent") }
                case .themeChanged:
                    let next = ThemeLoader.resolve(monitor.themeName, folders: options.themeFolders, environment: options.environment)
                    terminal.apply(next.theme)
                    if !next.warnings.isEmpty { monitor.say(next.warnings.joined(separator: " · "), for: 15) }
                case .none: break
                }
                changed = true
            }

            // The log: a budget per pass so a big file loads between frames.
            var read = false
            if let follower {
                let cutoff = options.since
                read = follower.poll(budget: 8 << 20) { number, bytes, overlong in
                    if let cutoff, !overlong, case .event(let e) = LogDecoder.decode(bytes), e.ts.seconds < cutoff { return }
                    monitor.ingest(line: bytes, number: number, overlong: overlong)
                }
                monitor.source.bytesRead = follower.bytesRead
                monitor.source.bytesTotal = follower.catchUpSize
                monitor.source.catchingUp = follower.state == .catchingUp
                let state = describe(follower)
                if state != monitor.source.state { monitor.source.state = state; changed = true }
                if read { changed = true }
            }

            // The relay's control socket: never blocks, reconnects by itself.
            if let client {
                let incoming = client.poll(now: now)
                if !incoming.isEmpty { changed = true }
                for item in incoming { apply(item, to: &monitor, client: client, now: now) }
            }

            if readSignal(signalFD) { return 0 }

            if changed, now - lastFrame >= 1.0 / 30 {
                monitor.refresh()
                monitor.settleSelection()
                terminal.draw(Render.frame(monitor))
                lastFrame = now
                changed = false
            } else if now - lastFrame >= 1 {
                // Ages and the sparkline move once a second even when nothing happens.
                changed = true
            }

            if !read {
                var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
                if let client, client.fd >= 0 { fds.append(pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)) }
                _ = poll(&fds, nfds_t(fds.count), changed ? 33 : 100)
            }
        }
    }

    static func apply(_ item: ControlClient.Incoming, to monitor: inout Monitor, client: ControlClient, now: Double) {
        switch item {
        case .stateChanged(let state):
            monitor.linkChanged(state)
        case .snapshot(let entries, let relayNow):
            monitor.liveSnapshot(entries, relayNow: relayNow, received: now, enterUnknown: client.subscribe)
        case .event(let line):
            line.withUnsafeBytes { monitor.ingest(line: $0, number: 0, overlong: false) }
        case .overflow(let dropped):
            monitor.live.dropped += dropped
        case .response(let response, let request):
            monitor.answered(response, to: request)
            // The queue changed: see it now rather than at the next periodic snapshot.
            client.requestSnapshot(now)
        case .problem(let why):
            monitor.say(why, for: 10)
        }
    }

    static func describe(_ f: LogFollower) -> String {
        switch f.state {
        case .waiting: return "waiting for the file"
        case .catchingUp: return "loading"
        case .following: return f.rotations > 0 ? "following (rotated \(f.rotations)×)" : "following"
        case .failed(let why): return "cannot read: \(why)"
        }
    }

    static func readSignal(_ fd: Int32) -> Bool { rw_read_termination_signal(fd) != 0 }

    static func clock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
