import RelayCore
import Testing

/// What a client makes of each kind of line the relay sends.
struct ControlProtocolTests {
    func classify(_ line: String) -> ControlProtocol.Incoming { ControlProtocol.classify(Array(line.utf8)) }

    @Test func eachKindOfLineIsToldApart() {
        guard case .event = classify(#"{"v":1,"ts":"2026-11-29T10:31:02.120000Z","event":"retry","msg":"M1","rcpts":null,"source":"control"}"#) else {
            Issue.record("a delivery event")
            return
        }
        // A newer relay's event this reader does not know is still an event (the store skips it).
        guard case .event = classify(#"{"v":1,"ts":"2026-11-29T10:31:02Z","event":"teleport","msg":"M1"}"#) else {
            Issue.record("an unknown event")
            return
        }
        guard case .overflow(let dropped) = classify(#"{"event":"overflow","dropped":512}"#), dropped == 512 else {
            Issue.record("an overflow notice")
            return
        }
        guard case .snapshot(let notice) = classify(#"{"event":"snapshot","now":1.5,"messages":[]}"#), notice.messages.isEmpty, notice.now == 1.5 else {
            Issue.record("a snapshot notice")
            return
        }
        guard case .response(let r) = classify(#"{"ok":false,"error":{"code":"held","message":"M1 is held"},"id":7}"#),
              r.id == .int(7), r.error?.code == "held" else {
            Issue.record("a response whose id is not its first key")
            return
        }
        guard case .garbage = classify("not json") else {
            Issue.record("garbage")
            return
        }
    }
}
