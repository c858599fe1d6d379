import Foundation
import RelayFuzz
import Testing

/// Every seed and every input a fuzzer ever crashed on, run through its target in the normal
/// build: a crasher fixed once stays fixed. (Tests/run-fuzzers writes new crashers to
/// `crashers/TARGET/`; a fix is committed with its file.)
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    static func inputs(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let dir = root.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndCrashersRunClean(_ target: FuzzTarget) throws {
        let seeds = Self.inputs("corpus", target)
        #expect(!seeds.isEmpty, "no seed corpus for \(target.rawValue)")
        for file in seeds + Self.inputs("crashers", target) {
            let data = try Data(contentsOf: file)
            data.withUnsafeBytes { target.run($0) }
        }
    }

    /// The seeds are meant to reach the parsers' real paths: each target's seeds must give it
    /// something it accepts, or the fuzzer starts from nothing but refusals.
    @Test func seedsAreAcceptedInput() throws {
        for target in FuzzTarget.allCases {
            let accepted = try Self.inputs("corpus", target).contains { file in
                try Data(contentsOf: file).withUnsafeBytes { target.accepts($0) }
            }
            #expect(accepted, "no seed of \(target.rawValue) is accepted input")
        }
    }
}
