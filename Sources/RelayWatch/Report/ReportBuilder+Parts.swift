#if canImport(Glibc)
import Glibc
#endif
import PostfixLog
import RelayCore

/// Reading one plain file in parts at once, one part per core, with the same findings and counts
/// as reading it in one pass.
///
/// The file is cut at line boundaries. The first part is read as usual. Each later part is read
/// by a builder of its own that builds only the messages queued inside the part; a line about a
/// message from before (in flight at the cut) is kept aside. A transaction whose session began
/// before the part gets its peer at the merge (counted by sessions, see
/// ``DeliveryStore/sessionWindow``), so a message finished in the part with such a transaction
/// waits to be judged. Then, in order, each part is merged into the builder of the parts before
/// it: its kept lines are applied there and its waiting messages judged there, each at its place
/// among the part's own findings, its messages still in flight move over, then its sessions.
/// The one case the split cannot follow, a message id queued again inside a part while a message
/// of that id from before is still in flight, is caught at the merge and that part is read again
/// in one pass.
///
/// Another MTA's log is split the same way one level up: a later part's adapter owns the messages
/// that start in the part and defers the raw lines of every other (``PartOwnership``), and the
/// merge reads those through the adapter of the parts before, then takes over the part's hosts,
/// messages in flight and counts. What the part's reader had to assume (the home host, the syslog
/// year at the cut) and what it owned are checked first; a part that fails is read again.
extension ReportBuilder {
    /// What a builder reading a later part keeps for the merge.
    struct LaterPart {
        var replay = ReplayLines()
        /// Messages finished here whose peers are named by sessions of an earlier part.
        var unjudged: [(line: Int, record: MessageRecord)] = []
        /// The line of each of this part's findings and unplaced samples, to merge in order.
        var findingLines: [Int] = []
        var unplacedLines: [Int] = []
        /// Lines in the part.
        var lines = 0
        /// Another MTA's log: where the part's reader was started, to check at the merge against
        /// where the parts before left theirs (the home host, the syslog year and month).
        var assumedHome: String?
        var assumedSyslog: SyslogReader.State?
    }

    /// Lines kept for the merge: their bytes in one buffer.
    struct ReplayLines {
        struct Entry {
            var start: Int
            var count: Int
            var number: Int
            /// A `txn` line's peer as far as the part could tell.
            var peer: DeliveryStore.TransactionPeer?
            /// Another MTA's line: the syslog reader's state before it.
            var syslog: SyslogReader.State?
        }
        var bytes: [UInt8] = []
        var entries: [Entry] = []

        mutating func append(_ line: UnsafeRawBufferPointer, number: Int, peer: DeliveryStore.TransactionPeer?,
                             syslog: SyslogReader.State? = nil) {
            entries.append(Entry(start: bytes.count, count: line.count, number: number, peer: peer, syslog: syslog))
            bytes.append(contentsOf: line)
        }
    }

    /// Parts for a file of `size` bytes read with `jobs` cores: one a core, none under 4 MB.
    static func partCount(size: Int, jobs: Int) -> Int {
        max(1, min(jobs, size / (4 << 20)))
    }

