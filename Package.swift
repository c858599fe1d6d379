// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "relaywatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "relaywatch", targets: ["relaywatch"]),
        .library(name: "RelayCore", targets: ["RelayCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The core: events, the delivery-log codec, reply classification, per-recipient state and
        // the analyser. No curses, no networking, no file I/O: it reads the bytes it is handed.
        .target(name: "RelayCore"),

        // zlib, so `relaywatch report` reads rotated .gz logs (and stdin) as one stream.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // The monitor as a library, testable without a terminal: log input and the follower, the
        // report, the screen grid with roles, themes, and the app's state, update and views.
        .target(name: "RelayWatch", dependencies: ["RelayCore", "CZlib"]),

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

        .executableTarget(
            name: "relaywatch",
            dependencies: [
                "RelayWatch", "RelayWatchCurses", "RelayScenarios",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "relaywatch-bench",
            dependencies: [
                "RelayCore", "RelayWatch", "RelayScenarios",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "RelayCoreTests", dependencies: ["RelayCore", "RelayScenarios"]),
        .testTarget(
            name: "RelayWatchTests",
            dependencies: ["RelayWatch", "RelayScenarios", "relaywatch"]
        ),
    ]
)
