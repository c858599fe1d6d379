import CTerminal
import RelayCore
#if canImport(Glibc)
import Glibc
#endif

/// What `relaywatch` was asked to watch, and how.
public struct MonitorOptions: Sendable {
    public var logPath: String?
    public var socketPath: String?
    /// No actions on the relay.
    public var readonly = false
    /// Finished messages kept in memory (`--keep`); unacknowledged findings past it up to as many again.
    public var keepFinished = 5_000
    /// Always on the status line (the demo's note).
    public var banner: String?
    public var start: LogFollower.StartPoint = .beginning
    /// Only events at or after this time (seconds since the epoch).
    public var since: Double?
    public var theme: String?
    public var themeFolders: [String] = []
    public var environment: [String: String] = [:]
    /// Take SIGTERM, SIGHUP, SIGINT and SIGQUIT as a message (the real program; tests leave the
    /// test runner's signals alone).
    public var catchSignals = true
    /// Who writes the log: mailrelayd (v1, read as it is) or Postfix (through its adapter).
    public var format: LogFormat = .mailrelayd
    /// Cores to load a large log with (see ``MonitorPart``).
    public var jobs = ReportBuilder.defaultJobs
    /// A Postfix host: its queue tools are the relay source (the log is `logPath`, or the
    /// journal when `format` is `.journal`).
    public var postfix: PostfixOptions?
    /// An Exim host: its queue tools are the relay source (the log is `logPath`).
    public var exim: EximOptions?

    public init(logPath: String?, socketPath: String? = nil) {
        self.logPath = logPath
        self.socketPath = socketPath
    }
}

/// The monitor's event loop, which owns everything that blocks: the terminal, the log follower,
/// the relay source, the termination signals and the clock. Each turn it turns what arrived into
/// messages for ``Monitor/update(_:)``, carries out the effects that come back, and draws at most
/// 30 frames a second, only when something changed. Every terminal call and every update is
/// on this one thread; only a large log's later parts are read on others (``MonitorPart``).
public final class MonitorRuntime {
    public private(set) var monitor: Monitor
    let terminal: Terminal
    let follower: LogFollower?
    let source: RelaySource?
    /// Another MTA's log lines to v1 (shared with its relay source, which needs the same keys).
    let translator: SharedTranslator?
    /// `journalctl --follow -o json`, when the log is the journal.
    private var journal: ChildProcess?
    private var journalLines = LineSplitter()
    private var journalNumber = 0
    let options: MonitorOptions
    private let signalFD: Int32
    private var lastFollower: FollowerStatus?
    /// A large log's later parts, read on other cores while the follower loads the first.
    private var parts: PartLoad?
    /// Parts of the log read on other cores and merged, and those the follower read itself
    /// instead (for the tests and the benchmark).
    public private(set) var partsMerged = 0
    public private(set) var partsReadHere = 0
    private var lastFrame = 0.0
    private var needsFrame = true
    public private(set) var finished = false

    /// The relay source is mailrelayd's control socket when `--socket` names one; a test or
    /// another source kind passes its own.
    public init(options: MonitorOptions, terminal: Terminal, source: RelaySource? = nil) {
        self.options = options
        self.terminal = terminal
        // With a log, events come from it; the socket adds the live queue and the actions. With
        // the socket alone, the relay pushes the events too.
        var translator: SharedTranslator? = nil
        if options.format == .postfix || options.format == .journal || options.format == .exim {
            translator = SharedTranslator(LogTranslator(format: options.format, reference: Timestamp(seconds: Self.clock()),
                                                        utcOffset: LogTranslator.localUTCOffset()))
        }
        self.translator = translator
        if let source {
            self.source = source
        } else if let postfix = options.postfix, let translator {
            self.source = PostfixSource(options: postfix, translator: translator)
        } else if let exim = options.exim {
            self.source = EximSource(options: exim)
        } else {
            self.source = options.socketPath.map { ControlClient(path: $0, subscribe: options.logPath == nil) }
        }
        follower = options.format == .journal ? nil : options.logPath.map { LogFollower(path: $0, start: options.start) }
        // mailrelayd's log from its start: the parts after the first are read on other cores.
        if let follower, translator == nil, options.start == .beginning, options.since == nil, let path = options.logPath,
           let load = PartLoad(path: path, jobs: options.jobs, historyLimit: options.keepFinished) {
            parts = load
            follower.stop = load.ranges[1].lowerBound
        }
        let loaded = ThemeLoader.resolve(options.theme, folders: options.themeFolders, environment: options.environment)
        var settings = Monitor.Settings()
        settings.label = options.format == .journal ? "journal (Postfix)" : options.logPath ?? ""
        settings.live = options.logPath == nil && options.format != .journal
        settings.readonly = options.readonly
        settings.historyLimit = options.keepFinished
        settings.banner = options.banner
        settings.traits = self.source?.traits ?? options.format.traits
        settings.link = self.source?.link
        settings.themeNames = ThemeLoader.available(in: options.themeFolders)
        settings.theme = loaded.theme.name
        settings.since = options.since
        settings.notices = loaded.warnings
        monitor = Monitor(settings)
        terminal.apply(loaded.theme)
        signalFD = options.catchSignals ? rw_termination_signals_fd() : -1
        let (w, h) = terminal.size
        send(.resize(width: w, height: h))
        if options.format == .journal { startJournal() }
    }

