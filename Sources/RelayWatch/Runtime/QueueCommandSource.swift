#if canImport(Glibc)
import Glibc
#endif
import RelayCore

/// What one MTA's queue tools are: how to list the queue and read the listing, how each key's
/// action is spelled as a command, and how the tool says it will not. ``QueueCommandSource`` runs
/// them; ``PostfixQueueTools`` (postqueue, postsuper) and ``EximQueueTools`` (exim -bp, -M, -Mf,
/// -Mt) are the two there are.
public protocol QueueDialect: AnyObject {
    var traits: SourceTraits { get }
    /// The argument vector that lists the queue.
    var listing: [String] { get }
    /// The argument vector that prints the MTA's version, and the version in its output.
    var versionProbe: [String] { get }
    func version(from output: String) -> String?
    /// A listing begins; each line of it; it has ended (its entries, keyed as the log's events are).
    func beginListing(now: Double)
    /// Returns false for a line it could not read.
    func listingLine(_ bytes: UnsafeRawBufferPointer) -> Bool
    func endListing() -> [QueueEntry]
    /// The command for an action, or why it cannot be run (the code for the status line).
    func command(for action: RelayAction) -> Result<[String], QueueRefusal>
    /// Whether a failed listing's words mean this user may not see the queue.
    func isPermissionProblem(_ text: String) -> Bool
}

public struct QueueRefusal: Error, Sendable {
    public var detail: String
    public var code: String
    public init(_ detail: String, code: String) {
        self.detail = detail
        self.code = code
    }
}

/// An MTA's queue tools as a relay source: the listing, polled, is the live queue (read line by
/// line as the tool writes it, so a queue of 100,000 messages is never one document in memory),
/// and the keys run the dialect's commands. Every command is an argument vector with a checked
/// id; its exit status and first error line are the answer.
public class QueueCommandSource: RelaySource {
    public var traits: SourceTraits { dialect.traits }
    public private(set) var link: RelayLink = .connecting
    let dialect: QueueDialect
    /// Seconds between listings.
    public let interval: Double

    private var listingChild: ChildProcess?
    private var splitter = LineSplitter(maxLineLength: 16 << 20)
    private var listingProblems = 0
    private var lastListing = -Double.infinity
    private var listingNow = 0.0
    private var running: [(ChildProcess, RelayAction)] = []
    private var versionChild: ChildProcess?
    private var versionOutput: [UInt8] = []
    private var version = ""

    init(dialect: QueueDialect, interval: Double) {
        self.dialect = dialect
        self.interval = interval
        versionChild = try? ChildProcess(dialect.versionProbe)
    }

    public var descriptors: [Int32] {
        var fds: [Int32] = []
        if let listingChild { fds += [listingChild.stdoutFD, listingChild.stderrFD] }
        for (child, _) in running { fds += [child.stdoutFD, child.stderrFD] }
        return fds.filter { $0 >= 0 }
    }

    public func poll(now: Double) -> [Msg] {
        var out: [Msg] = []
        readVersion()
        if listingChild == nil, now - lastListing >= interval { startListing(now, &out) }
        if let child = listingChild { readListing(child, now, &out) }
        running.removeAll { child, action in
            child.readOutput { _ in }
            child.readErrors()
            guard let status = child.reap() else { return false }
            child.readErrors()
            let command = Self.shortened(child.argv)
            out.append(.relayAnswer(RelayAnswer(action: action, ok: status == 0, detail: status == 0 ? "\(command): exit 0" : child.failure,
                                                code: status == 0 ? nil : "exit \(status)")))
            // What the command changed shows in the next listing: take it now.
            lastListing = -Double.infinity
            return true
        }
        return out
    }

    /// A command as the status line says it: without its configuration option (`-c DIR`,
    /// `-C FILE`), which is the same for every command and would push the rest out of sight.
    static func shortened(_ argv: [String]) -> String {
        var out: [String] = []
        var skip = false
        for a in argv {
            if skip { skip = false; continue }
            if a == "-c" || a == "-C" { skip = true; continue }
            out.append(a.split(separator: "/").last.map(String.init) ?? a)
        }
        return out.joined(separator: " ")
    }

    private func readVersion() {
        guard let probe = versionChild else { return }
        // Done only once its output has ended: a probe that writes and exits between this read
        // and the reap would otherwise leave its version unread (CI saw "connected (Exim)").
        let ended = probe.readOutput { versionOutput += $0 }
        probe.readErrors()
        guard ended, probe.reap() != nil else { return }
        versionChild = nil
        // Only a version's characters reach the header.
        if probe.exitStatus == 0, let v = dialect.version(from: String(decoding: versionOutput, as: UTF8.self)),
           !v.isEmpty, v.count < 32, v.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) {
            version = v
        }
    }

    private func startListing(_ now: Double, _ out: inout [Msg]) {
        lastListing = now
        do {
            listingChild = try ChildProcess(dialect.listing)
            splitter = LineSplitter(maxLineLength: 16 << 20)
            listingProblems = 0
            listingNow = now
            dialect.beginListing(now: now)
        } catch {
            changeLink(.reconnecting(at: now + interval, why: error.description), &out)
        }
    }

    private func readListing(_ child: ChildProcess, _ now: Double, _ out: inout [Msg]) {
        let ended = child.readOutput { chunk in
            splitter.feed(chunk) { _, bytes, overlong in self.listingLine(bytes, overlong) }
        }
        child.readErrors()
        guard ended, let status = child.reap() else { return }
        splitter.finish { _, bytes, overlong in self.listingLine(bytes, overlong) }
        child.readErrors()
        listingChild = nil
        let entries = dialect.endListing()
        if status == 0 {
            changeLink(.connected(relay: traits.name, version: version), &out)
            out.append(.relayQueue(QueueSnapshot(entries: entries, relayNow: listingNow, receivedAt: now, entersUnknown: true)))
            if listingProblems > 0 {
                out.append(.relayProblem("\(dialect.listing.joined(separator: " ")): \(listingProblems) line\(listingProblems == 1 ? "" : "s") not understood, skipped"))
            }
        } else {
            let why = child.failure ?? "\(dialect.listing.joined(separator: " ")) failed"
            if dialect.isPermissionProblem(why) {
                // Not allowed to see the queue: the log goes on alone.
                changeLink(.permissionDenied(why + "; the log view goes on read-only", retryAt: now + 30), &out)
                lastListing = now + 30 - interval
            } else {
                changeLink(.reconnecting(at: now + interval, why: why), &out)
            }
        }
    }

    private func listingLine(_ bytes: UnsafeRawBufferPointer, _ overlong: Bool) {
        guard !overlong else { listingProblems += 1; return }
        if !dialect.listingLine(bytes) { listingProblems += 1 }
    }

    private func changeLink(_ l: RelayLink, _ out: inout [Msg]) {
        guard l != link else { return }
        link = l
        out.append(.relayLink(l))
    }

    public func perform(_ action: RelayAction, now: Double) -> [Msg] {
        switch dialect.command(for: action) {
        case .failure(let refusal):
            return [.relayAnswer(RelayAnswer(action: action, ok: false, detail: refusal.detail, code: refusal.code))]
        case .success(let argv):
            do {
                running.append((try ChildProcess(argv), action))
                return []
            } catch {
                return [.relayAnswer(RelayAnswer(action: action, ok: false, detail: error.description, code: "spawn"))]
            }
        }
    }
}
