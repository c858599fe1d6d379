import ArgumentParser
import RelayWatch
#if canImport(Glibc)
import Glibc
#endif

@main
struct RelayWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relaywatch",
        abstract: "Watch an SMTP relay's deliveries and catch recipient miscounts (KB822105).",
        discussion: """
            relaywatch reads the delivery log v1 that mailrelayd writes. `relaywatch report LOG...` \
            checks a log against the rules and prints every anomaly; it exits 0 when there is none, \
            1 when there is any, 2 on a usage error or an unreadable file.
            """,
        subcommands: [Report.self, ScenarioCommand.self]
    )

    /// ArgumentParser exits 64 on a usage error; relaywatch promises 2 (0 none, 1 anomalies, 2 error)
    /// so cron jobs and CI can tell "the relay miscounts" from "you called me wrong".
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            writeError(fullMessage(for: error))
            Glibc.exit(2)
        }
    }
}

func writeError(_ text: String) { StandardStreams.error(text) }
