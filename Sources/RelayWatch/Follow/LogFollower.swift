#if canImport(Glibc)
import Glibc
#endif
import RelayCore

/// Follows a delivery log the way `tail -F` does, for the monitor: reads what is there, then what
/// is appended; survives rotation (the path gets a new inode: the old file is read to its end, then
/// the new one from its start), truncation (read again from the start), a file that does not exist
/// yet, and a last line still being written.
///
/// It is polled, never blocks, and reads at most a budget of bytes per poll, so the monitor's event
/// loop can draw the first screen of a large log at once and load the rest between frames.
public final class LogFollower {
    public enum StartPoint: Sendable, Equatable {
        case beginning
        /// The last N lines of the file as found at start.
        case tail(Int)
    }

    public enum State: Sendable, Equatable {
        /// The path does not exist (yet); polled until it does.
        case waiting
        /// Reading what was in the file at start (bytes read of the size then).
        case catchingUp
        /// At the end; new lines are read as they come.
        case following
        /// Cannot read the path (permission, a directory): the reason, retried on each poll.
        case failed(String)
    }

    public let path: String
    public private(set) var state: State = .waiting
    /// Bytes read from the current file and its size when the follower reached it (for a progress bar).
    public private(set) var bytesRead = 0
    public private(set) var catchUpSize = 0
    public private(set) var rotations = 0
    public private(set) var truncations = 0
    /// Lines handed on since the start (across files).
    public private(set) var lines = 0

    private var fd: Int32 = -1
    private var inode: (dev: UInt64, ino: UInt64) = (0, 0)
    /// The current file's device and inode.
    public var fileID: (dev: UInt64, ino: UInt64) { inode }
    /// Whether a file is open (the path existed at the last poll, or before).
    public var isOpen: Bool { fd >= 0 }
    /// Where the next read starts in the current file.
    public private(set) var offset = 0
    /// While the file found at start is caught up: read no further than this offset (the part
    /// after it is read by another thread, see ``skip(to:lines:)``). nil: no bound.
    public var stop: Int?
    private var splitter = LineSplitter()
    private var start: StartPoint
    private let buffer: UnsafeMutableRawPointer
    private let bufferSize = 1 << 20

    public init(path: String, start: StartPoint = .beginning) {
        self.path = path
        self.start = start
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    public typealias LineHandler = (_ number: Int, _ bytes: UnsafeRawBufferPointer, _ overlong: Bool) -> Void

    /// Reads up to `budget` bytes of new data and hands on each complete line. Returns true when
    /// it read anything (the caller redraws).
    @discardableResult
    public func poll(budget: Int = 8 << 20, _ line: LineHandler) -> Bool {
        if fd < 0, !openCurrent() { return false }
        var readAny = false
        var left = budget
        while left > 0 {
            let room = stop.map { $0 - offset } ?? Int.max
            if room <= 0 { break }
            let n = read(fd, buffer, min(bufferSize, left, room))
            if n > 0 {
                readAny = true
                left -= n
                offset += n
                bytesRead += n
                splitter.feed(UnsafeRawBufferPointer(start: buffer, count: n)) { number, bytes, overlong in
                    self.lines += 1
                    line(number, bytes, overlong)
                }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            // At the end of what is there: has the path moved on or shrunk?
            if checkRotationOrTruncation(line) { readAny = true; continue }
            if state == .catchingUp || (state == .waiting && fd >= 0 && pathExists) { state = .following }
            break
        }
        return readAny
    }

    /// Goes on reading at `offset` of the current file, the lines between here and there having
    /// been read by another thread (`lines` of them): their bytes count as read, and line
    /// numbers go on after them. Only at a line boundary, in the file found at start.
    /// False, with nothing changed, when it is not at a line boundary of an open file.
    @discardableResult
    public func skip(to target: Int, lines count: Int) -> Bool {
        guard fd >= 0, splitter.atLineStart, target >= offset else { return false }
        lseek(fd, off_t(target), SEEK_SET)
        bytesRead += target - offset
        offset = target
        splitter.skip(lines: count)
        lines += count
        return true
    }

    /// True when it switched to a new file or went back to the start of a truncated one.
    private func checkRotationOrTruncation(_ line: LineHandler) -> Bool {
        var st = stat()
        if stat(path, &st) != 0 {
            // Deleted or renamed away with nothing in its place yet: keep reading the old file
            // (a writer may still finish its line there) and look again next poll.
            state = .waiting
            return false
        }
        if UInt64(st.st_dev) != inode.dev || UInt64(st.st_ino) != inode.ino {
            // Rotated: the old file has been read to its end; a last line without a newline is
            // complete now (nobody will add to it).
            splitter.finish { number, bytes, overlong in
                self.lines += 1
                line(number, bytes, overlong)
            }
            close(fd)
            fd = -1
            stop = nil
            rotations += 1
            start = .beginning
            return openCurrent()
        }
        var own = stat()
        if fstat(fd, &own) == 0, Int(own.st_size) < offset {
            // Truncated in place (copytruncate): what follows is new; a partial line is dropped.
            truncations += 1
            stop = nil
            lseek(fd, 0, SEEK_SET)
            offset = 0
            splitter = LineSplitter()
            return true
        }
        return false
    }

    private var pathExists: Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    private func openCurrent() -> Bool {
        let newFD = open(path, O_RDONLY | O_CLOEXEC)
        guard newFD >= 0 else {
            state = errno == ENOENT ? .waiting : .failed(String(cString: strerror(errno)))
            return false
        }
        var st = stat()
        guard fstat(newFD, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR else {
            close(newFD)
            state = .failed("is a directory")
            return false
        }
        fd = newFD
        inode = (UInt64(st.st_dev), UInt64(st.st_ino))
        offset = 0
        catchUpSize = Int(st.st_size)
        bytesRead = 0
        if case .tail(let n) = start {
            offset = Self.offsetOfLastLines(fd: fd, size: Int(st.st_size), count: n)
            lseek(fd, off_t(offset), SEEK_SET)
            bytesRead = offset
        }
        state = .catchingUp
        return true
    }

    /// Where the last `count` complete lines of the file begin (searching back from its end).
    static func offsetOfLastLines(fd: Int32, size: Int, count: Int) -> Int {
        guard count > 0, size > 0 else { return size }
        let chunk = 1 << 16
        var buf = [UInt8](repeating: 0, count: chunk)
        var end = size
        var newlines = 0
        // A trailing newline ends the last line; it does not start another.
        var skipFirst = true
        while end > 0 {
            let begin = max(0, end - chunk)
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, end - begin, off_t(begin)) }
            guard n > 0 else { return 0 }
            for k in stride(from: n - 1, through: 0, by: -1) where buf[k] == 0x0A {
                if skipFirst && begin + k == size - 1 { skipFirst = false; continue }
                newlines += 1
                if newlines == count { return begin + k + 1 }
            }
            skipFirst = false
            end = begin
        }
        return 0
    }
}