    /// journalctl, following Postfix's records from `since` (or the last day).
    private func startJournal() {
        let since = options.since.map { "@\(Int($0))" } ?? "-24h"
        do {
            journal = try ChildProcess(JournalQuery.argv(follow: true, since: since))
            send(.follower(FollowerStatus(state: .following)))
        } catch {
            send(.follower(FollowerStatus(state: .failed(error.description))))
        }
    }

    /// One line of the log through the adapter, into the batch as the events it gave.
    private func translate(_ bytes: UnsafeRawBufferPointer, number: Int, overlong: Bool, into batch: inout LineBatch) {
        guard let translator else { return batch.append(bytes, number: number, overlong: overlong) }
        if overlong { return batch.noteProblem(number: number, "line longer than \(LogDecoder.maxLineLength) bytes") }
        switch translator.translator.translate(bytes) {
        case nil: return batch.append(bytes, number: number, overlong: false)
        case .malformed(let why)?: batch.noteProblem(number: number, why)
        case .used?, .ignored?, .truncated?, .deferred?: break
        }
        for event in translator.translator.events { batch.append(event, number: number) }
    }

    /// What journalctl wrote since the last turn; its end (or failure) on the header.
    private func readJournal(into batch: inout LineBatch) -> Bool {
        guard let child = journal else { return false }
        var read = false
        let ended = child.readOutput { chunk in
            read = true
            journalLines.feed(chunk) { _, bytes, overlong in
                journalNumber += 1
                translate(bytes, number: journalNumber, overlong: overlong, into: &batch)
            }
        }
        child.readErrors()
        if ended, child.reap() != nil {
            journal = nil
            send(.follower(FollowerStatus(state: .failed(child.failure ?? "journalctl ended"))))
        }
        return read
    }

    deinit { if signalFD >= 0 { close(signalFD) } }

    /// Runs until the monitor quits; the exit status.
    public func run() -> Int32 {
        while step() {}
        return 0
    }

