import Foundation
import Testing
import TestSupport
import RelayWatch

/// The follower against real files: append, rotation, truncation, partial lines, a file that
/// appears later, and starting from the last N lines.
@Suite struct LogFollowerTests {
    final class Collector {
        var lines: [String] = []
        func poll(_ f: LogFollower) {
            f.poll { _, bytes, _ in self.lines.append(String(decoding: bytes, as: UTF8.self)) }
        }
    }

    func append(_ path: String, _ text: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    @Test func readsThenFollowsAppendsAndHoldsPartialLines() throws {
        let dir = try TempDir()
        let path = try dir.write("relay.log", "one\ntwo\nthr")
        let f = LogFollower(path: path)
        let c = Collector()
        c.poll(f)
        #expect(c.lines == ["one", "two"])
        #expect(f.state == .following)
        try append(path, "ee\nfour\n")
        c.poll(f)
        #expect(c.lines == ["one", "two", "three", "four"])
    }

    @Test func rotationFinishesTheOldFileThenReadsTheNewOne() throws {
        let dir = try TempDir()
        let path = try dir.write("relay.log", "a1\na2\n")
        let f = LogFollower(path: path)
        let c = Collector()
        c.poll(f)
        // The writer finishes a line in the old file, then rotation by rename, then a new file.
        try append(path, "a3")
        try FileManager.default.moveItem(atPath: path, toPath: dir.path("relay.log.1"))
        _ = try dir.write("relay.log", "b1\nb2\n")
        c.poll(f)
        #expect(c.lines == ["a1", "a2", "a3", "b1", "b2"])
        #expect(f.rotations == 1)
    }

    @Test func truncationStartsOver() throws {
        let dir = try TempDir()
        let path = try dir.write("relay.log", "old1\nold2\nold3\n")
        let f = LogFollower(path: path)
        let c = Collector()
        c.poll(f)
        // copytruncate: same inode, shorter content.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: 0)
        try h.write(contentsOf: Data("new1\n".utf8))
        try h.close()
        c.poll(f)
        #expect(c.lines == ["old1", "old2", "old3", "new1"])
        #expect(f.truncations == 1)
    }

    @Test func aMissingFileIsWaitedFor() throws {
        let dir = try TempDir()
        let path = dir.path("later.log")
        let f = LogFollower(path: path)
        let c = Collector()
        c.poll(f)
        #expect(f.state == .waiting)
        #expect(c.lines.isEmpty)
        _ = try dir.write("later.log", "hello\n")
        c.poll(f)
        #expect(c.lines == ["hello"])
        #expect(f.state == .following)
    }

    @Test func aDeletedLogIsReportedAndItsReplacementRead() throws {
        let dir = try TempDir()
        let path = try dir.write("relay.log", "x\n")
        let f = LogFollower(path: path)
        let c = Collector()
        c.poll(f)
        try FileManager.default.removeItem(atPath: path)
        c.poll(f)
        #expect(f.state == .waiting)
        _ = try dir.write("relay.log", "y\n")
        c.poll(f)
        #expect(c.lines == ["x", "y"])
        #expect(f.state == .following)
    }

    @Test func tailStartsAtTheLastLines() throws {
        let dir = try TempDir()
        let path = try dir.write("relay.log", (1...100).map { "line\($0)" }.joined(separator: "\n") + "\n")
        let f = LogFollower(path: path, start: .tail(3))
        let c = Collector()
        c.poll(f)
        #expect(c.lines == ["line98", "line99", "line100"])
    }

    @Test func aBudgetSpreadsCatchUpOverPolls() throws {
        let dir = try TempDir()
        let path = try dir.write("relay.log", String(repeating: "0123456789\n", count: 1000))
        let f = LogFollower(path: path)
        var count = 0
        f.poll(budget: 1100) { _, _, _ in count += 1 }
        #expect(count == 100)
        #expect(f.state == .catchingUp)
        #expect(f.catchUpSize == 11_000)
        #expect(f.bytesRead == 1100)
        while f.poll(budget: 1100, { _, _, _ in count += 1 }) {}
        #expect(count == 1000)
        #expect(f.state == .following)
    }
}
