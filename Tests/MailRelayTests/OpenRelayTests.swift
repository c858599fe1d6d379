import Foundation
import Testing
import TestSupport

/// mailrelayd is not an open relay: outside `client_networks` nothing is accepted whatever the
/// address looks like, and inside them the address tricks that once fooled relays (source routes,
/// `%` hacks, `!` paths, quoted local parts holding an `@`, IP literals) route nothing: every
/// address goes to the route of the domain after its last `@`, as written, and nowhere else.
@Suite(.serialized) struct OpenRelayTests {
    static let tricks = [
        "@relay.test,@victim.test:user@victim.test",
        "user%victim.test@relay.test",
        "victim.test!user@relay.test",
        "\"user@victim.test\"@relay.test",
        "\"john smith\"@relay.test",
        "\"a>b\"@relay.test",
        "user@[127.0.0.1]",
        "user@victim.test",
    ]

    @Test func nothingIsAcceptedFromOutsideTheAllowedNetworksWhateverTheAddress() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, [])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port, settings: "client_networks = [\"10.0.0.0/8\"]")
        for address in Self.tricks {
            let c = try SMTPClient(port: relay.port)
            #expect(c.reply()?.hasPrefix("554") == true)
            c.send("EHLO evil.test\r\nMAIL FROM:<a@evil.test>\r\nRCPT TO:<\(address)>\r\nDATA\r\n")
            let replies = c.replies(4)
            #expect(replies.count == 4 && replies.allSatisfy { $0.hasPrefix("5") }, "\(address): \(replies)")
        }
        usleep(500_000)
        #expect(relay.events("queued").isEmpty)
        #expect(peer.deliveries.isEmpty)
    }

    @Test func insideTheNetworksAnAddressGoesByItsLastDomainAsWritten() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, name: "smarthost", [])
        let victim = try Peer(in: scratch, name: "victim", [])
        // victim.test has a route of its own: only a recipient whose domain is victim.test may use it.
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port,
                                       tables: "[routes]\n\"victim.test\" = { next_hop = \"127.0.0.1:\(victim.port)\" }")
        let (replies, final) = try SMTPClient(port: relay.port).submit(from: "a@c.test", to: Self.tricks)
        #expect(replies.allSatisfy { $0.hasPrefix("250") }, "\(replies)")
        #expect(final?.hasPrefix("250") == true)
        let expected = Set(Self.tricks.dropLast().map { $0.hasPrefix("@") ? "user@victim.test" : $0 })
        // The source route is stripped (RFC 5321 §C), so that recipient is user@victim.test.
        let toVictim = victim.waitForRecipients(2).flatMap(\.rcpts)
        #expect(Set(toVictim) == ["user@victim.test"] && toVictim.count == 2, "\(toVictim)")
        let toSmarthost = peer.waitForRecipients(expected.count - 1).flatMap(\.rcpts)
        #expect(Set(toSmarthost) == expected.subtracting(["user@victim.test"]), "\(toSmarthost)")
    }

    /// CR, LF, NUL and the other control characters (C1 too) never make it into an address or an
    /// EHLO name: a bare CR, NUL, ESC or CSI is binary garbage, and an LF ends the command where it
    /// stands.
    @Test func addressesWithCRLFOrNULAreRefused() throws {
        let scratch = try TempDir()
        let peer = try Peer(in: scratch, [])
        let relay = try RelayUnderTest(in: scratch, nextHop: peer.port)
        let c = try SMTPClient(port: relay.port)
        _ = c.reply()
        c.send("EHLO client.test\r\nMAIL FROM:<a@c.test>\r\n")
        _ = c.replies(2)
        for bad in ["RCPT TO:<a\rb@x.test>\r\n", "RCPT TO:<a\u{0}b@x.test>\r\n", "RCPT TO:<a\u{1B}[2Jb@x.test>\r\n",
                    "RCPT TO:<a\u{9B}2Jb@x.test>\r\n", "EHLO x\u{9D}0;title\r\n"] {
            c.send(bad)
            #expect(c.reply()?.hasPrefix("500") == true, "\(bad.debugDescription)")
        }
        c.send("RCPT TO:<a\nb@x.test>\r\n")
        #expect(c.replies(2).allSatisfy { $0.hasPrefix("50") })
        c.send("DATA\r\n")
        #expect(c.reply()?.hasPrefix("554") == true)
        #expect(relay.events("queued").isEmpty)
    }
}
