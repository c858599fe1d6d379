#if canImport(Glibc)
import Glibc
#endif

/// A program the monitor runs (journalctl, postqueue, postsuper): always an argument vector, never
/// a shell, so nothing in a queue id or a path is ever interpreted. Its stdout and stderr come
/// back on pipes the runtime polls (non-blocking) or the report reads to the end (blocking). It
/// starts with default signal dispositions and an empty signal mask: the monitor blocks the
/// termination signals for its signalfd, and a child must not inherit that.
public final class ChildProcess {
    public struct SpawnError: Error, CustomStringConvertible {
        public var program: String
        public var reason: String
        public var description: String { "cannot run \(program): \(reason)" }
    }

    public let argv: [String]
    public let pid: pid_t
    /// Read ends; -1 once closed.
    public private(set) var stdoutFD: Int32
    public private(set) var stderrFD: Int32
    private var errorBytes: [UInt8] = []
    /// The exit status once reaped (128+N for a signal N).
    public private(set) var exitStatus: Int32?

    public init(_ argv: [String], nonBlocking: Bool = true) throws(SpawnError) {
        precondition(!argv.isEmpty)
        self.argv = argv
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0 else { throw SpawnError(program: argv[0], reason: String(cString: strerror(errno))) }
        guard pipe(&err) == 0 else {
            close(out[0]); close(out[1])
            throw SpawnError(program: argv[0], reason: String(cString: strerror(errno)))
        }
        // Close-on-exec, so other children (and this one, past its dup2) do not hold them open.
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cArgs, environ)
        close(out[1]); close(err[1])
        guard rc == 0 else {
            close(out[0]); close(err[0])
            throw SpawnError(program: argv[0], reason: rc == ENOENT ? "not found on PATH" : String(cString: strerror(rc)))
        }
        self.pid = pid
        stdoutFD = out[0]
        stderrFD = err[0]
        if nonBlocking {
            _ = fcntl(stdoutFD, F_SETFL, fcntl(stdoutFD, F_GETFL) | O_NONBLOCK)
            _ = fcntl(stderrFD, F_SETFL, fcntl(stderrFD, F_GETFL) | O_NONBLOCK)
        }
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        if stdoutFD >= 0 { close(stdoutFD) }
        if stderrFD >= 0 { close(stderrFD) }
    }

    /// Reads what stdout has now (all of it, to the end, when the pipe blocks), handing on each
    /// chunk. Returns true once stdout has ended.
    @discardableResult
    public func readOutput(chunk: Int = 1 << 16, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard stdoutFD >= 0 else { return true }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(stdoutFD, buffer, chunk)
            if n > 0 { body(UnsafeRawBufferPointer(start: buffer, count: n)); continue }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN { return false }
            close(stdoutFD)
            stdoutFD = -1
            return true
        }
    }

    /// Keeps the start of stderr (for the status line), discarding the rest so the child never
    /// blocks on a full pipe.
    public func readErrors() {
        guard stderrFD >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(stderrFD, $0.baseAddress, 4096) }
            if n > 0 {
                if errorBytes.count < 4096 { errorBytes += buffer[..<min(n, 4096 - errorBytes.count)] }
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN { return }
            close(stderrFD)
            stderrFD = -1
            return
        }
    }

    /// The first line the program wrote to stderr, made safe for a terminal.
    public var firstErrorLine: String? {
        let text = String(decoding: errorBytes, as: UTF8.self)
        guard let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first(where: { !$0.allSatisfy { $0 == " " } }) else { return nil }
        return String(line.unicodeScalars.map { $0.isTerminalControl ? "?" : Character($0) })
    }

    /// Reaps the child if it has exited (or waits for it, with `block`); its exit status.
    @discardableResult
    public func reap(block: Bool = false) -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let r = waitpid(pid, &status, block ? 0 : WNOHANG)
        guard r == pid else { return nil }
        let signal = status & 0x7F
        exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        return exitStatus
    }

    public func terminate() { if exitStatus == nil { kill(pid, SIGTERM) } }

    /// "postsuper exited with status 1: postsuper: fatal: ..." for the status line.
    public var failure: String? {
        guard let s = exitStatus, s != 0 else { return nil }
        let name = argv[0].split(separator: "/").last.map(String.init) ?? argv[0]
        return "\(name) exited with status \(s)" + (firstErrorLine.map { ": \($0)" } ?? "")
    }
}
