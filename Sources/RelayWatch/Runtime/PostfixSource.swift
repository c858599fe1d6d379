#if canImport(Glibc)
import Glibc
#endif
import PostfixLog
import RelayCore

/// The log adapter one Postfix host's log goes through, shared by the runtime (which translates
/// the lines) and the ``PostfixSource`` (which needs the same queue-id keys: a message requeued by
/// `postsuper -r` shows in `postqueue -j` under its new id, and in the monitor under its first).
public final class SharedTranslator {
    public var translator: LogTranslator
    public init(_ translator: LogTranslator) { self.translator = translator }
}

/// How to reach a Postfix host's queue tools.
public struct PostfixOptions: Sendable {
    /// Postfix's configuration directory (`-c DIR` for postqueue and postsuper); nil: the default.
    public var configDirectory: String?
    /// Seconds between `postqueue -j` listings.
    public var queueInterval = 3.0
    /// Where the tools are, when not on PATH.
    public var postqueue = "postqueue"
    public var postsuper = "postsuper"

    public init(configDirectory: String? = nil) { self.configDirectory = configDirectory }

    func argv(_ tool: String, _ args: [String]) -> [String] {
        [tool] + (configDirectory.map { ["-c", $0] } ?? []) + args
    }
}

/// A Postfix host as a relay source: `postqueue -j`, polled, is the live queue (read as it comes,
/// line by line, so a queue of 100,000 messages is never one document in memory), and the keys
/// run `postqueue -i ID` (retry) and `postsuper -h ID` / `-H ID` (hold, release). Every command
/// is an argument vector with a validated queue id; its exit status and first error line are the
/// answer. Postfix retries whole messages, so a retry never names recipients.
public final class PostfixSource: RelaySource {
    public let traits = SourceTraits.postfix
    public private(set) var link: RelayLink = .connecting
    public let options: PostfixOptions
    private let shared: SharedTranslator
    private let uid: uid_t

    /// The listing being read, its lines so far and the entries they gave.
    private var listing: ChildProcess?
    private var splitter = LineSplitter(maxLineLength: 16 << 20)
    private var entries: [QueueEntry] = []
    private var listingProblems = 0
    private var lastListing = -Double.infinity
    private var listingNow = 0.0
    /// Actions running, with what they answer.
    private var running: [(ChildProcess, RelayAction)] = []

    /// `postconf -h mail_version`, for the header; asked once, read when it has answered.
    private var versionProbe: ChildProcess?
    private var versionOutput: [UInt8] = []
    private var version = ""

    public init(options: PostfixOptions, translator: SharedTranslator, uid: uid_t = getuid()) {
        self.options = options
        shared = translator
        self.uid = uid
        versionProbe = try? ChildProcess(options.argv("postconf", ["-h", "mail_version"]))
    }

    private func readVersion() {
        guard let probe = versionProbe else { return }
        probe.readOutput { versionOutput += $0 }
        probe.readErrors()
        guard probe.reap() != nil else { return }
        versionProbe = nil
        let text = String(decoding: versionOutput, as: UTF8.self).split(whereSeparator: { $0 == "\n" }).first.map(String.init) ?? ""
        // Only a version's characters reach the header.
        if probe.exitStatus == 0, !text.isEmpty, text.count < 32, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) {
            version = text
        }
    }

    public var descriptors: [Int32] {
        var fds: [Int32] = []
        if let listing { fds += [listing.stdoutFD, listing.stderrFD] }
        for (child, _) in running { fds += [child.stdoutFD, child.stderrFD] }
        return fds.filter { $0 >= 0 }
    }

    public func poll(now: Double) -> [Msg] {
        var out: [Msg] = []
        readVersion()
        if listing == nil, now - lastListing >= options.queueInterval { startListing(now, &out) }
        if let child = listing { readListing(child, now, &out) }
        running.removeAll { child, action in
            child.readOutput { _ in }
            child.readErrors()
            guard let status = child.reap() else { return false }
            child.readErrors()
            let command = child.argv.filter { $0 != "-c" && $0 != options.configDirectory }.joined(separator: " ")
            out.append(.relayAnswer(RelayAnswer(action: action, ok: status == 0, detail: status == 0 ? "\(command): exit 0" : child.failure,
                                                code: status == 0 ? nil : "exit \(status)")))
            // What the command changed shows in the next listing: take it now.
            lastListing = -Double.infinity
            return true
        }
        return out
    }

    private func startListing(_ now: Double, _ out: inout [Msg]) {
        lastListing = now
        do {
            listing = try ChildProcess(options.argv(options.postqueue, ["-j"]))
            splitter = LineSplitter(maxLineLength: 16 << 20)
            entries = []
            listingProblems = 0
            listingNow = now
        } catch {
            changeLink(.reconnecting(at: now + options.queueInterval, why: error.description), &out)
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
        listing = nil
        if status == 0 {
            changeLink(.connected(relay: "Postfix", version: version), &out)
            out.append(.relayQueue(QueueSnapshot(entries: entries, relayNow: listingNow, receivedAt: now, entersUnknown: true)))
            if listingProblems > 0 { out.append(.relayProblem("postqueue -j: \(listingProblems) line\(listingProblems == 1 ? "" : "s") not understood, skipped")) }
        } else {
            let why = child.failure ?? "postqueue -j failed"
            let lower = why.lowercased()
            if lower.contains("not allowed") || lower.contains("authorized") || lower.contains("permission") {
                // authorized_mailq_users, or a queue this user cannot read: the log goes on alone.
                changeLink(.permissionDenied(why + " (authorized_mailq_users); the log view goes on read-only",
                                             retryAt: now + 30), &out)
                lastListing = now + 30 - options.queueInterval
            } else {
                changeLink(.reconnecting(at: now + options.queueInterval, why: why), &out)
            }
        }
        entries = []
    }

    private func listingLine(_ bytes: UnsafeRawBufferPointer, _ overlong: Bool) {
        guard !overlong else { listingProblems += 1; return }
        guard !bytes.isEmpty else { return }
        do {
            let m = try PostqueueMessage(line: bytes)
            entries.append(m.entry(key: shared.translator.postfix.key(forLocalQueueID: m.queueID), now: listingNow))
        } catch {
            listingProblems += 1
        }
    }

    private func changeLink(_ l: RelayLink, _ out: inout [Msg]) {
        guard l != link else { return }
        link = l
        out.append(.relayLink(l))
    }

    public func perform(_ action: RelayAction, now: Double) -> [Msg] {
        func refuse(_ why: String, _ code: String) -> [Msg] {
            [.relayAnswer(RelayAnswer(action: action, ok: false, detail: why, code: code))]
        }
        guard let qid = shared.translator.postfix.localQueueID(forKey: action.msg) else {
            return refuse("\(action.msg) is another host's message: this host's postqueue and postsuper cannot reach it", "remote")
        }
        guard PostqueueMessage.isQueueID(qid) else { return refuse("\"\(qid)\" is not a Postfix queue id", "bad-id") }
        let argv: [String]
        switch action {
        case .retry: argv = options.argv(options.postqueue, ["-i", qid])
        case .hold, .release:
            guard uid == 0 else {
                return refuse("postsuper needs root (relaywatch runs as uid \(uid)): hold and release are not available here", "not-root")
            }
            argv = options.argv(options.postsuper, [action.verb == "hold" ? "-h" : "-H", qid])
        }
        do {
            running.append((try ChildProcess(argv), action))
            return []
        } catch {
            return refuse(error.description, "spawn")
        }
    }
}
