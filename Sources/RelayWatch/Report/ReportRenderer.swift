import RelayCore

/// Turns a finished ``ReportBuilder`` into what `relaywatch report` prints.
public enum ReportRenderer {
    /// The `--json` form: one object, the schema the issue fixes (tools key on it).
    public static func json(_ r: ReportBuilder) -> String {
        var w = JSONWriter()
        w.raw("{\"messages\":"); w.int(r.messages)
        w.raw(",\"recipients\":"); w.int(r.recipients)
        w.raw(",\"events\":"); w.int(r.events)
        w.raw(",\"malformed\":"); w.int(r.malformed)
        if let c = r.mtaCounts {
            // Another MTA's log: what it was and how much of it was read.
            w.raw(",\"format\":"); w.string(r.format == .journal ? "postfix-journal" : r.format.rawValue)
            w.raw(",\"lines\":"); w.int(c.lines)
            w.raw(",\"mta_lines\":"); w.int(c.mtaLines)
            w.raw(",\"truncated\":"); w.int(r.truncated)
            w.raw(",\"hosts\":"); w.strings(r.hosts)
        }
        w.raw(",\"anomalies\":[")
        var first = true
        for f in r.findings {
            for a in f.anomalies {
                if !first { w.raw(",") }
                first = false
                w.raw("{\"rule\":"); w.string(a.rule.rawValue)
                w.raw(",\"severity\":"); w.string(a.severity.rawValue)
                w.raw(",\"msg\":"); w.string(a.msg)
                w.raw(",\"txn\":")
                if let t = a.txn { w.string(t) } else { w.raw("null") }
                w.raw(",\"rcpts\":"); w.strings(a.rcpts)
                w.raw(",\"detail\":"); w.string(a.detail)
                w.raw("}")
            }
        }
        w.raw("]}\n")
        return String(decoding: w.out, as: UTF8.self)
    }

    /// The human form: a summary, then the anomalies grouped by message.
    public static func text(_ r: ReportBuilder, inputs: [String]) -> String {
        var out = ""
        let files = inputs.count == 1 ? (inputs[0] == "-" ? "stdin" : inputs[0]) : "\(inputs.count) files"
        out += "relaywatch report: \(files)\n"
        out += "  messages \(Format.grouped(r.messages))   recipients \(Format.grouped(r.recipients))   events \(Format.grouped(r.events))"
        out += "   malformed lines \(Format.grouped(r.malformed))\n"
        if let c = r.mtaCounts {
            let whose = r.format == .exim ? "about a message" : "from Postfix"
            out += "  \(r.format.name) log: \(Format.grouped(c.lines)) lines, \(Format.grouped(c.mtaLines)) \(whose), \(Format.grouped(c.used)) used"
            if r.truncated > 0 { out += ", \(Format.grouped(r.truncated)) cut short (read as far as they go)" }
            out += "\n"
            if r.hosts.count > 1 { out += "  hosts: \(StandardStreams.printable(r.hosts.joined(separator: ", "))) (messages of all but the first are named host/queue-id)\n" }
            out += "  \(r.format.traits.blindSpots.joined(separator: "; ")): findings name recipients, not RCPT positions\n"
        }
        if r.unknownEvents > 0 { out += "  \(Format.grouped(r.unknownEvents)) events of kinds this version does not know were skipped\n" }
        if r.unplacedCount > 0 {
            out += "  \(Format.grouped(r.unplacedCount)) events could not be placed (the log may start mid-transaction)"
            if let u = r.unplaced.first { out += ", e.g. \(StandardStreams.printable(u.msg ?? "-")): \(StandardStreams.printable(u.reason))" }
            out += "\n"
            out += "  \(Format.grouped(r.partialMessages)) message\(r.partialMessages == 1 ? " is" : "s are") only partly in the log: rules that pair replies were not applied to \(r.partialMessages == 1 ? "it" : "them")\n"
        }
        let all = r.findings.flatMap(\.anomalies)
        if all.isEmpty {
            out += "\nno anomalies\n"
            return out
        }
        var bySeverity: [Severity: Int] = [:]
        for a in all { bySeverity[a.severity, default: 0] += 1 }
        let counts = Severity.allCases.compactMap { s in bySeverity[s].map { "\($0) \(s.rawValue)" } }
        out += "  anomalies \(Format.grouped(all.count)) (\(counts.joined(separator: ", ")))\n"
        let ruleWidth = Rule.allCases.map(\.rawValue.count).max()!
        // Everything below comes from the log (ids, addresses, peers' replies and names): printable only.
        let safe = StandardStreams.printable
        for f in r.findings {
            let from = f.from.map { $0.isEmpty ? "  from <>" : "  from <\(safe($0))>" } ?? ""
            out += "\nmessage \(safe(f.msg))\(from)  \(f.recipients) recipient\(f.recipients == 1 ? "" : "s")\(f.done ? "" : "  (still queued)")\n"
            for a in f.anomalies {
                let sev = Format.cell(a.severity.rawValue.uppercased(), 9)
                let rule = Format.cell(a.rule.rawValue, ruleWidth)
                out += "  \(sev) \(rule)  \(a.txn.map { "[\(safe($0))] " } ?? "")\(safe(a.detail))\n"
            }
        }
        return out
    }
}
