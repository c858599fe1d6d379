#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The later parts of a large log as found at start, each read on a thread of its own into a
/// ``MonitorPart`` while the follower loads the first part; the runtime merges them in order as
/// the follower reaches each cut. nil for a log too small to split (or one core).
final class PartLoad {
    /// The parts, the first read by the follower; the last ends with the last whole line.
    let ranges: [Range<Int>]
    /// The file's device and inode: the follower must be reading the same file.
    let fileID: (dev: UInt64, ino: UInt64)
    /// The part to merge next.
    var next = 1
    private let workers: [PartWorker]

    init?(path: String, jobs: Int, historyLimit: Int) {
        guard let input = try? LogInput(path: path), let size = input.splittableSize, let id = input.fileID else { return nil }
        let count = ReportBuilder.partCount(size: size, jobs: jobs)
        guard count > 1 else { return nil }
        var ranges = input.lineAlignedParts(count, size: size)
        // A last line still being written is the follower's to finish.
        let end = input.endOfLastLine(size: size)
        ranges[ranges.count - 1] = ranges[ranges.count - 1].lowerBound..<max(ranges[ranges.count - 1].lowerBound, end)
        self.ranges = ranges
        fileID = id
        workers = ranges.dropFirst().map { range in PartWorker(input, range, historyLimit: historyLimit) }
    }

    /// The worker of the next part once it has finished reading (nil while it reads).
    func ready() -> PartWorker? {
        let w = workers[next - 1]
        guard w.done.load(ordering: .acquiring) else { return nil }
        w.join()
        return w
    }

    /// Waits for every worker (they only read; their parts are dropped).
    func abandon() { for w in workers { w.join() } }
}

/// One later part's reader thread.
final class PartWorker: @unchecked Sendable {
    var part: MonitorPart
    var failure: LogInput.OpenError?
    let done = Atomic<Bool>(false)
    private var thread: Worker?
    private var joined = false

    init(_ input: LogInput, _ range: Range<Int>, historyLimit: Int) {
        part = MonitorPart(historyLimit: historyLimit)
        thread = Worker { [self] in
            do throws(LogInput.OpenError) {
                try part.read(input, range)
            } catch {
                failure = error
            }
            done.store(true, ordering: .releasing)
        }
    }

    func join() {
        guard !joined else { return }
        thread?.join()
        // The thread's closure holds this worker: let go of it.
        thread = nil
        joined = true
    }
}
