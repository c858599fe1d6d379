import Foundation
import RelayCore
import RelayScenarios
@testable import RelayWatch
import Testing

/// The update step's side of the control socket: what each action key asks, when it refuses, and
/// how the relay's answers and the link's state are shown. No socket here: effects and state only.
struct MonitorActionTests {
    static let id = "KB1"

    /// The KB822105 scenario's message, with the relay saying it still has it queued.
    static func connected(pending: Int = 3, held: Bool = false) -> Monitor {
        var settings = Monitor.Settings()
        settings.link = .connecting
        var m = Monitor(settings)
        _ = m.update(.resize(width: 160, height: 50))
        Screen.feed(&m, [Scenario.kb822105.log])
        _ = m.update(.relayLink(.connected(relay: "mailrelayd", version: "0.1.0")))
        let record = m.store.message(id)!
        let recipients = record.recipients.enumerated().map { i, a in
            QueueRecipientEntry(address: a, state: i < pending ? "pending" : "delivered", attempts: 1, lastReply: nil)
        }
        let entry = QueueEntry(id: id, sender: "sender@example.org", received: 0, age: 0, size: 1, held: held, attempts: 1,
                               nextAttempt: 100, inProgress: false, recipients: recipients)
        _ = m.update(.relayQueue(QueueSnapshot(entries: [entry], relayNow: 0, receivedAt: 0, entersUnknown: false)))
        return m
    }

    @Test func rAsksFirstAndYSendsTheRetry() {
        var m = Self.connected(pending: 3)
        #expect(m.update(.key(.char("r"))) == [])
        #expect(m.confirming?.question == "Retry 3 recipients of KB1 now? y/n")
        #expect(Render.frame(m).line(48).contains("Retry 3 recipients of KB1 now? y/n"))
        #expect(m.update(.key(.char("y"))) == [.relay(.retry(msg: Self.id, rcpts: nil))])
        #expect(m.confirming == nil)
    }

    @Test func anyOtherKeyCancels() {
        var m = Self.connected()
        _ = m.update(.key(.char("r")))
        #expect(m.update(.key(.char("n"))) == [])
        #expect(m.confirming == nil && m.status?.text == "cancelled")
    }

    @Test func spaceMarksAndRRetriesOnlyThePendingMarkedOnes() {
        var m = Self.connected(pending: 2)
        // The view opens on #98; the delivered run #1–#97 is one row. Open it, mark three.
        Screen.press(&m, .enter, .home, .enter, .down, .char(" "), .char(" "), .char(" "))
        #expect(m.marks[Self.id] == [0, 1, 2])
        #expect(m.cursorRecipients == Array(3...3))
        _ = m.update(.key(.char("R")))
        let record = m.store.message(Self.id)!
        #expect(m.confirming?.action == .retry(msg: Self.id, rcpts: [record.recipients[0], record.recipients[1]]))
        #expect(m.confirming?.question.contains("Retry 2 marked recipients") == true)
        #expect(m.confirming?.question.contains("1 marked one is already final and left out") == true)
        // Space again unmarks.
        _ = m.update(.key(.escape))
        Screen.press(&m, .up, .char(" "))
        #expect(m.marks[Self.id] == [0, 1])
        // Space on a run's row marks the whole run.
        Screen.press(&m, .left, .home, .char(" "))
        #expect(m.marks[Self.id] == Set(0..<97))
        #expect(Render.frame(m).line(48).contains("97 marked; R retries them"))
    }

    @Test func aRelayThatRetriesWholeMessagesOffersTheMessage() {
        var m = Self.connected(pending: 3)
        m.traits.retriesChosenRecipients = false
        m.traits.name = "Postfix"
        Screen.press(&m, .enter, .char(" "), .char("R"))
        #expect(m.confirming?.question == "Postfix retries whole messages, not chosen recipients: retry all 3 waiting recipients of KB1 now? y/n")
        #expect(m.update(.key(.char("y"))) == [.relay(.retry(msg: Self.id, rcpts: nil))])
    }

    @Test func holdAndReleaseGoStraightToTheRelay() {
        var m = Self.connected()
        #expect(m.update(.key(.char("h"))) == [.relay(.hold(msg: Self.id))])
        #expect(m.update(.key(.char("u"))) == [.relay(.release(msg: Self.id))])
    }

    /// The relay's answer is the truth at once: r right after a release is not refused as held
    /// because the next snapshot has not come yet.
    @Test func aHoldOrReleaseAnswerTakesEffectBeforeTheNextSnapshot() {
        var m = Self.connected(held: true)
        _ = m.update(.relayAnswer(RelayAnswer(action: .release(msg: Self.id), ok: true)))
        #expect(m.live.queueLabel(Self.id, now: m.now) != "held")
        _ = m.update(.key(.char("r")))
        #expect(m.confirming?.question == "Retry 3 recipients of KB1 now? y/n")
        _ = m.update(.key(.escape))
        _ = m.update(.relayAnswer(RelayAnswer(action: .hold(msg: Self.id), ok: true)))
        #expect(m.live.queueLabel(Self.id, now: m.now) == "held")
    }

