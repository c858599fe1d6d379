import RelayCore

/// The admin's actions on the relay (retry, hold, release) and what comes back from its control
/// socket. Nothing here talks to the socket: an action becomes an ``Monitor/Effect/control(_:)``
/// the loop sends, and its answer comes back through ``Monitor/answered(_:to:)``.
extension Monitor {
    /// The message the keys act on: the open one, else the list's selection.
    var actedOnID: String? {
        if case .message(let id, _) = screen { return id }
        return selectedID
    }

    /// Why actions cannot be taken now, if they cannot.
    func actionBlocked(_ id: String?) -> String? {
        if readonly { return "read-only (--readonly): actions are disabled" }
        switch live.link {
        case nil: return "no control socket: start relaywatch with --socket PATH to act on the relay"
        case .permissionDenied: return "permission denied on the control socket: this view is read-only"
        case .connected: break
        default: return "not connected to the relay (\(live.label(now: now) ?? "")); try again when it is"
        }
        guard let id else { return "no message selected" }
        guard live.entries[id] != nil else { return "\(id) is not in the relay's queue (delivered, bounced or not yet queued)" }
        return nil
    }

    mutating func askRetry(markedOnly: Bool) -> Effect {
        let id = actedOnID
        if let why = actionBlocked(id) { say(why); return .none }
        let entry = live.entries[id!]!
        let pending = entry.recipients.filter { $0.state == "pending" }
        if markedOnly {
            guard let positions = marks[id!], !positions.isEmpty, let record = store.message(id!) else {
                say("mark recipients with space in the message's Recipients tab first, then R retries them")
                return .none
            }
            let pendingAddresses = Set(pending.map { $0.address.lowercased() })
            let chosen = positions.sorted().map { record.recipients[$0] }
            var seen = Set<String>()
            let retried = chosen.filter { pendingAddresses.contains($0.lowercased()) && seen.insert($0.lowercased()).inserted }
            guard !retried.isEmpty else {
                say("none of the \(chosen.count) marked recipients is waiting at the relay (all delivered or failed)")
                return .none
            }
            let skipped = chosen.count - retried.count
            let note = skipped > 0 ? " (\(skipped) marked ones are already final and are left out)" : ""
            confirming = Confirmation(question: "Retry \(retried.count) marked recipient\(retried.count == 1 ? "" : "s") of \(id!) now\(note)? y/n",
                                      request: .init(op: .retry, msg: id, rcpts: retried))
            return .none
        }
        guard !pending.isEmpty else { say("\(id!) has no recipient waiting"); return .none }
        if entry.held { say("\(id!) is held: u releases it first"); return .none }
        confirming = Confirmation(question: "Retry \(pending.count) recipient\(pending.count == 1 ? "" : "s") of \(id!) now? y/n",
                                  request: .init(op: .retry, msg: id))
        return .none
    }

    mutating func act(_ op: ControlOp) -> Effect {
        let id = actedOnID
        if let why = actionBlocked(id) { say(why); return .none }
        say("\(op == .hold ? "holding" : "releasing") \(id!)…", for: 10)
        return .control(.init(op: op, msg: id))
    }

    mutating func confirmKey(_ k: Key, _ pending: Confirmation) -> Effect {
        confirming = nil
        switch k {
        case .char("y"), .char("Y"), .enter:
            say("asking the relay…", for: 10)
            return .control(pending.request)
        case .interrupt:
            return .quit
        default:
            say("cancelled")
            return .none
        }
    }

    /// Space in the Recipients tab: mark or unmark the recipient under the cursor, then step down.
    mutating func toggleMark() {
        guard case .message(let id, .recipients) = screen, let record = store.message(id), !record.recipients.isEmpty else {
            say("space marks recipients in a message's Recipients tab")
            return
        }
        let r = min(recipientCursor, record.recipients.count - 1)
        if marks[id, default: []].remove(r) == nil { marks[id, default: []].insert(r) }
        let n = marks[id]?.count ?? 0
        say(n == 0 ? "no recipient marked" : "\(n) marked; R retries them")
        _ = moveCursor(1)
    }

    /// In the Recipients tab the movement keys and the wheel move the cursor (the view follows,
    /// as in the list); in the other tabs they scroll.
    mutating func moveCursor(_ delta: Int) -> Bool {
        guard case .message(let id, .recipients) = screen, let record = store.message(id) else { return false }
        recipientCursor = max(0, min(record.recipients.count - 1, recipientCursor + delta))
        keepCursorVisible()
        return true
    }

    // MARK: what the socket brought

    public mutating func linkChanged(_ link: ControlClient.State) {
        let was = live.link
        live.link = link
        switch link {
        case .connected: if was != link { say("connected to the relay's control socket") }
        case .permissionDenied(let why, _): say(why + "; showing the log only", for: 15)
        case .versionMismatch(let v, _): say("the relay speaks control protocol v\(v); this relaywatch speaks v\(ControlProtocol.version)", for: 15)
        default: break
        }
    }

    /// A snapshot of the relay's queue. With no log to read, messages the view has not seen yet
    /// are entered from it (their transcripts start with the next events).
    public mutating func liveSnapshot(_ entries: [QueueEntry], relayNow: Double, received: Double, enterUnknown: Bool) {
        live.replace(entries, at: relayNow, received: received)
        if enterUnknown {
            for e in entries where store.message(e.id) == nil {
                let queued = DeliveryEvent(ts: Timestamp(seconds: e.received), msg: e.id,
                                           .queued(Queued(from: e.sender, rcpts: e.recipients.map(\.address), size: e.size, messageID: nil)))
                var bytes = Array(LogEncoder.line(queued).utf8)
                if bytes.last == 0x0A { bytes.removeLast() }
                bytes.withUnsafeBytes { ingest(line: $0, number: 0, overlong: false) }
            }
        }
        for id in Array(marks.keys) where live.entries[id] == nil { marks[id] = nil }
    }

    /// The relay's answer to an action, on the status line.
    public mutating func answered(_ r: ControlResponse, to request: ControlClient.PendingRequest) {
        let id = request.msg ?? ""
        guard r.ok else {
            say("relay refused \(request.op.rawValue) \(id): \(r.error?.message ?? "no reason given") [\(r.error?.code ?? "?")]", for: 10)
            return
        }
        switch request.op {
        case .retry:
            let n = r.rcpts?.count ?? 0
            say("relay: retrying \(n) recipient\(n == 1 ? "" : "s") of \(id) now", for: 10)
            marks[id] = nil
        case .hold: say("relay: \(id) held; u releases it", for: 10)
        case .release: say("relay: \(id) released", for: 10)
        default: break
        }
    }
}
