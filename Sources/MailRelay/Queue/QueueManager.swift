import Foundation
import Logging
import NIOCore
import RelayCore

/// Owns the queue in memory (the spool is its durable copy): decides what is due, splits each
/// attempt into one job per route, runs at most `connections` workers per route that reuse their
/// connection from job to job, and settles each attempt when its last job is back: recipient
/// states, the DSN, the next attempt or `done`. Every recipient is accounted for exactly once per
/// attempt (rule R4): a job returns one result for each of its recipients.
actor QueueManager {
    struct RouteState {
        var jobs: [DeliveryJob] = []
        var workers = 0
        /// Workers with an open connection waiting for a job, with their idle deadline.
        var idle: [(id: Int, continuation: CheckedContinuation<DeliveryJob?, Never>)] = []
    }

    struct AttemptProgress {
        var jobsLeft: Int
        var results: [RecipientResult] = []
    }

    let config: RelayConfig
    let spool: Spool
    let log: DeliveryLogWriter
    let ids: IDGenerator
    let delivery: MessageDelivery
    let logger: Logger
    let allocator = ByteBufferAllocator()

    private var messages: [String: QueuedMessage] = [:]
    private var attempts: [String: AttemptProgress] = [:]
    private var routes: [Route: RouteState] = [:]
    private var nextWaiter = 0
    private var stopping = false
    private var workerTasks = 0
    private var drained: [CheckedContinuation<Void, Never>] = []
    private var ticker: Task<Void, Never>?
    /// What changed when, for `snapshot` deltas.
    private var changes = QueueChanges()

    init(config: RelayConfig, spool: Spool, log: DeliveryLogWriter, ids: IDGenerator, limits: PeerLimits,
         group: EventLoopGroup, logger: Logger) {
        self.config = config
        self.spool = spool
        self.log = log
        self.ids = ids
        self.logger = logger
        self.delivery = MessageDelivery(config: config, log: log, ids: ids, limits: limits,
                                        dead: DeadHops(time: config.deadHopTime), spool: spool, group: group)
    }

    /// Loads what a previous run left and starts the clock that wakes deferred messages.
    func start(resuming queued: [QueuedMessage]) {
        for m in queued {
            messages[m.id] = m
            changes.touch(m.id)
            // Every recipient was recorded delivered, transaction by transaction, but the previous
            // run stopped before settling the attempt: settle it now, so the message leaves the queue.
            if m.isFinished {
                attempts[m.id] = AttemptProgress(jobsLeft: 0)
                Task { await self.settleResumed(m.id) }
            }
        }
        if !queued.isEmpty { logger.info("resuming \(queued.count) queued messages") }
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                await self?.runDue()
            }
        }
        runDue()
    }

    /// A newly queued message: its first attempt starts now.
    func add(_ m: QueuedMessage) {
        messages[m.id] = m
        changes.touch(m.id)
        if !stopping { startAttempt(m.id) }
    }

    private func runDue() {
        if let failure = log.takeFailure() {
            // The queue, not the log, is the record of what is owed: delivery goes on.
            logger.error("delivery log: \(failure); events are being lost until it can be written")
        }
        guard !stopping else { return }
        let now = Date().timeIntervalSince1970
        for (id, m) in messages where attempts[id] == nil && !m.held && m.nextAttempt <= now {
            startAttempt(id)
        }
    }

    /// Starts an attempt for the message's pending recipients (or only those in `only`) and
    /// returns their addresses. `requestedBy` names who asked (the `retry` event's source) when it
    /// is not the schedule.
    @discardableResult
    private func startAttempt(_ id: String, only: Set<Int>? = nil, requestedBy source: String? = nil) -> [String] {
        guard var m = messages[id], attempts[id] == nil, !m.held else { return [] }
        let pending = m.recipients.enumerated().filter { $0.element.state == .pending && (only?.contains($0.offset) ?? true) }
        guard !pending.isEmpty else { return [] }
        m.attempts += 1
        messages[id] = m
        let addresses = pending.map(\.element.address)
        if let source {
            log.write([DeliveryEvent(ts: .now, msg: id, .retry(Retry(rcpts: only == nil ? nil : addresses, source: source)))])
        } else if m.attempts > 1 {
            log.write([DeliveryEvent(ts: .now, msg: id, .retry(Retry(rcpts: nil, source: "schedule")))])
        }
        var byRoute: [Route: [(position: Int, address: String)]] = [:]
        var routeOrder: [Route] = []
        for (i, r) in pending {
            let route = config.route(for: r.address)
            if byRoute[route] == nil { routeOrder.append(route) }
            byRoute[route, default: []].append((i, r.address))
        }
        attempts[id] = AttemptProgress(jobsLeft: routeOrder.count)
        changes.touch(id)
        let attempt = m.attempts
        Task {
            let body: [UInt8]
            do {
                body = try await spool.body(of: id) ?? []
            } catch {
                logger.error("cannot read message \(id) from the spool: \(error)")
                await self.abandonAttempt(id)
                return
            }
            let data = WireData.stuffed(body, allocator: allocator)
            for route in routeOrder {
                await self.enqueue(DeliveryJob(messageID: id, attempt: attempt, sender: m.sender, size: m.size, eightBit: m.eightBit,
                                               received: m.received, recipients: byRoute[route]!, route: route, data: data))
            }
        }
        return addresses
    }

    private func abandonAttempt(_ id: String) {
        attempts[id] = nil
        touched(id)
        messages[id]?.nextAttempt = Date().timeIntervalSince1970 + config.backoffDelay(afterAttempt: 1)
    }

    private func enqueue(_ job: DeliveryJob) {
        var state = routes[job.route, default: RouteState()]
        if !state.idle.isEmpty {
            let waiter = state.idle.removeFirst()
            routes[job.route] = state
            waiter.continuation.resume(returning: job)
            return
        }
        if state.workers < job.route.connections {
            state.workers += 1
            routes[job.route] = state
            spawnWorker(first: job)
        } else {
            state.jobs.append(job)
            routes[job.route] = state
        }
    }

    private func spawnWorker(first: DeliveryJob) {
        workerTasks += 1
        let delivery = self.delivery
        Task {
            var conn: PeerConnection?
            var job: DeliveryJob? = first
            let route = first.route
            while let j = job {
                let (results, next) = await delivery.run(j, over: conn)
                conn = next
                await self.finished(j, results)
                job = await self.nextJob(route, connected: conn != nil)
            }
            await conn?.quit()
            await self.workerExited(route)
        }
    }

    /// The next job for a worker of `route`; with an open connection it waits up to the idle time
    /// for one (connection reuse), without one it leaves.
    private func nextJob(_ route: Route, connected: Bool) async -> DeliveryJob? {
        if var state = routes[route], !state.jobs.isEmpty {
            let job = state.jobs.removeFirst()
            routes[route] = state
            return job
        }
        guard connected, !stopping else { return nil }
        nextWaiter += 1
        let id = nextWaiter
        let idleTime = config.idleConnectionTime
        return await withCheckedContinuation { (c: CheckedContinuation<DeliveryJob?, Never>) in
            routes[route, default: RouteState()].idle.append((id, c))
            Task {
                try? await Task.sleep(for: .seconds(idleTime))
                self.wake(route, id)
            }
        }
    }

    private func wake(_ route: Route, _ id: Int) {
        guard var state = routes[route], let k = state.idle.firstIndex(where: { $0.id == id }) else { return }
        let waiter = state.idle.remove(at: k)
        routes[route] = state
        waiter.continuation.resume(returning: nil)
    }

    private func workerExited(_ route: Route) {
        routes[route]?.workers -= 1
        workerTasks -= 1
        if let state = routes[route], state.workers == 0, state.jobs.isEmpty, state.idle.isEmpty { routes[route] = nil }
        if workerTasks == 0 {
            for d in drained { d.resume() }
            drained = []
        }
    }

    private func settleResumed(_ id: String) async {
        await settle(id, [])
        attempts[id] = nil
        touched(id)
    }

    /// A job came back: once the attempt's last job is in, settle the message.
    private func finished(_ job: DeliveryJob, _ results: [RecipientResult]) async {
        guard var progress = attempts[job.messageID] else { return }
        progress.jobsLeft -= 1
        progress.results += results
        attempts[job.messageID] = progress
        guard progress.jobsLeft == 0 else { return }
        await settle(job.messageID, progress.results)
        attempts[job.messageID] = nil
        touched(job.messageID)
    }

    private func settle(_ id: String, _ results: [RecipientResult]) async {
        guard var m = messages[id] else { return }
        let now = Date().timeIntervalSince1970
        var changed: [(Int, QueuedRecipient)] = []
        var failures: [DSNBuilder.Failure] = []
        for r in results {
            var q = m.recipients[r.position]
            guard q.state == .pending else { continue }
            q.attempts += 1
            q.lastReply = r.lastReply
            switch r.status {
            case .delivered: q.state = .delivered
            case .bounced: q.state = .bounced
            case .expired: q.state = .expired
            case .deferred: break
            }
            if q.state == .bounced || q.state == .expired, !q.reported {
                q.reported = true
                failures.append(DSNBuilder.Failure(recipient: q.address, reply: r.reply, reason: r.reason,
                                                   remoteMTA: r.remoteMTA, expired: q.state == .expired))
            }
            m.recipients[r.position] = q
            changed.append((r.position, q))
        }
        // A deferred message waits its back-off, but never past its lifetime: the last attempt
        // falls at the lifetime, and what it cannot deliver then expires.
        m.nextAttempt = max(now + 0.001, min(now + config.backoffDelay(afterAttempt: m.attempts), m.received + config.queueLifetime))
        var dsn: (message: QueuedMessage, body: [UInt8])?
        if !failures.isEmpty, !m.sender.isEmpty {
            dsn = await makeDSN(for: m, failures, now: now)
        }
        let remove = m.isFinished
        do {
            try await spool.settle(Settlement(id: id, recipients: changed, attempts: m.attempts, nextAttempt: m.nextAttempt,
                                              dsn: dsn, remove: remove))
        } catch {
            // The queue still says what it said before this attempt: the recipients go again
            // (at-least-once), which is better than a DSN or a removal that is not on disk.
            logger.error("cannot record the attempt for \(id) in the spool: \(error); its recipients will be tried again")
            return
        }
        var events: [DeliveryEvent] = []
        if !failures.isEmpty {
            events.append(DeliveryEvent(ts: .now, msg: id, .ndr(NDR(
                ndrMsg: dsn?.message.id, rcpts: failures.map(\.recipient),
                diagnostics: Dictionary(failures.map { ($0.recipient, DSNBuilder.diagnostic($0)) }, uniquingKeysWith: { a, _ in a })))))
        }
        if let dsn {
            events.append(DeliveryEvent(ts: .now, msg: dsn.message.id, .queued(Queued(
                from: "", rcpts: dsn.message.recipients.map(\.address), size: dsn.message.size, messageID: dsn.message.messageID))))
        }
        if remove { events.append(DeliveryEvent(ts: .now, msg: id, .done)) }
        log.write(events)
        if remove {
            messages[id] = nil
            changes.removed(id)
        } else {
            // A hold or release that came in while this attempt ran stands.
            m.held = messages[id]?.held ?? m.held
            messages[id] = m
            changes.touch(id)
        }
        if let dsn { add(dsn.message) }
    }

    private func makeDSN(for m: QueuedMessage, _ failures: [DSNBuilder.Failure], now: Double) async -> (message: QueuedMessage, body: [UInt8])? {
        let original = (try? await spool.body(of: m.id)) ?? []
        let id = ids.message()
        let body = DSNBuilder(hostname: config.hostname).build(id: id, original: m, originalBody: original, failures: failures,
                                                                now: Timestamp(seconds: now))
        let dsn = QueuedMessage(id: id, sender: "", size: body.count, messageID: "<\(id)@\(config.hostname)>", received: now,
                                nextAttempt: now, recipients: [QueuedRecipient(address: m.sender)])
        return (dsn, body)
    }

    // MARK: the control socket's actions

    /// The queue as the control socket's `snapshot` shows it: every message, oldest first, or
    /// (given a version this run handed out) only those changed since, and those gone.
    func snapshot(now: Double, since: Int64? = nil) -> QueueView {
        var view = QueueView(version: changes.version)
        var chosen = Array(messages.values)
        if let since, let delta = changes.since(since) {
            chosen = delta.changed.compactMap { messages[$0] }
            view.since = since
            view.removed = delta.removed
        }
        view.entries = chosen.sorted { ($0.received, $0.id) < ($1.received, $1.id) }.map { m in
            QueueEntry(id: m.id, sender: m.sender, received: m.received, age: max(0, now - m.received), size: m.size,
                       held: m.held, attempts: m.attempts, nextAttempt: m.nextAttempt, inProgress: attempts[m.id] != nil,
                       recipients: m.recipients.map {
                           QueueRecipientEntry(address: $0.address, state: $0.state.rawValue, attempts: $0.attempts,
                                               lastReply: $0.lastReply.map(LastReply.init(recorded:)))
                       })
        }
        return view
    }

    func counts() -> RelayStats.Queue {
        var q = RelayStats.Queue()
        for m in messages.values {
            q.messages += 1
            q.recipients += m.recipients.filter { $0.state == .pending }.count
            if m.held { q.held += 1 }
        }
        return q
    }

    /// An admin's "try now": every pending recipient, or the named ones. Returns the addresses
    /// the attempt will send to.
    func retryNow(_ id: String, recipients named: [String]?) throws(ControlError) -> [String] {
        let m = try queued(id)
        if m.held { throw ControlError(.held, "\(id) is held; release it first") }
        if attempts[id] != nil { throw ControlError(.inProgress, "\(id) is being delivered right now") }
        if stopping { throw ControlError(.shuttingDown, "the relay is stopping") }
        var chosen: Set<Int>?
        if let named {
            guard !named.isEmpty else { throw ControlError(.badRequest, "rcpts is empty; leave it out to retry every pending recipient") }
            var positions = Set<Int>()
            for address in named {
                let matches = m.recipients.indices.filter { m.recipients[$0].address.caseInsensitiveCompare(address) == .orderedSame }
                guard !matches.isEmpty else { throw ControlError(.unknownRecipient, "\(address) is not a recipient of \(id)") }
                let open = matches.filter { m.recipients[$0].state == .pending }
                guard !open.isEmpty else {
                    throw ControlError(.recipientFinal, "\(address) was already \(m.recipients[matches[0]].state.rawValue)")
                }
                positions.formUnion(open)
            }
            chosen = positions
        }
        messages[id]?.nextAttempt = Date().timeIntervalSince1970
        touched(id)
        return startAttempt(id, only: chosen, requestedBy: "control")
    }

    /// No attempts until released. An attempt already running finishes; the hold applies after it.
    func hold(_ id: String) async throws(ControlError) {
        if try queued(id).held { throw ControlError(.alreadyHeld, "\(id) is already held") }
        try await setHeld(id, true)
        log.write([DeliveryEvent(ts: .now, msg: id, .hold)])
    }

    /// Back on its schedule: if its next attempt is already due, it starts now.
    func release(_ id: String) async throws(ControlError) {
        if try !queued(id).held { throw ControlError(.notHeld, "\(id) is not held") }
        try await setHeld(id, false)
        log.write([DeliveryEvent(ts: .now, msg: id, .release)])
        if !stopping, messages[id].map({ $0.nextAttempt <= Date().timeIntervalSince1970 }) == true { startAttempt(id) }
    }

    private func queued(_ id: String) throws(ControlError) -> QueuedMessage {
        guard let m = messages[id] else { throw ControlError(.unknownMessage, "no message \(id) in the queue") }
        return m
    }

    /// The spool first: a hold that is not on disk would be lost at a restart.
    private func setHeld(_ id: String, _ held: Bool) async throws(ControlError) {
        do {
            try await spool.setHeld(id, held)
        } catch {
            throw ControlError(.internalError, "cannot record the hold in the spool: \(error)")
        }
        messages[id]?.held = held
        touched(id)
    }

    /// A message's state changed (not its place in the queue): stamp it, if it is still queued.
    private func touched(_ id: String) {
        if messages[id] != nil { changes.touch(id) }
    }

    /// Stops starting attempts and waits for the running ones to finish their transactions.
    func drain() async {
        stopping = true
        ticker?.cancel()
        for (route, var state) in routes {
            let idle = state.idle
            state.idle = []
            routes[route] = state
            for w in idle { w.continuation.resume(returning: nil) }
        }
        if workerTasks == 0 { return }
        await withCheckedContinuation { drained.append($0) }
    }
}
