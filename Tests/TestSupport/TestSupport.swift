import Foundation

/// What every test target needs to run the package's real binaries: where they are, a scratch
/// folder, and a way to start a child with a clean signal state.

/// The package's root and the binaries SwiftPM built.
public enum Built {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The binary beside the test bundle, or in `.build/debug` when `swift test` runs from the root.
    public static func binary(_ name: String) -> String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [here, here.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return root + "/.build/debug/" + name
    }
}

/// A scratch folder removed when the test ends.
public final class TempDir: @unchecked Sendable {
    public let url: URL
    public var path: String { url.path }

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("relaywatch-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    public func write(_ name: String, _ text: String) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// posix_spawn with every signal unblocked and at its default action. The test runner blocks
/// signals on its threads and children inherit masks: a tmux pane would ignore SIGHUP and outlive
/// its server, and a relay would never see SIGTERM. `fileActions` sets up the child's descriptors.
/// Polls `condition` every `every` seconds until it holds (true) or `timeout` seconds pass (false).
@discardableResult
public func waitUntil(timeout: Double, every: Double = 0.05, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if condition() { return true }
        usleep(useconds_t(every * 1_000_000))
    }
    return condition()
}

public func spawnWithCleanSignals(_ argv: [String], environment: [String: String]? = nil,
                                  fileActions: (inout posix_spawn_file_actions_t) -> Void) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    fileActions(&actions)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment ?? [:] { env[k] = v }
    let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { (cArgs + cEnv).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
    guard rc == 0 else { throw SpawnError(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    return pid
}

public struct SpawnError: Error, CustomStringConvertible {
    public var description: String
}
