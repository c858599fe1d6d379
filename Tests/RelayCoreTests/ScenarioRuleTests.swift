import Testing
import RelayCore
import RelayScenarios

/// Every named scenario must produce exactly its rule set: no more (false alarms cost an admin's
/// trust), no fewer.
@Suite struct ScenarioRuleTests {
    static func analyse(_ log: String) -> (anomalies: [Anomaly], malformed: [String]) {
        var store = DeliveryStore(options: .init(dropFinished: true))
        var anomalies: [Anomaly] = []
        var malformed: [String] = []
        for line in log.split(separator: "\n", omittingEmptySubsequences: false) {
            switch LogDecoder.decode(String(line)) {
            case .event(let e):
                if let m = store.apply(e) { anomalies += Analyser.analyse(m, peers: store.peers) }
            case .malformed(let why): malformed.append(why)
            case .unknownEvent, .blank: break
            }
        }
        for m in store.unfinished { anomalies += Analyser.analyse(m, peers: store.peers) }
        return (anomalies, malformed)
    }

    @Test(arguments: Scenario.all.map(\.name))
    func exactRuleSet(_ name: String) {
        let scenario = Scenario.all.first { $0.name == name }!
        let result = Self.analyse(scenario.log)
        #expect(result.malformed.isEmpty)
        let found = Set(result.anomalies.map(\.rule.rawValue))
        #expect(found == scenario.expectedRules, "\(name): \(result.anomalies.map { "\($0.rule.rawValue): \($0.detail)" })")
    }

    @Test func kb822105NamesTheThreeAcceptedRecipients() {
        let result = Self.analyse(Scenario.kb822105.log)
        let wrong = result.anomalies.filter { $0.rule == .ndrWrongRecipient }
        #expect(wrong.count == 1)
        #expect(Set(wrong.flatMap(\.rcpts)) == ["user98@example.net", "user99@example.net", "user100@example.net"])
        #expect(wrong.first?.detail.contains("#98–#100") == true)
        let count = result.anomalies.first { $0.rule == .ndrCountMismatch }
        #expect(count?.severity == .miscount)
        #expect(count?.detail == "peer refused RCPT #101–#150 with 552 5.5.3 too many recipients (50); relay NDR'd 53, including #98–#100 which were accepted")
        #expect(count?.txn == "t1")
        let bounced = result.anomalies.first { $0.rule == .limitBounced }
        #expect(bounced?.rcpts.count == 50)
        #expect(bounced?.severity == .deviation)
    }

    @Test func postfixBounceIsADeviationNotAMiscount() {
        let result = Self.analyse(Scenario.postfixBounce.log)
        #expect(result.anomalies.map(\.severity) == [.deviation])
        #expect(result.anomalies.first?.rcpts == recipients(150).suffix(50).map { $0 })
    }

    @Test func peerLimitNamesThePeerAndPositions() {
        let a = Self.analyse(Scenario.peerLimit20.log).anomalies
        #expect(a.count == 1)
        #expect(a.first?.detail.contains("peer 127.0.0.1:2526 refused RCPT #21–#60 with 452 4.5.3") == true)
        #expect(a.first?.severity == .peer)
    }

    @Test func missingReplyIsReportedByPosition() {
        let a = Self.analyse(Scenario.missingPipelinedReply.log).anomalies
        #expect(a.first?.detail == "5 RCPT commands, 4 RCPT replies: RCPT #5 got no reply, yet the relay went on to end of data and logged it as delivered")
        #expect(a.first?.rcpts == ["user5@example.net"])
    }

    @Test func neighbourQuoteNamesWhoseReplyItWas() {
        let a = Self.analyse(Scenario.dsnQuotesNeighbour.log).anomalies
        #expect(a.first?.rcpts == ["bob@example.net"])
        #expect(a.first?.detail.contains("RCPT #3 (carol@example.net) in t1") == true)
    }

    @Test func lostRecipientSaysWhereItWasLastSeen() {
        let a = Self.analyse(Scenario.lostRecipient.log).anomalies
        #expect(a.first?.detail == "1 of 3 recipients has no final outcome though the message left the queue: user3@example.net (last deferred: 451 4.7.1 Greylisted)")
    }

    @Test func duplicateNamesTheTenRecipients() {
        let a = Self.analyse(Scenario.eximDuplicate.log).anomalies
        #expect(a.first?.rcpts == (91...100).map { "user\($0)@example.net" })
        #expect(a.first?.txn == "t2")
    }
}
