import ArgumentParser
import RelayScenarios
import RelayWatch

/// Prints a recorded situation as a delivery log, so a newcomer can see what each rule catches
/// without a relay: `relaywatch scenario kb822105 | relaywatch report -`.
struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Print a named example delivery log (KB822105 and others) to stdout.",
        discussion: "Without a name, lists the scenarios and the rules each one must trigger."
    )

    @Argument(help: "Scenario name.")
    var name: String?

    func run() throws {
        guard let name else {
            for s in Scenario.all {
                let rules = s.expectedRules.isEmpty ? "no anomaly" : s.expectedRules.sorted().joined(separator: ", ")
                StandardStreams.out("\(s.name)\n    \(s.summary)\n    expect: \(rules)\n")
            }
            return
        }
        guard let s = Scenario.all.first(where: { $0.name == name }) else {
            throw ValidationError("no scenario named \(name); known: \(Scenario.all.map(\.name).joined(separator: ", "))")
        }
        StandardStreams.out(s.log)
    }
}
