import ArgumentParser
import Foundation
import RelayPeers
#if canImport(Glibc)
import Glibc
#endif

/// relaywatch kept open on a busy mailrelayd, the way an admin keeps it: two monitors in a real
/// terminal (tmux) while messages flow, one following the delivery log (rotated by the relay every
/// few seconds) with the socket for the live queue, one on the socket alone (subscribed to every
/// event). Prints what the user would feel and what the host pays:
///
/// - key-to-screen latency: `s` sent to tmux, the time until the pane shows the new sort on its
///   status line (tmux's own work included, so an upper bound), p50 and p99 beside the frame time;
/// - peak memory of mailrelayd and of each monitor, and the log monitor's memory as the run goes
///   (bounded by `--keep`, not by the messages seen);
/// - the relay's rate with the monitors attached beside its rate alone on the same job size;
/// - events: those in the log files against those each monitor read (rotation must lose none; the
///   socket monitor's events plus those the relay said it dropped must add up too), and whether
///   either still shows a message in flight once the relay's queue is empty.
struct MonitorLoadBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor-load",
        abstract: "relaywatch in tmux on mailrelayd under load: key latency, memory, rotation, the subscriber's cost.")

    @Option(help: "Messages to submit.") var messages = 10_000
    @Option(help: "Recipients per message.") var recipients = 100
    @Option(help: "The peer's recipient limit per transaction (then 452 4.5.3).") var limit = 50
    @Option(help: "Submitting clients in parallel.") var clients = 8
    @Option(help: "Finished messages each monitor keeps (relaywatch --keep).") var keep = 1000
    @Option(help: "mailrelayd's log_rotate_size.") var rotateSize = "8M"
    @Option(help: "Seconds between key probes.") var probeInterval = 0.25
    @Option(help: "Also write the figures as key=value lines to this file.") var figures: String?

    func run() throws {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let relaywatch = here.appendingPathComponent("relaywatch").path
        guard FileManager.default.isExecutableFile(atPath: relaywatch) else {
            throw ValidationError("\(relaywatch) is missing: build the relaywatch product in the same configuration")
        }
        let peer = try blocking { try await SinkPeer.start(limit: limit, tooMany: "452 4.5.3 Too many recipients") }
        defer { blocking { await peer.stop() } }
        print("job: \(messages) messages x \(recipients) recipients, \(clients) clients; peer takes \(limit) a transaction, then 452")

        // The relay alone, on a fifth of the job: its rate without anyone watching.
        let alone = try relayRun(peer, messages: max(1, messages / 5), monitors: false, relaywatch: relaywatch)
        print(String(format: "mailrelayd alone: %d messages, %.0f recipients/s", alone.messages, alone.rate))
        let watched = try relayRun(peer, messages: messages, monitors: true, relaywatch: relaywatch)
        let r = watched.result!

        func pct(_ xs: [Double], _ p: Double) -> Double {
            let s = xs.sorted()
            return s.isEmpty ? .nan : s[min(s.count - 1, Int(Double(s.count) * p))]
        }
        let p50 = pct(r.latencies, 0.5) * 1000, p99 = pct(r.latencies, 0.99) * 1000
        print("")
        print(String(format: "mailrelayd watched:   %.0f recipients/s (alone %.0f: %.0f%%)", watched.rate, alone.rate, 100 * watched.rate / alone.rate))
        print(String(format: "key to screen:        p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d keys (a frame is 33 ms)",
                     p50, p99, (r.latencies.max() ?? .nan) * 1000, r.latencies.count))
        print("peak memory:          mailrelayd \(mb(r.relayPeak)), relaywatch --log \(mb(r.logPeak)), relaywatch --socket \(mb(r.socketPeak))")
        print("relaywatch --log RSS: " + r.logSamples.map { "\($0.percent)% \(mb($0.rss))" }.joined(separator: ", "))
        print("log:                  \(r.logLines) events in \(r.logFiles) files (\(r.rotations) rotations, one every \(String(format: "%.1f", r.secondsPerRotation)) s)")
        print("relaywatch --log:     \(r.logMonitor.events) events read, \(r.logMonitor.finished) messages finished, \(r.logMonitor.agedOut) aged out; in flight at the end: \(r.logInFlight)")
        print("relaywatch --socket:  \(r.socketMonitor.events) events read + \(r.socketMonitor.dropped) dropped by the relay; in flight at the end: \(r.socketInFlight)")
        let lostLog = r.logLines - r.logMonitor.events
        let lostSocket = r.logLines - r.socketMonitor.events - r.socketMonitor.dropped
        print("unaccounted events:   --log \(lostLog), --socket \(lostSocket)")
        if let figures {
            let lines = [
                "load.messages=\(messages)", "load.recipients=\(messages * recipients)",
                String(format: "load.relay_rate=%.0f", watched.rate), String(format: "load.relay_rate_alone=%.0f", alone.rate),
                String(format: "load.key_p50_ms=%.1f", p50), String(format: "load.key_p99_ms=%.1f", p99),
                "load.keys=\(r.latencies.count)",
                "load.relay_peak_kb=\(r.relayPeak)", "load.log_monitor_peak_kb=\(r.logPeak)", "load.socket_monitor_peak_kb=\(r.socketPeak)",
                "load.log_events=\(r.logLines)", "load.rotations=\(r.rotations)",
                "load.log_monitor_events=\(r.logMonitor.events)", "load.socket_monitor_events=\(r.socketMonitor.events)",
                "load.socket_monitor_dropped=\(r.socketMonitor.dropped)",
                "load.unaccounted_log=\(lostLog)", "load.unaccounted_socket=\(lostSocket)",
                "load.in_flight_log=\(r.logInFlight)", "load.in_flight_socket=\(r.socketInFlight)",
                "load.log_monitor_finished=\(r.logMonitor.finished)", "load.log_monitor_aged_out=\(r.logMonitor.agedOut)",
                "load.log_monitor_rss_kb=\(r.logSamples.map { String($0.rss) }.joined(separator: ","))",
            ]
            try (lines.joined(separator: "\n") + "\n").write(toFile: figures, atomically: true, encoding: .utf8)
        }
    }

    func mb(_ kb: Int) -> String { String(format: "%.0f MB", Double(kb) / 1024) }

    struct Run {
        var messages: Int
        var rate: Double
        var result: Watched?
    }

    struct Watched {
        var latencies: [Double] = []
        var relayPeak = 0, logPeak = 0, socketPeak = 0
        var logSamples: [(percent: Int, rss: Int)] = []
        var logLines = 0, logFiles = 0, rotations = 0
        var secondsPerRotation = 0.0
        var logMonitor = Summary(), socketMonitor = Summary()
        var logInFlight = "?", socketInFlight = "?"
    }

    /// What relaywatch said on leaving (its stderr).
    struct Summary {
        var events = 0, finished = 0, agedOut = 0, dropped = 0

        init() {}

        init(_ text: String) {
            func number(before word: String) -> Int {
                guard let r = text.range(of: " " + word) else { return 0 }
                let digits = text[..<r.lowerBound].reversed().prefix { $0.isNumber || $0 == "," }
                return Int(String(digits.reversed()).replacingOccurrences(of: ",", with: "")) ?? 0
            }
            events = number(before: "events read")
            finished = number(before: "messages finished")
            agedOut = number(before: "aged out")
            dropped = number(before: "events dropped")
        }
    }

    // MARK: one run

    func relayRun(_ peer: SinkPeer, messages n: Int, monitors: Bool, relaywatch: String) throws -> Run {
        let dir = try freshDirectory("monitorload-\(getpid())-\(monitors)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (pid, port) = try launchMailrelayd(dir: dir, config: """
            listen = "127.0.0.1:0"
            spool = "\(dir)/spool"
            max_connections = 1000
            log_rotate_size = "\(rotateSize)"
            log_keep = 100000
            [default_route]
            next_hop = "127.0.0.1:\(peer.port)"
            connections = 20
            """)
        defer { kill(pid, SIGTERM); var s: Int32 = 0; waitpid(pid, &s, 0) }
        let log = dir + "/spool/delivery.log", socket = dir + "/spool/control.sock"
        let before = peer.received.recipients
        let total = n * recipients
        func delivered() -> Int { peer.received.recipients - before }

        guard monitors else {
            let start = Date().timeIntervalSince1970
            _ = submitJob(port: port, messages: n, recipients: recipients, clients: clients, tag: "alone")
            while delivered() < total { usleep(10_000) }
            return Run(messages: n, rate: Double(total) / (Date().timeIntervalSince1970 - start))
        }

        let tmux = Tmux(socket: "rwload-\(getpid())")
        defer { tmux.run(["kill-server"]) }
        let common = "\(relaywatch) --keep \(keep)"
        tmux.start("log", "\(common) --log \(log) --socket \(socket) 2>\(dir)/log.summary; sleep 600")
        tmux.start("sock", "\(common) --socket \(socket) 2>\(dir)/sock.summary; sleep 600")
        for s in ["log", "sock"] {
            guard tmux.waitFor(s, timeout: 20, { $0.contains("relay: connected") }) != nil else {
                throw ValidationError("relaywatch (\(s)) did not connect: \(tmux.screen(s))")
            }
        }
        // "Connected" is said once hello is answered; the socket monitor's subscribe follows it.
        // Events before the subscription are neither sent nor dropped for it: let it subscribe
        // before the first message, so the count of its events can be held to the log's.
        sleep(2)
        guard let logPID = tmux.pid(of: "relaywatch", in: "log"), let sockPID = tmux.pid(of: "relaywatch", in: "sock") else {
            throw ValidationError("cannot find the relaywatch processes")
        }

        var w = Watched()
        let done = DoneFlag()
        let start = Date().timeIntervalSince1970
        let submitter = Thread { [port, recipients, clients] in
            _ = submitJob(port: port, messages: n, recipients: recipients, clients: clients, tag: "watched")
            done.set()
        }
        submitter.start()
        let sorts = ["age", "findings", "recipients", "queue id"]
        var sort = 0
        var nextSample = 10
        let statusRow = Tmux.height - 2
        while delivered() < total || !done.isSet {
            // One key, and the time until the screen shows its answer.
            sort = (sort + 1) % sorts.count
            let sent = Date().timeIntervalSince1970
            tmux.run(["send-keys", "-t", "log", "s"])
            if tmux.waitFor("log", timeout: 5, row: statusRow, { $0.contains("sorted by \(sorts[sort])") }) != nil {
                w.latencies.append(Date().timeIntervalSince1970 - sent)
            } else {
                w.latencies.append(5)
            }
            w.relayPeak = max(w.relayPeak, rss(pid))
            w.logPeak = max(w.logPeak, rss(logPID))
            w.socketPeak = max(w.socketPeak, rss(sockPID))
            let percent = delivered() * 100 / max(1, total)
            if percent >= nextSample {
                w.logSamples.append((percent, rss(logPID)))
                nextSample += 20
            }
            usleep(useconds_t(probeInterval * 1_000_000))
        }
        let end = Date().timeIntervalSince1970
        // Both monitors must come to rest with nothing in flight, the relay's queue being empty.
        for (s, keyPath) in [("log", \Watched.logInFlight), ("sock", \Watched.socketInFlight)] {
            let screen = tmux.waitFor(s, timeout: 120, { $0.contains("in flight 0 ") }) ?? tmux.screen(s)
            let header = screen.split(separator: "\n").first.map(String.init) ?? ""
            w[keyPath: keyPath] = header.range(of: "in flight ").map { String(header[$0.upperBound...].prefix { $0.isNumber || $0 == "," }) } ?? "?"
        }
        w.relayPeak = max(w.relayPeak, peakRSS(pid))
        w.logPeak = max(w.logPeak, peakRSS(logPID))
        w.socketPeak = max(w.socketPeak, peakRSS(sockPID))
        // Nothing in flight can be the queue after an overflow speaking before the events behind
        // it are read: give the socket monitor time to read what is still on its way.
        sleep(10)
        for s in ["log", "sock"] { tmux.run(["send-keys", "-t", s, "q"]) }
        for _ in 0..<200 {
            let a = (try? String(contentsOfFile: dir + "/log.summary", encoding: .utf8)) ?? ""
            let b = (try? String(contentsOfFile: dir + "/sock.summary", encoding: .utf8)) ?? ""
            if a.contains("events read"), b.contains("events read") {
                w.logMonitor = Summary(a)
                w.socketMonitor = Summary(b)
                break
            }
            usleep(50_000)
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/spool")) ?? []).filter { $0.hasPrefix("delivery.log") }
        w.logFiles = files.count
        w.rotations = files.count - 1
        w.secondsPerRotation = (end - start) / Double(max(1, w.rotations))
        w.logLines = files.reduce(0) { $0 + lines(in: dir + "/spool/" + $1) }
        return Run(messages: n, rate: Double(total) / (end - start), result: w)
    }

    /// Non-blank lines of a file, by its newlines.
    func lines(in path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        var n = 0, blank = true
        for b in data {
            if b == 0x0A {
                if !blank { n += 1 }
                blank = true
            } else if b != 0x20 {
                blank = false
            }
        }
        return n
    }

    func rss(_ pid: pid_t) -> Int { status(pid, "VmRSS:") }
    func peakRSS(_ pid: pid_t) -> Int { status(pid, "VmHWM:") }

    /// A kB figure from /proc/PID/status.
    func status(_ pid: pid_t, _ key: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
}

final class DoneFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// A tmux server of the bench's own, driven with its command line.
struct Tmux {
    static let width = 200, height = 50
    let socket: String

    /// Runs a tmux command with posix_spawn and waitpid (Foundation's Process waits on a run
    /// loop, and the server a command starts inherits what the client had). Output is read only
    /// when asked for, from a close-on-exec pipe only the client holds.
    @discardableResult
    func run(_ args: [String], output: Bool = false) -> String {
        let argv = ["/usr/bin/env", "tmux", "-L", socket] + args
        var fds: [Int32] = [-1, -1]
        if output {
            guard pipe(&fds) == 0 else { return "" }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        if output {
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        var data = [UInt8]()
        if output {
            close(fds[1])
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while rc == 0 {
                let n = read(fds[0], &buffer, buffer.count)
                if n <= 0 { break }
                data += buffer[0..<n]
            }
            close(fds[0])
        }
        guard rc == 0 else { return "" }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return String(decoding: data, as: UTF8.self)
    }

    /// A session running `command` through a shell that waits for it (so the summary it writes
    /// on leaving lands in its file, and tmux never continues it behind our back).
    func start(_ name: String, _ command: String) {
        // The first starts the server with no config of the user's, and a terminal with colours.
        let server = ["-f", "/dev/null", "start-server", ";", "set", "-g", "default-terminal", "xterm-256color", ";"]
        run(server + ["new-session", "-d", "-s", name, "-x", String(Self.width), "-y", String(Self.height),
             "-e", "LANG=C.UTF-8", "-e", "NO_COLOR=", command])
    }

    func screen(_ session: String, row: Int? = nil) -> String {
        var args = ["capture-pane", "-p", "-t", session]
        if let row { args += ["-S", String(row), "-E", String(row)] }
        return run(args, output: true)
    }

    /// Polls the pane (or one row of it) until `condition` holds; the screen, or nil on timeout.
    func waitFor(_ session: String, timeout: Double, row: Int? = nil, _ condition: (String) -> Bool) -> String? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let s = screen(session, row: row)
            if condition(s) { return s }
            usleep(2_000)
        }
        return nil
    }

    func pid(of name: String, in session: String) -> pid_t? {
        guard let root = pid_t(run(["display-message", "-p", "-t", session, "#{pane_pid}"], output: true).trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        var frontier = [root]
        while let p = frontier.popLast() {
            let comm = (try? String(contentsOfFile: "/proc/\(p)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if comm == name { return p }
            let children = (try? String(contentsOfFile: "/proc/\(p)/task/\(p)/children", encoding: .utf8)) ?? ""
            frontier += children.split(separator: " ").compactMap { pid_t($0) }
        }
        return nil
    }
}
