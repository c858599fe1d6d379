import MailRelay
import RelayCore
import RelayWatch

enum FuzzTOML {
    /// mailrelayd's configuration and a relaywatch theme from the same bytes: either may refuse
    /// them with an error naming a line or key, neither may crash, and a theme always falls back
    /// to usable styles.
    static func run(_ input: UnsafeRawBufferPointer) -> Int {
        var accepted = 0
        let text = String(decoding: input, as: UTF8.self)
        if let pairs = try? TOMLSubset.parse(text) {
            precondition(pairs.allSatisfy { !$0.0.isEmpty }, "an empty key was accepted")
        }
        if (try? RelayConfig.parse(text, file: "fuzz.toml")) != nil { accepted += 1 }
        let loaded = ThemeLoader.parse(text, name: "fuzz")
        for role in Role.allCases { _ = loaded.theme.style(role) }
        if loaded.warnings.isEmpty { accepted += 1 }
        return accepted
    }
}