    /// One turn of the loop. `wait`: sleep in poll(2) until input or the next frame is due.
    /// Returns false once the monitor has quit.
    @discardableResult
    public func step(wait: Bool = true) -> Bool {
        guard !finished else { return false }
        let now = Self.clock()
        send(.tick(now), redraw: false)

        // Keys first: they must be answered within a frame, however busy the log is.
        answerKeys()

        // The log: slices of it for at most a frame's time, keys answered between slices, so a
        // big file loads (or a busy one is followed) without a key waiting behind it.
        var read = false
        if let follower {
            let until = now + Self.readTime
            var more = true
            while more {
                mergeReadyPart(follower)
                var batch = LineBatch(expecting: Self.readBudget)
                more = follower.poll(budget: Self.readBudget) { number, bytes, overlong in
                    translate(bytes, number: number, overlong: overlong, into: &batch)
                }
                read = read || more
                if batch.hasContent { send(.logLines(batch)) }
                answerKeys()
                if finished || Self.clock() >= until { break }
            }
            let status = FollowerStatus(follower)
            if status != lastFollower {
                lastFollower = status
                send(.follower(status))
            }
        }

        if journal != nil {
            var batch = LineBatch()
            read = readJournal(into: &batch) || read
            if batch.hasContent { send(.logLines(batch)) }
        }

        // The relay: never blocks, reconnects by itself.
        if let source { for m in source.poll(now: now) { send(m) } }

        if signalFD >= 0, rw_read_termination_signal(signalFD) != 0 { send(.terminate) }
        guard !finished else { return false }

        if needsFrame, now - lastFrame >= 1.0 / 30 {
            terminal.draw(Render.frame(monitor))
            lastFrame = now
            needsFrame = false
        } else if now - lastFrame >= 1 {
            // Ages and the sparkline move once a second even when nothing happens.
            needsFrame = true
        }

        if wait, !read {
            var fds = [pollfd(fd: terminal.inputDescriptor, events: Int16(POLLIN), revents: 0)]
            if signalFD >= 0 { fds.append(pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)) }
            for fd in source?.descriptors ?? [] { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            if let journal { fds.append(pollfd(fd: journal.stdoutFD, events: Int16(POLLIN), revents: 0)) }
            fds = fds.filter { $0.fd >= 0 }
            // A part read on another core may be ready any moment: look again soon.
            _ = poll(&fds, nfds_t(fds.count), parts != nil ? 5 : needsFrame ? 33 : 100)
        }
        return true
    }

    /// At a cut, once the part after it is read: merged into the monitor and skipped by the
    /// follower; if it cannot be merged (it failed, or an id was queued again in it while in
    /// flight here), the follower reads it itself. A rotation or truncation meanwhile ends the
    /// plan (the parts' threads finish and are dropped): the follower reads on as it does any file.
    private func mergeReadyPart(_ follower: LogFollower) {
        guard let load = parts, follower.isOpen else { return }
        // (A follower no longer catching up came to the end before the cut: the file shrank.)
        guard let stop = follower.stop, follower.fileID == load.fileID, follower.state == .catchingUp else {
            load.abandon()
            parts = nil
            return
        }
        guard follower.offset == stop, let worker = load.ready() else { return }
        let linesBefore = follower.lines
        if worker.failure == nil, monitor.canMerge(worker.part),
           follower.skip(to: load.ranges[load.next].upperBound, lines: worker.part.lines) {
            send(.logPart(worker.part, lineOffset: linesBefore))
            partsMerged += 1
        } else {
            partsReadHere += 1
        }
        worker.part = MonitorPart(historyLimit: 0)
        load.next += 1
        follower.stop = load.next < load.ranges.count ? load.ranges[load.next].lowerBound : nil
        if follower.stop == nil { parts = nil }
    }

    /// Keys that arrived, each to the monitor, and a frame at once: a key's answer does not wait
    /// for the frame pacing that holds back redraws for log lines (keys come at a human rate).
    private func answerKeys() {
        let input = terminal.pendingInput()
        guard !input.isEmpty else { return }
        for m in input { send(m) }
        guard !finished else { return }
        terminal.draw(Render.frame(monitor))
        lastFrame = Self.clock()
        needsFrame = false
    }

    /// A message to the monitor, and its effects carried out.
    private func send(_ msg: Msg, redraw: Bool = true) {
        if redraw { needsFrame = true }
        for effect in monitor.update(msg) {
            switch effect {
            case .quit:
                finished = true
            case .relay(let action):
                let answers = source?.perform(action, now: Self.clock())
                    ?? [.relayAnswer(RelayAnswer(action: action, ok: false, detail: "no relay to send it to"))]
                for m in answers { send(m) }
            case .loadTheme(let name):
                let loaded = ThemeLoader.resolve(name, folders: options.themeFolders, environment: options.environment)
                terminal.apply(loaded.theme)
                send(.themeLoaded(name: name, warnings: loaded.warnings))
            }
        }
    }

    /// Bytes of log read per slice, and the time a turn may spend on slices before it draws:
    /// enough to load a large log fast, little enough that keys and frames keep their pace.
    /// (Slices of 2 MB made the whole-log load 2.1x the report's time instead of 1.4-1.6x; a
    /// followed log brings far less than a slice per turn, so keys do not wait behind one.)
    static let readBudget = 8 << 20
    static let readTime = 0.025

    static func clock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
