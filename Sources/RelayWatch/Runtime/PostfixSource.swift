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

/// A Postfix host's queue tools: `postqueue -j` (JSON Lines; unknown fields ignored) is the live
/// queue, with Postfix's queue names and each waiting recipient's delay reason; `r` runs
/// `postqueue -i ID`, `h`/`u` run `postsuper -h ID` / `-H ID`. Postfix retries whole messages, so
/// a retry never names recipients. A requeued message (new queue id) is listed under the key the
/// log knows it by, and acted on under its current id.
public final class PostfixQueueTools: QueueDialect {
    public let traits = SourceTraits.postfix
    let options: PostfixOptions
    private let shared: SharedTranslator
    private let uid: uid_t
    private var entries: [QueueEntry] = []
    private var now = 0.0

    init(options: PostfixOptions, translator: SharedTranslator, uid: uid_t) {
        self.options = options
        shared = translator
        self.uid = uid
    }

    public var listing: [String] { options.argv(options.postqueue, ["-j"]) }
    public var versionProbe: [String] { options.argv("postconf", ["-h", "mail_version"]) }
    public func version(from output: String) -> String? { output.split(whereSeparator: { $0 == "\n" }).first.map(String.init) }

    public func beginListing(now: Double) {
        entries = []
        self.now = now
    }

    public func listingLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return true }
        do {
            let m = try PostqueueMessage(line: bytes)
            entries.append(m.entry(key: shared.translator.postfix.key(forLocalQueueID: m.queueID), now: now))
            return true
        } catch {
            return false
        }
    }

    public func endListing() -> [QueueEntry] {
        defer { entries = [] }
        return entries
    }

    public func isPermissionProblem(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.contains("not allowed") || lower.contains("authorized") || lower.contains("permission")
    }

    public func command(for action: RelayAction) -> Result<[String], QueueRefusal> {
        guard let qid = shared.translator.postfix.localQueueID(forKey: action.msg) else {
            return .failure(QueueRefusal("\(action.msg) is another host's message: this host's postqueue and postsuper cannot reach it", code: "remote"))
        }
        guard PostqueueMessage.isQueueID(qid) else { return .failure(QueueRefusal("\"\(qid)\" is not a Postfix queue id", code: "bad-id")) }
        switch action {
        case .retry: return .success(options.argv(options.postqueue, ["-i", qid]))
        case .hold, .release:
            guard uid == 0 else {
                return .failure(QueueRefusal("postsuper needs root (relaywatch runs as uid \(uid)): hold and release are not available here", code: "not-root"))
            }
            return .success(options.argv(options.postsuper, [action.verb == "hold" ? "-h" : "-H", qid]))
        }
    }
}

/// A Postfix host as a relay source (see ``PostfixQueueTools``). Not allowed to list the queue
/// (`authorized_mailq_users`): the link says so and the log goes on read-only.
public final class PostfixSource: QueueCommandSource {
    public init(options: PostfixOptions, translator: SharedTranslator, uid: uid_t = getuid()) {
        super.init(dialect: PostfixQueueTools(options: options, translator: translator, uid: uid), interval: options.queueInterval)
    }
}
