#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a stream of byte chunks into lines, numbering them from 1.
///
/// The log may come in any chunking (file reads, a pipe, gzip output); a line can straddle chunks
/// and the last line may have no newline (a writer that is mid-line, or a truncated file). A line
/// longer than ``LogDecoder/maxLineLength`` is not buffered whole: its bytes are dropped as they
/// arrive and it is handed on as an overlong line, so junk without newlines cannot exhaust memory.
public struct LineSplitter {
    public private(set) var lineNumber = 0
    private var carry: [UInt8] = []
    private var carryOverlong = false
    public let maxLineLength: Int
    /// A line past the limit is being skipped: its newline has not come yet. A reader that must
    /// not wait for an end that may never come (a socket) can give up on the stream here.
    public var discardingOverlongLine: Bool { carryOverlong }

    public init(maxLineLength: Int = LogDecoder.maxLineLength) {
        self.maxLineLength = maxLineLength
    }

    /// Whether the bytes fed so far end with a whole line (nothing carried).
    public var atLineStart: Bool { carry.isEmpty && !carryOverlong }

    /// `count` lines were read elsewhere (another thread read that part of the file): numbering
    /// goes on after them. Only between lines.
    public mutating func skip(lines count: Int) {
        precondition(atLineStart, "lines skipped in the middle of a line")
        lineNumber += count
    }

    /// A line as handed to the callback: its number, its bytes (without `\n` or a trailing `\r`),
    /// and whether it exceeded the limit (then the bytes are only its start).
    public typealias Handler = (_ number: Int, _ bytes: UnsafeRawBufferPointer, _ overlong: Bool) -> Void

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ handle: Handler) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var start = 0
        let n = chunk.count
        while start < n {
            guard let offset = memchrNewline(base + start, n - start) else {
                // No newline in the rest: keep it for the next chunk.
                appendCarry(UnsafeRawBufferPointer(start: base + start, count: n - start))
                return
            }
            let end = start + offset
            if carry.isEmpty && !carryOverlong {
                emit(UnsafeRawBufferPointer(start: base + start, count: end - start), overlong: false, handle)
            } else {
                appendCarry(UnsafeRawBufferPointer(start: base + start, count: end - start))
                let overlong = carryOverlong
                carry.withUnsafeBytes { emit($0, overlong: overlong, handle) }
                carry.removeAll(keepingCapacity: carry.capacity <= 1 << 16)
                carryOverlong = false
            }
            start = end + 1
        }
    }

    /// Hands on a last line that had no newline. Call at the end of the input.
    public mutating func finish(_ handle: Handler) {
        guard !carry.isEmpty || carryOverlong else { return }
        let overlong = carryOverlong
        carry.withUnsafeBytes { emit($0, overlong: overlong, handle) }
        carry = []
        carryOverlong = false
    }


    private mutating func appendCarry(_ bytes: UnsafeRawBufferPointer) {
        if carryOverlong { return }
        if carry.count + bytes.count > maxLineLength {
            carryOverlong = true
            let room = max(0, min(bytes.count, 256 - carry.count))
            carry.append(contentsOf: bytes.prefix(room))
            return
        }
        carry.append(contentsOf: bytes)
    }

    private mutating func emit(_ bytes: UnsafeRawBufferPointer, overlong: Bool, _ handle: Handler) {
        lineNumber += 1
        var line = bytes
        if let last = line.last, last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        handle(lineNumber, line, overlong || line.count > maxLineLength)
    }

    /// memchr: SIMD in glibc, several times faster than a byte loop on long lines.
    private func memchrNewline(_ p: UnsafeRawPointer, _ count: Int) -> Int? {
        guard let hit = memchr(p, 0x0A, count) else { return nil }
        return UnsafeRawPointer(hit) - p
    }
}
