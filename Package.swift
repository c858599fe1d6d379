// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "relaywatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "relaywatch", targets: ["relaywatch"]),
        .executable(name: "mailrelayd", targets: ["mailrelayd"]),
        .library(name: "RelayCore", targets: ["RelayCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // The core: events, the delivery-log codec, reply classification, per-recipient state and
        // the analyser. No curses, no networking, no file I/O: it reads the bytes it is handed.
        .target(name: "RelayCore", dependencies: ["CStructural"]),
        // Stage one of the log reader's fast path: quotes and structural characters found 16
        // bytes at a time (SSE2; plain C elsewhere). C because Swift's SIMD types have no movemask.
        .target(name: "CStructural"),

        // zlib, so `relaywatch report` reads rotated .gz logs (and stdin) as one stream.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // Postfix's mail log as delivery-log v1 events and `postqueue -j` as a queue snapshot:
        // pure parsing, no I/O, so the report, `convert` and the monitor share one reading.
        .target(name: "PostfixLog", dependencies: ["RelayCore"]),
        // Exim's main log as delivery-log v1 events: pure parsing, beside Postfix's.
        .target(name: "EximLog", dependencies: ["RelayCore"]),

        // The monitor as a library, testable without a terminal: log input and the follower, the
        // report, the screen grid with roles, themes, and the app's state, update and views.
        .target(name: "RelayWatch", dependencies: ["RelayCore", "PostfixLog", "EximLog", "RelaySockets", "CZlib", "CTerminal"]),

        // ncursesw (Debian's libncurses-dev) with a shim for the macros Swift cannot import, and the
        // one backend that uses it. No other code touches curses.
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),
        .target(name: "RelayWatchCurses", dependencies: ["RelayWatch", "CNcurses", "CTerminal"]),
        // Putting the terminal back from a crash signal, and termination signals as a descriptor:
        // C because a signal handler may only touch async-signal-safe calls and plain globals.
        .target(name: "CTerminal"),

        // Builds delivery logs of named situations (KB822105 and friends) through the real codec:
        // used by the tests, the benchmark and (later) the demo.
        .target(name: "RelayScenarios", dependencies: ["RelayCore"]),

        // The relay: SMTP in and out on SwiftNIO, the durable queue (SQLite through GRDB), the
        // delivery engine that re-sends too-many recipients, DSNs and the delivery-log writer.
        // Plain POSIX sockets for the package's simple clients: connecting to a Unix socket by path,
        // a blocking line socket, a free loopback port. No SwiftNIO, so the monitor can use them.
        .target(name: "RelaySockets", dependencies: ["RelayCore"]),

        .target(
            name: "MailRelay",
            dependencies: [
                "RelayCore", "RelaySockets",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Peers for the demo, the benchmark and the tests, not for production: a receiving SMTP
        // server with a chosen recipient limit (the relay's own session code) and a byte-exact
        // submitting client.
        .target(
            name: "RelayPeers",
            dependencies: [
                "MailRelay", "RelaySockets",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // `relaywatch` with no arguments: mailrelayd in-process, receiving peers with recipient
        // limits, greylisting and unknown users, and a generator submitting real SMTP traffic.
        .target(
            name: "RelayDemo",
            dependencies: ["MailRelay", "RelayPeers", "RelaySockets", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "mailrelayd",
            dependencies: ["MailRelay"]
        ),

        .executableTarget(
            name: "relaywatch",
            dependencies: [
                "RelayWatch", "RelayWatchCurses", "RelayScenarios", "RelayDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "relaywatch-bench",
            dependencies: [
                "RelayCore", "RelayWatch", "RelayScenarios", "MailRelay", "RelayPeers", "RelaySockets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The parsers that read outside bytes, as libFuzzer targets (Tests/run-fuzzers builds
        // `relaywatch-fuzz` with -sanitize=fuzzer,address; a normal build replays files).
        .target(
            name: "RelayFuzz",
            dependencies: [
                "RelayCore", "PostfixLog", "EximLog", "MailRelay", "RelayWatch",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "relaywatch-fuzz", dependencies: ["RelayFuzz"]),

        // Helpers every test target shares: the built binaries, scratch folders, spawning a child
        // with a clean signal state.
        .target(name: "TestSupport", dependencies: ["RelayPeers", "RelaySockets"], path: "Tests/TestSupport"),
        .testTarget(name: "RelayCoreTests", dependencies: ["RelayCore", "RelayScenarios", "PostfixLog", "EximLog"]),
        .testTarget(name: "PostfixLogTests", dependencies: ["PostfixLog", "RelayCore"]),
        .testTarget(name: "EximLogTests", dependencies: ["EximLog", "RelayCore"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["RelayFuzz"], exclude: ["corpus", "crashers"]),
        .testTarget(
            name: "MailRelayTests",
            dependencies: ["MailRelay", "RelayPeers", "RelaySockets", "RelayCore", "TestSupport", "mailrelayd", "relaywatch"]
        ),
        .testTarget(
            name: "RelayWatchTests",
            dependencies: ["RelayWatch", "RelayScenarios", "RelayPeers", "TestSupport", "relaywatch", "mailrelayd"]
        ),
    ]
)
