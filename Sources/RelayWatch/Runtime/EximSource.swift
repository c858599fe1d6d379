import EximLog
import RelayCore

/// How to reach an Exim host's queue: the binary (Debian calls it `exim4`) and an optional
/// configuration file (`-C FILE`).
public struct EximOptions: Sendable {
    public var binary: String
    public var configFile: String?
    /// Seconds between `exim -bp` listings.
    public var queueInterval = 3.0

    public init(binary: String = "exim4", configFile: String? = nil) {
        self.binary = binary
        self.configFile = configFile
    }

    func argv(_ args: [String]) -> [String] { [binary] + (configFile.map { ["-C", $0] } ?? []) + args }
}

/// An Exim host's queue tools: `exim -bp` is the live queue (age, size, sender, frozen, each
/// recipient with `D` before the delivered), `r` runs `exim -M ID` (deliver now), `h` `exim -Mf ID`
/// (freeze), `u` `exim -Mt ID` (thaw). Exim delivers whole messages. Message ids are Exim's own
/// and the log's keys alike.
public final class EximQueueTools: QueueDialect {
    public let traits = SourceTraits.exim
    let options: EximOptions
    private var reader = EximQueuedMessage.Reader()
    private var entries: [QueueEntry] = []
    private var now = 0.0

    init(options: EximOptions) { self.options = options }

    public var listing: [String] { options.argv(["-bp"]) }
    public var versionProbe: [String] { options.argv(["-bV"]) }

    /// "Exim version 4.96 #2 built 24-Mar-2025 …" -> "4.96".
    public func version(from output: String) -> String? {
        guard let first = output.split(whereSeparator: { $0 == "\n" }).first else { return nil }
        let words = first.split(separator: " ")
        guard let i = words.firstIndex(of: "version"), i + 1 < words.count else { return nil }
        return String(words[i + 1])
    }

    public func beginListing(now: Double) {
        reader = EximQueuedMessage.Reader()
        entries = []
        self.now = now
    }

    public func listingLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let before = reader.problems
        reader.line(bytes) { entries.append($0.entry(now: now)) }
        return reader.problems == before
    }

    public func endListing() -> [QueueEntry] {
        reader.finish { entries.append($0.entry(now: now)) }
        defer { entries = [] }
        return entries
    }

    public func isPermissionProblem(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.contains("permission denied") || lower.contains("not an admin") || lower.contains("administrator")
    }

    public func command(for action: RelayAction) -> Result<[String], QueueRefusal> {
        guard EximQueuedMessage.isMessageID(action.msg) else {
            return .failure(QueueRefusal("\"\(action.msg)\" is not an Exim message id", code: "bad-id"))
        }
        switch action {
        case .retry: return .success(options.argv(["-M", action.msg]))
        case .hold: return .success(options.argv(["-Mf", action.msg]))
        case .release: return .success(options.argv(["-Mt", action.msg]))
        }
    }
}

/// An Exim host as a relay source (see ``EximQueueTools``). Not an Exim administrator: the link
/// says so (in Exim's words) and the log goes on read-only.
public final class EximSource: QueueCommandSource {
    public init(options: EximOptions) {
        super.init(dialect: EximQueueTools(options: options), interval: options.queueInterval)
    }
}