    /// The cores to use when none are named: those online, at most 8.
    public static var defaultJobs: Int { max(1, min(8, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Reads a plain file in `parts` parts, each on a thread of its own.
    mutating func readInParts(_ input: LogInput, name: String, size: Int, parts: Int) throws(LogInput.OpenError) {
        let ranges = input.lineAlignedParts(parts, size: size)
        partsRead += ranges.count
        // Each part's sessions grow to the window (delivery log), and the merge adds the last
        // of the parts' before to a later part's table: room for them all from the start.
        if ranges.count > 1, !translator.adapts { store.reserveSessions() }
        let later = UnsafeMutablePointer<ReportBuilder>.allocate(capacity: ranges.count)
        let failures = UnsafeMutablePointer<LogInput.OpenError?>.allocate(capacity: ranges.count)
        defer {
            later.deinitialize(count: ranges.count).deallocate()
            failures.deinitialize(count: ranges.count).deallocate()
        }
        // Another MTA's log: a later part's reader starts with the home host the first part
        // will have and the syslog year its line before the cut gives (both checked at the merge).
        let adapts = translator.adapts
        let home = adapts ? homeHost(input, in: ranges[0]) : nil
        let syslog = format == .postfix ? syslogStates(input, ranges) : []
        for k in ranges.indices {
            var b = ReportBuilder(format: format, reference: reference, utcOffset: utcOffset, homeHost: home)
            b.laterPart = LaterPart()
            if adapts, k > 0 {
                b.translator.startLaterPart(syslog: syslog.isEmpty ? nil : syslog[k])
                b.laterPart!.assumedHome = home
                b.laterPart!.assumedSyslog = syslog.isEmpty ? nil : syslog[k]
            }
            (later + k).initialize(to: b)
            (failures + k).initialize(to: nil)
        }
        let shared = UnsafeSendable(later), failed = UnsafeSendable(failures)
        let workers = ranges.indices.dropFirst().map { k in
            Worker {
                do throws(LogInput.OpenError) {
                    if !adapts { shared.pointer[k].store.reserveSessions() }
                    shared.pointer[k].laterPart!.lines = try shared.pointer[k].readPart(input, ranges[k], name: name)
                    // Sorted here, on the part's core, not at the merge on the one.
                    if !adapts { shared.pointer[k].store.sealBorn() }
                } catch {
                    failed.pointer[k] = error
                }
            }
        }
        // The first part on this thread, into this builder, as any file is read.
        var firstFailure: LogInput.OpenError?
        var lineOffset = 0
        do throws(LogInput.OpenError) {
            lineOffset = try readPart(input, ranges[0], name: name)
        } catch {
            firstFailure = error
        }
        for (k, worker) in zip(ranges.indices.dropFirst(), workers) {
            worker.join()
            if firstFailure != nil { continue }
            if let f = failures[k] { firstFailure = f; continue }
            let lines = later[k].laterPart!.lines
            if !merge(&later[k], name: name, lineOffset: lineOffset) {
                // Read again in one pass, after the parts before (see the type's comment).
                partsReadAgain += 1
                do throws(LogInput.OpenError) {
                    try readPart(input, ranges[k], name: name, lineOffset: lineOffset)
                } catch {
                    firstFailure = error
                }
            }
            lineOffset += lines
        }
        if let firstFailure { throw firstFailure }
    }

    /// Whether the file is in a format read in parts (mailrelayd's delivery log, Postfix's or
    /// Exim's log, journal lines); with `--from auto`, the first line that is not blank tells,
    /// and the format is settled.
    mutating func settleFormat(_ input: LogInput, size: Int) -> Bool {
        guard format == .auto else { return true }
        var told: LogFormat?
        forEachLine(input, in: 0..<min(size, 1 << 20)) { line in
            guard !line.isBlankLine else { return true }
            told = LogFormat.detect(line)
            return false
        }
        guard let told else { return false }
        translator.format = told
        return true
    }

    /// The lines of a range of the file, until `body` says stop.
    private func forEachLine(_ input: LogInput, in range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var splitter = LineSplitter()
        var going = true
        try? input.forEachChunk(in: range) { chunk in
            guard going else { return }
            splitter.feed(chunk) { _, line, overlong in
                if going, !overlong { going = body(line) }
            }
        }
        if going { splitter.finish { _, line, overlong in if going, !overlong { going = body(line) } } }
    }

    /// The home host of a Postfix log as its first part will have it: the host of its first
    /// line about a message, read by an adapter of its own from the part's first megabyte.
    private func homeHost(_ input: LogInput, in range: Range<Int>) -> String? {
        guard format == .postfix || format == .journal else { return nil }
        var t = LogTranslator(format: format, reference: reference, utcOffset: utcOffset, forAnalysis: true)
        var home: String?
        forEachLine(input, in: range.lowerBound..<min(range.upperBound, range.lowerBound + (1 << 20))) { line in
            _ = t.translate(line)
            home = t.homeHost
            return home == nil
        }
        return home
    }

    /// The syslog reader's state at the start of each part, as a reader of the file's first line
    /// and then of each line before a cut has it: right unless the months wrap between two cuts
    /// in a way those lines do not show (the merge checks, and reads that part again if so).
    private func syslogStates(_ input: LogInput, _ ranges: [Range<Int>]) -> [SyslogReader.State] {
        var reader = SyslogReader(reference: reference, utcOffset: utcOffset)
        forEachLine(input, in: ranges[0].lowerBound..<min(ranges[0].upperBound, 1 << 20)) { line in
            guard !line.isBlankLine else { return true }
            _ = reader.parse(line)
            return false
        }
        var states = [reader.state]
        for r in ranges.dropFirst() {
            if let line = input.line(endingBefore: r.lowerBound) { _ = line.withUnsafeBytes { reader.parse($0) } }
            states.append(reader.state)
        }
        return states
    }

    /// Reads the lines of one part; returns how many there were.
    @discardableResult
    mutating func readPart(_ input: LogInput, _ range: Range<Int>, name: String, lineOffset: Int = 0) throws(LogInput.OpenError) -> Int {
        var splitter = LineSplitter()
        var failure: LogInput.OpenError?
        do throws(LogInput.OpenError) {
            try input.forEachChunk(in: range) { chunk in
                splitter.feed(chunk) { number, bytes, overlong in self.line(name, number + lineOffset, bytes, overlong: overlong) }
            }
        } catch {
            failure = error
        }
        splitter.finish { number, bytes, overlong in self.line(name, number + lineOffset, bytes, overlong: overlong) }
        if let failure { throw failure }
        return splitter.lineNumber
    }

    /// Merges the builder of the next part into this one (see the type's comment). False, with
    /// nothing changed, when a message of this builder still in flight was queued again there.
    mutating func merge(_ next: inout ReportBuilder, name: String, lineOffset: Int) -> Bool {
        guard let part = next.laterPart else { return false }
        let adapts = next.translator.adapts
        if adapts {
            guard mergeable(next.translator, part) else { return false }
            // Hosts first, so the lines read here are keyed as the part keyed its own.
            translator.adoptHosts(of: next.translator)
        } else {
            next.store.sealBorn()
            for id in store.heldIDs where next.store.bornHere(id) { return false }
        }
        next.laterPart = nil
        let samplesBefore = malformedSamples.count
        var finding = 0, sample = 0
        // The part's own findings and unplaced samples up to a line, in their place.
        func catchUp(to line: Int) {
            while finding < next.findings.count, part.findingLines[finding] < line {
                findings.append(next.findings[finding])
                finding += 1
            }
            while sample < next.unplaced.count, part.unplacedLines[sample] < line {
                if unplaced.count < Self.sampleLimit { unplaced.append(next.unplaced[sample]) }
                sample += 1
            }
        }
        var waiting = 0
        part.replay.bytes.withUnsafeBytes { all in
            for e in part.replay.entries {
                // Messages of the part judged before this line.
                while waiting < part.unjudged.count, part.unjudged[waiting].line < e.number {
                    catchUp(to: part.unjudged[waiting].line)
                    judge(part.unjudged[waiting], lineOffset: lineOffset)
                    waiting += 1
                }
                catchUp(to: e.number)
                let bytes = UnsafeRawBufferPointer(rebasing: all[e.start..<(e.start + e.count)])
                if adapts {
                    if let s = e.syslog { translator.syslogState = s }
                    line(name, e.number + lineOffset, bytes)
                } else {
                    applyKept(name, e.number + lineOffset, bytes, peer: e.peer)
                }
            }
        }
        while waiting < part.unjudged.count {
            catchUp(to: part.unjudged[waiting].line)
            judge(part.unjudged[waiting], lineOffset: lineOffset)
            waiting += 1
        }
        catchUp(to: Int.max)
        messages += next.messages
        recipients += next.recipients
        events += next.events
        unknownEvents += next.unknownEvents
        malformed += next.malformed
        partialMessages += next.partialMessages
        unplacedCount += next.unplacedCount
        truncated += next.truncated
        // The part's samples and those of its lines read here, in line order.
        let own = next.malformedSamples.map { MalformedLine(file: $0.file, line: $0.line + lineOffset, reason: $0.reason) }
        let merged = (malformedSamples[samplesBefore...] + own).sorted { $0.line < $1.line }
        malformedSamples.removeSubrange(samplesBefore...)
        malformedSamples += merged.prefix(Self.sampleLimit - samplesBefore)
        if adapts {
            translator.adoptMessages(of: &next.translator)
            if format == .postfix { translator.syslogState = next.translator.syslogState }
        }
        store.adoptUnfinished(of: &next.store)
        store.adoptSessions(of: &next.store)
        return true
    }

    /// Whether another MTA's later part can be merged: no line of it tied a message it owned to
    /// one it did not, its reader started where the parts before left theirs, and none of the
    /// messages it owned is one still in flight here (a queue id reused, or a requeue's alias).
    private func mergeable(_ later: LogTranslator, _ part: LaterPart) -> Bool {
        guard let owned = later.ownership, !owned.tangled, translator.homeHost == part.assumedHome else { return false }
        if format == .postfix, let assumed = part.assumedSyslog, assumed != translator.syslogState { return false }
        for k in translator.heldKeys where owned.isOwned(k) { return false }
        for k in store.heldIDs where owned.isOwned(k) { return false }
        return true
    }

    /// A message of a later part that waited for the peers of its sessions from before the part.
    private mutating func judge(_ waiting: (line: Int, record: MessageRecord), lineOffset: Int) {
        var record = waiting.record
        store.resolvePeers(&record)
        analyse(record, line: waiting.line + lineOffset)
    }
}
