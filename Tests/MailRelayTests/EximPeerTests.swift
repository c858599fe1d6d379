import Foundation
import MailRelay
import RelayPeers
import RelaySockets
import Testing
import TestSupport

@Suite(.serialized) struct EximPeerTests {
    @Test(arguments: [150, 400])
    func exim452LimitOf20(_ count: Int) throws {
        let scratch = try TempDir()
        let exim = try EximPeer(in: scratch, recipientsMax: 20)
        let relay = try RelayUnderTest(in: scratch, nextHop: exim.port)
        let rcpts = (1...count).map { "user\($0)@exim.test" }
        let (_, final) = try SMTPClient(port: relay.port).submit(from: "sender@example.org", to: rcpts)
        #expect(final?.hasPrefix("250") == true)
        let received = exim.waitForRecipients(count)
        let got = received.flatMap(\.rcpts)
        #expect(got.count == count, "Exim received \(got.count) recipients")
        #expect(Set(got) == Set(rcpts))
        #expect(received.allSatisfy { $0.rcpts.count <= 20 })
        #expect(Set(received.map(\.clientPort)).count == 1, "the excess went on another connection")
        #expect(relay.waitForDone(1))
        #expect(relay.events("ndr").isEmpty)
        #expect(try reportRules(relay.logPath) == ["peer-limit-below-100"])
    }
}
