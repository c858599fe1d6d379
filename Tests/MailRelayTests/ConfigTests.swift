import Foundation
import Testing
import TestSupport
@testable import MailRelay

@Suite struct ConfigTests {
    static let example = """
        hostname = "relay.example.org"
        listen = "[::1]:2525"
        client_networks = ["127.0.0.0/8", "::1", "10.0.0.0/8"]
        spool = "/var/spool/mailrelayd"
        max_message_size = "50M"
        backoff = ["5m", "15m", 3600]
        queue_lifetime = "5d"

        [default_route]
        next_hop = "smarthost.example.org:25"
        connections = 8

        [routes]
        "legacy.example.com" = { next_hop = "10.1.2.3:25", rcpt_552 = "permanent", max_rcpt_per_txn = 50 }
        """

    @Test func readsAFullExample() throws {
        let c = try RelayConfig.parse(Self.example)
        #expect(c.listen == HostPort(host: "::1", port: 2525))
        #expect(c.clientNetworks.map(\.description) == ["127.0.0.0/8", "::1", "10.0.0.0/8"])
        #expect(c.maxMessageSize == 50 << 20)
        #expect(c.backoff == [300, 900, 3600])
        #expect(c.queueLifetime == 5 * 86_400)
        #expect(c.defaultRoute == Route(nextHop: HostPort(host: "smarthost.example.org", port: 25), connections: 8))
        let legacy = c.route(for: "someone@mx.legacy.example.com")
        #expect(legacy.rcpt552 == .permanent && legacy.maxRcptPerTxn == 50 && legacy.nextHop.host == "10.1.2.3")
        #expect(c.route(for: "someone@example.com") == c.defaultRoute)
    }

    @Test(arguments: [
        ("max_rcpt_per_txn = 5", "f: max_rcpt_per_txn: unknown setting"),
        ("max_recipients = 50", "f: max_recipients: 50 is below the minimum of 100 (RFC 5321 §4.5.3.1.8 requires accepting 100)"),
        ("listen = \"localhost\"", "f: listen: expected \"host:port\", found \"localhost\""),
        ("client_networks = [\"300.1.1.1/8\"]", "f: client_networks: \"300.1.1.1/8\" is not an address or address/prefix"),
        ("[routes]\n\"a.test\" = { rcpt_552 = \"sometimes\", next_hop = \"h:1\" }", "f: routes.\"a.test\".rcpt_552: expected \"classify\" or \"permanent\", found \"sometimes\""),
        ("[routes]\n\"a.test\" = { connections = 2 }", "f: routes.\"a.test\".next_hop: every route needs a next_hop = \"host:port\""),
        ("backoff = \"soon\"", "f: backoff: expected a non-empty array of durations"),
        ("[[[default_route", "f: line 1: arrays of tables ([[...]]) are not supported"),
    ])
    func mistakesAreNamed(_ text: String, _ message: String) {
        do {
            _ = try RelayConfig.parse(text, file: "f")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func networksMatchTheirAddressesOnly() {
        let v4 = NetworkRange(parsing: "127.0.0.0/8")!
        #expect(v4.contains("127.9.8.7") && v4.contains("::ffff:127.0.0.1") && !v4.contains("128.0.0.1") && !v4.contains("::1"))
        let v6 = NetworkRange(parsing: "2001:db8::/32")!
        #expect(v6.contains("2001:db8:1::5") && !v6.contains("2001:db9::1"))
        #expect(NetworkRange(parsing: "10.0.0.0/33") == nil)
    }
}

@Suite struct ReadmeConfigTests {
    /// The README's example configuration is a real one: every key in it parses.
    @Test func theReadmeExampleParses() throws {
        let readme = try String(contentsOfFile: Built.root + "/README.md", encoding: .utf8)
        guard let start = readme.range(of: "```toml\n"), let end = readme.range(of: "```", range: start.upperBound..<readme.endIndex) else {
            Issue.record("README.md has no toml example")
            return
        }
        let c = try RelayConfig.parse(String(readme[start.upperBound..<end.lowerBound]), file: "README.md")
        #expect(c.hostname == "relay.example.org")
        #expect(c.routes.count == 2)
        #expect(c.route(for: "x@big.example.net").maxRcptPerTxn == 500)
        #expect(c.logRotateSize == 100 << 20)
    }
}
