import RelayCore

/// The admin's actions on the relay (retry, hold, release) and what comes back from it. Nothing
/// here talks to the relay: an action becomes an ``Effect/relay(_:)`` the runtime hands to the
/// relay source, and its answer comes back as ``Msg/relayAnswer(_:)``.
extension Monitor {
    /// The message the keys act on: the open one, else the list's selection.
    var actedOnID: String? {
        if case .message(let id, _) = screen { return id }
        return shownSelection
    }

    /// Why actions cannot be taken now, if they cannot.
    func actionBlocked(_ id: String?) -> String? {
        if readonly { return "read-only (--readonly): actions are disabled" }
        switch live.link {
        case nil: return "no relay to act on: start relaywatch with --socket PATH to retry, hold and release"
        case .permissionDenied: return "permission denied by the relay: this view is read-only"
        case .connected: break
        default: return "not connected to the relay (\(live.label(now: now) ?? "")); try again when it is"
        }
        guard let id else { return "no message selected" }
        guard live.entries[id] != nil else { return "\(id) is not in the relay's queue (delivered, bounced or not yet queued)" }
        return nil
    }

    mutating func askRetry(markedOnly: Bool) {
        let id = actedOnID
        if let why = actionBlocked(id) { return say(why) }
        let entry = live.entries[id!]!
        let pending = entry.recipients.filter { $0.state == "pending" }
        if markedOnly {
            guard let numbers = marks[id!], !numbers.isEmpty, let record = store.message(id!) else {
                return say("mark recipients with space in the message's Recipients tab first, then R retries them")
            }
            if entry.held { return say("\(id!) is held: u releases it first") }
            if !traits.retriesChosenRecipients {
                guard !pending.isEmpty else { return say("\(id!) has no recipient waiting") }
                confirming = Confirmation(question: "\(traits.name) retries whole messages, not chosen recipients: retry all \(pending.count) waiting recipients of \(id!) now? y/n",
                                          action: .retry(msg: id!, rcpts: nil))
                return
            }
            let waiting = Set(pending.map { $0.address.lowercased() })
            var seen = Set<String>()
            var retried: [String] = []
            var final = 0, twice = 0
            for r in numbers.sorted() {
                let address = record.recipients[r]
                if !seen.insert(address.lowercased()).inserted { twice += 1 } else if waiting.contains(address.lowercased()) { retried.append(address) } else { final += 1 }
            }
            guard !retried.isEmpty else {
                return say("none of the \(numbers.count) marked recipients is waiting at the relay (all delivered or failed)")
            }
            var notes: [String] = []
            if final > 0 { notes.append("\(final) marked \(final == 1 ? "one is" : "ones are") already final and left out") }
            if twice > 0 { notes.append("\(twice) marked twice under the same address") }
            let note = notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))"
            confirming = Confirmation(question: "Retry \(retried.count) marked recipient\(retried.count == 1 ? "" : "s") of \(id!) now\(note)? y/n",
                                      action: .retry(msg: id!, rcpts: retried))
            return
        }
        if entry.held { return say("\(id!) is held: u releases it first") }
        guard !pending.isEmpty else { return say("\(id!) has no recipient waiting") }
        confirming = Confirmation(question: "Retry \(pending.count) recipient\(pending.count == 1 ? "" : "s") of \(id!) now? y/n",
                                  action: .retry(msg: id!, rcpts: nil))
    }

    mutating func act(_ action: RelayAction) -> [Effect] {
        if let why = actionBlocked(actedOnID) { say(why); return [] }
        if !traits.canHold { say("\(traits.name) cannot hold or release from here"); return [] }
        say("\(action.verb == "hold" ? "holding" : "releasing") \(action.msg)…", for: 10)
        return [.relay(action)]
    }

    mutating func confirmKey(_ k: Key, _ pending: Confirmation) -> [Effect] {
        confirming = nil
        switch k {
        case .char("y"), .char("Y"), .enter:
            say("asking the relay…", for: 10)
            return [.relay(pending.action)]
        case .interrupt:
            return [.quit]
        default:
            say("cancelled")
            return []
        }
    }

    /// Space in the Recipients tab: mark or unmark the recipients of the row under the cursor
    /// (one, or a whole run), then step down.
    mutating func toggleMark() {
        guard case .message(let id, .recipients) = screen, let range = cursorRecipients else {
            return say("space marks recipients in a message's Recipients tab")
        }
        var set = marks[id, default: []]
        if range.allSatisfy(set.contains) { set.subtract(range) } else { set.formUnion(range) }
        marks[id] = set.isEmpty ? nil : set
        say(set.isEmpty ? "no recipient marked" : "\(set.count) marked; R retries them")
        moveCursor(1)
    }

    // MARK: what the relay said

    mutating func linkChanged(_ link: RelayLink) {
        let was = live.link
        live.link = link
        switch link {
        case .connected: if was != link { say("connected to the relay") }
        case .reconnecting(_, let why):
            // The header keeps only the latest reason; the moment the link is lost, say why.
            if case .connected = was { say("lost the relay: \(why)", for: 15) }
        case .permissionDenied(let why, _): say(why + "; showing the log only", for: 15)
        case .incompatible(let why, _): say("the relay: " + why, for: 15)
        default: break
        }
    }

    /// A snapshot of the relay's queue. When the relay is the only source of events, messages the
    /// view has not seen yet are entered from it (their transcripts start with the next events).
    mutating func liveSnapshot(_ q: QueueSnapshot) {
        live.apply(q)
        if q.entersUnknown {
            for e in q.entries where store.message(e.id) == nil {
                let queued = DeliveryEvent(ts: Timestamp(seconds: e.received), msg: e.id,
                                           .queued(Queued(from: e.sender, rcpts: e.recipients.map(\.address), size: e.size, messageID: nil)))
                applyFromQueue(queued)
            }
        }
        if q.resync {
            // Those just entered from the queue came in during the gap too.
            for id in store.markEventsMissed() { dirty.insert(id) }
            resynchronise(q)
        }
        for id in Array(marks.keys) where live.entries[id] == nil { marks[id] = nil }
    }

    /// The relay's answer to an action, on the status line.
    mutating func answered(_ a: RelayAnswer) {
        let id = a.action.msg
        guard a.ok else {
            let code = a.code.map { " [\($0)]" } ?? ""
            return say("relay refused \(a.action.verb) \(id): \(a.detail ?? "no reason given")\(code)", for: 10)
        }
        // A source that runs a command says which, and how it ended.
        let how = a.detail.map { " (\($0))" } ?? ""
        switch a.action {
        case .retry:
            if let n = a.rcpts?.count {
                say("relay: retrying \(n) recipient\(n == 1 ? "" : "s") of \(id) now\(how)", for: 10)
            } else {
                say("relay: retrying \(id) now\(how)", for: 10)
            }
            marks[id] = nil
        case .hold:
            live.setHeld(id, true)
            say("relay: \(id) held; u releases it\(how)", for: 10)
        case .release:
            live.setHeld(id, false)
            say("relay: \(id) released\(how)", for: 10)
        }
    }
}
