import Testing
import RelayCore
import RelayScenarios

/// Cases around the rules' edges: the shift of a few (M2), expiry after a correct retry, a log
/// that starts mid-stream, and the KB822105 pattern at a scale a mass mailing reaches.
@Suite struct AnalyserEdgeTests {
    typealias Run = ScenarioRuleTests

    @Test func aShiftOfThreeIsCaughtEvenWhenTheCountIsRight() {
        // 150 recipients, limit 100: the relay NDRs #98–#147 (50, the right number) and delivers
        // nothing else; #148–#150 are neither retried nor reported.
        var b = LogBuilder()
        let rc = recipients(150)
        b.queued("SH1", from: "s@example.org", rcpts: rc)
        b.session("s1", peer: "127.0.0.1:2526")
        b.transaction("SH1", "t1", session: "s1", rcpts: rc,
                      answers: .limit(100, SMTPReply(code: 552, enhanced: EnhancedStatus("5.5.3"), text: "Too many recipients")))
        for i in 0..<97 { b.outcome("SH1", rc[i], .delivered, txn: "t1") }
        for i in 97..<147 { b.outcome("SH1", rc[i], .bounced, txn: "t1") }
        b.ndr("SH1", ndrMsg: "N1", rcpts: Array(rc[97..<147]))
        b.done("SH1")
        let a = Run.analyse(b.text).anomalies
        #expect(Set(a.map(\.rule)) == [.ndrWrongRecipient, .recipientLost, .limitBounced])
        #expect(a.first { $0.rule == .ndrWrongRecipient }?.detail.contains("RCPT #98–#100") == true)
        #expect(a.first { $0.rule == .recipientLost }?.detail.contains("RCPT #148–#150 of t1 got 552 5.5.3 too many recipients") == true)
    }

    @Test func expiryAfterACorrectRetryIsNotAMiscount() {
        // Too-many, deferred, retried, greylisted until the queue lifetime ends, then expired
        // with a DSN quoting the last reply: what RFC 5321 asks for.
        var b = LogBuilder()
        let rc = recipients(120)
        let grey = SMTPReply(code: 451, enhanced: EnhancedStatus("4.7.1"), text: "Greylisted")
        b.queued("EX1", from: "s@example.org", rcpts: rc)
        b.session("s1", peer: "127.0.0.1:2526")
        b.transaction("EX1", "t1", session: "s1", rcpts: rc,
                      answers: .limit(100, SMTPReply(code: 452, enhanced: EnhancedStatus("4.5.3"), text: "Too many recipients")))
        b.tally("EX1", "t1", accepted: 100, deferred: 20, bounced: 0)
        for i in 0..<100 { b.outcome("EX1", rc[i], .delivered, txn: "t1") }
        for i in 100..<120 { b.outcome("EX1", rc[i], .deferred, txn: "t1", reason: "452 4.5.3 Too many recipients") }
        var answers = LogBuilder.PeerAnswers()
        answers.rcpt = { _ in grey }
        b.transaction("EX1", "t2", session: "s1", rcpts: Array(rc[100...]), answers: answers)
        b.tally("EX1", "t2", accepted: 0, deferred: 20, bounced: 0)
        for i in 100..<120 { b.outcome("EX1", rc[i], .expired, txn: nil, reason: "queue lifetime reached") }
        let failed = Array(rc[100...])
        b.ndr("EX1", ndrMsg: "N1", rcpts: failed, diagnostics: Dictionary(uniqueKeysWithValues: failed.map { ($0, "smtp; \(grey)") }))
        b.done("EX1")
        #expect(Run.analyse(b.text).anomalies.isEmpty)
    }

