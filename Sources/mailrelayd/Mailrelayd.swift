import MailRelay

/// The `mailrelayd` executable: everything but this entry point lives in MailRelay.
@main
enum Mailrelayd {
    static func main() async {
        do {
            var command = try MailRelayCommand.parseAsRoot()
            if let relay = command as? MailRelayCommand {
                try await relay.run()
            } else {
                try command.run()
            }
        } catch {
            MailRelayCommand.exit(withError: error)
        }
    }
}