    @Test func actionsAreRefusedWithAReason() {
        var m = Self.connected(held: true)
        _ = m.update(.key(.char("r")))
        #expect(m.status?.text == "KB1 is held: u releases it first")
        Screen.press(&m, .enter, .char("R"))
        #expect(m.status?.text.hasPrefix("mark recipients with space") == true)
        Screen.press(&m, .escape)

        m.readonly = true
        for key in ["r", "h", "u"] {
            #expect(m.update(.key(.char(Character(key)))) == [])
            #expect(m.status?.text == "read-only (--readonly): actions are disabled")
        }
        m.readonly = false
        _ = m.update(.relayLink(.reconnecting(at: m.now + 4, why: "no socket at /x")))
        _ = m.update(.key(.char("h")))
        #expect(m.status?.text.hasPrefix("not connected to the relay") == true)
        _ = m.update(.relayLink(.permissionDenied("permission denied: /x is not open to this user", retryAt: m.now + 30)))
        _ = m.update(.key(.char("h")))
        #expect(m.status?.text == "permission denied by the relay: this view is read-only")

        var logOnly = Screen.monitor([Scenario.kb822105.log])
        _ = logOnly.update(.key(.char("r")))
        #expect(logOnly.status?.text.hasPrefix("no relay to act on") == true)
        #expect(Render.frame(logOnly).line(22).contains("no relay to act on"))
    }

    @Test func answersAndTheLinkShowOnScreen() {
        var m = Self.connected()
        _ = m.update(.relayAnswer(RelayAnswer(action: .retry(msg: Self.id, rcpts: nil), ok: false,
                                              detail: "KB1 is being delivered right now", code: "in-progress")))
        #expect(m.status?.text == "relay refused retry KB1: KB1 is being delivered right now [in-progress]")
        _ = m.update(.relayAnswer(RelayAnswer(action: .retry(msg: Self.id, rcpts: nil), ok: true, rcpts: ["a@b", "c@d"])))
        #expect(m.status?.text == "relay: retrying 2 recipients of KB1 now")
        #expect(Render.frame(m).line(0).contains("relay: connected (mailrelayd 0.1.0)"))
        #expect(Render.frame(m).line(1).contains("RELAY"))
        _ = m.update(.tick(1000))
        _ = m.update(.relayLink(.reconnecting(at: 1004, why: "the relay closed the connection")))
        #expect(Render.frame(m).line(0).contains("relay: reconnecting in 4s (the relay closed the connection)"))
        _ = m.update(.relayLink(.incompatible("protocol v3 not understood (relaywatch speaks v1 and v2)", retryAt: 1030)))
        #expect(Render.frame(m).line(0).contains("relay: protocol v3 not understood"))
        // At 80 columns the link is said short, beside the sparkline and the counts.
        _ = m.update(.resize(width: 80, height: 24))
        _ = m.update(.relayLink(.connected(relay: "mailrelayd", version: "0.1.0")))
        #expect(Render.frame(m).line(0).contains("relay: connected"))
    }

    @Test func aSnapshotEntersMessagesTheViewHasNotSeenWhenThereIsNoLog() {
        var settings = Monitor.Settings()
        settings.live = true
        settings.link = .connecting
        var m = Monitor(settings)
        _ = m.update(.resize(width: 120, height: 30))
        let entry = QueueEntry(id: "Q1", sender: "s@x", received: 1_795_000_000, age: 5, size: 10, held: true, attempts: 2,
                               nextAttempt: 1_795_000_100, inProgress: false,
                               recipients: [QueueRecipientEntry(address: "r@y", state: "pending", attempts: 2, lastReply: LastReply(recorded: "451 4.7.1 later"))])
        _ = m.update(.relayQueue(QueueSnapshot(entries: [entry], relayNow: 1_795_000_005, receivedAt: 1_795_000_005, entersUnknown: true)))
        #expect(m.store.message("Q1")?.recipients.count == 1)
        #expect(m.order == ["Q1"])
        #expect(m.live.entries["Q1"]?.recipients.first?.lastReply == LastReply(code: 451, enhanced: "4.7.1", text: "later"))
    }
}

struct WatchConfigTests {
    @Test func readsTheFourSettings() throws {
        let c = try WatchConfig.parse("log = \"/var/log/d.log\"\nsocket = \"/run/m.sock\"\ntheme = \"light\"\nreadonly = true\n", file: "c.toml")
        #expect(c.log == "/var/log/d.log" && c.socket == "/run/m.sock" && c.theme == "light" && c.readonly == true)
    }

    @Test func mistakesNameTheFileAndTheKey() throws {
        #expect(throws: WatchConfigError.self) { try WatchConfig.parse("sockett = \"/x\"", file: "c.toml") }
        do {
            _ = try WatchConfig.parse("readonly = \"yes\"", file: "c.toml")
            Issue.record("a string for readonly must be refused")
        } catch {
            #expect("\(error)" == "c.toml: readonly: expected true or false, found a string")
        }
        for (text, said) in [("keep = 0", "found 0"), ("keep = \"many\"", "found a string")] {
            do {
                _ = try WatchConfig.parse(text, file: "c.toml")
                Issue.record("\(text) must be refused")
            } catch {
                #expect("\(error)" == "c.toml: keep: expected a number of finished messages, 1 or more, \(said)")
            }
        }
        #expect(try WatchConfig.parse("keep = 200", file: "c.toml").keep == 200)
        #expect(WatchConfig.path(environment: ["XDG_CONFIG_HOME": "/cfg", "HOME": "/h"]) == "/cfg/relaywatch/config.toml")
        #expect(WatchConfig.path(environment: ["HOME": "/h"]) == "/h/.config/relaywatch/config.toml")
    }
}