    @Test func sentAgainAfterTooManyThenRefusedForItsOwnReasonIsNotLimitBounced() {
        // #3 gets 452 too-many in t1, is sent again in t2 and refused there as unknown: the relay
        // did what RFC 5321 asks; the bounce is for the 550, not the limit.
        var b = LogBuilder()
        let rc = recipients(3)
        let unknown = SMTPReply(code: 550, enhanced: EnhancedStatus("5.1.1"), text: "User unknown")
        b.queued("SA1", from: "s@example.org", rcpts: rc)
        b.session("s1", peer: "127.0.0.1:2526")
        b.transaction("SA1", "t1", session: "s1", rcpts: rc,
                      answers: .limit(2, SMTPReply(code: 452, enhanced: EnhancedStatus("4.5.3"), text: "Too many recipients")))
        b.outcome("SA1", rc[0], .delivered, txn: "t1")
        b.outcome("SA1", rc[1], .delivered, txn: "t1")
        var answers = LogBuilder.PeerAnswers()
        answers.rcpt = { _ in unknown }
        b.transaction("SA1", "t2", session: "s1", rcpts: [rc[2]], answers: answers)
        b.outcome("SA1", rc[2], .bounced, txn: "t2", reason: unknown.description)
        b.ndr("SA1", ndrMsg: "N1", rcpts: [rc[2]], diagnostics: [rc[2]: "smtp; \(unknown)"])
        b.done("SA1")
        // The peer's limit of 2 is its own fault; nothing is the relay's.
        #expect(Run.analyse(b.text).anomalies.map(\.rule) == [.peerLimitBelow100])
    }

    @Test func aRefusedMailWithoutPipeliningSendsNoRcptAndThatIsRight() {
        // Without PIPELINING the relay stops after MAIL's 552 5.3.4; every recipient takes that
        // reply (R1) and bounces, quoting it.
        var b = LogBuilder()
        let rc = recipients(3)
        let size = SMTPReply(code: 552, enhanced: EnhancedStatus("5.3.4"), text: "Message size exceeds fixed limit")
        b.queued("NP1", from: "s@example.org", rcpts: rc, size: 90_000_000)
        b.session("s1", peer: "127.0.0.1:2526", ehlo: ["SIZE 1000000"])
        b.txn("NP1", "t1", session: "s1", pipelined: false, rcpts: rc)
        b.reply("NP1", "t1", .mail, size)
        b.tally("NP1", "t1", accepted: 0, deferred: 0, bounced: 3)
        for r in rc { b.outcome("NP1", r, .bounced, txn: "t1", reason: size.description) }
        b.ndr("NP1", ndrMsg: "N1", rcpts: rc, diagnostics: Dictionary(uniqueKeysWithValues: rc.map { ($0, "smtp; \(size)") }))
        b.done("NP1")
        #expect(Run.analyse(b.text).anomalies.isEmpty)
    }

    @Test func aLogThatStartsMidStreamIsReadWithoutFalseAlarms() {
        // The queued and txn events were in the previous (lost) file: only replies, outcomes and
        // done remain. Unplaced replies are counted, not reported as anomalies.
        let lines = Scenario.correctResend.log.split(separator: "\n")
        let tail = lines.filter { !$0.contains("\"event\":\"queued\"") && !$0.contains("\"event\":\"txn\"") }
        var store = DeliveryStore(options: .init(dropFinished: true))
        var unplaced = 0
        var anomalies: [Anomaly] = []
        for line in tail {
            guard case .event(let e) = LogDecoder.decode(String(line)) else { continue }
            if let m = store.apply(e, unplaced: { _ in unplaced += 1 }) { anomalies += Analyser.analyse(m) }
        }
        #expect(unplaced > 300)
        #expect(anomalies.isEmpty, "\(anomalies.map(\.detail))")
    }

    @Test func kb822105AtFiveThousandRecipients() {
        var b = Scenario.kb822105Pattern(msg: "BIG", recipients: 5000)
        b.done("BIG")
        let a = Run.analyse(b.text).anomalies
        #expect(Set(a.map(\.rule)) == [.limitBounced, .ndrCountMismatch, .ndrWrongRecipient])
        #expect(a.first { $0.rule == .ndrCountMismatch }?.detail
                == "peer refused RCPT #101–#5000 with 552 5.5.3 too many recipients (4900); relay NDR'd 4903, including #98–#100 which were accepted")
    }
}
