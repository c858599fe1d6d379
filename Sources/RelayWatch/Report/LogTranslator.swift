#if canImport(Glibc)
import Glibc
#endif
import EximLog
import PostfixLog
import RelayCore

/// Which program wrote a log, and so how its lines become delivery-log v1 events.
public enum LogFormat: String, Sendable, CaseIterable {
    /// Tell from the first line that is not blank.
    case auto
    /// mailrelayd's own delivery log (v1 JSON Lines): read as it is.
    case mailrelayd
    /// Postfix's mail log: syslog lines (RFC 3164 or 5424) or `maillog_file` lines.
    case postfix
    /// Postfix's lines as `journalctl -o json` writes them.
    case journal
    /// Exim's main log (4.9x).
    case exim

    /// The format of a log whose first non-blank line this is.
    public static func detect(_ line: UnsafeRawBufferPointer) -> LogFormat {
        var i = 0
        while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        if i < line.count, line[i] == UInt8(ascii: "{") {
            // Both are JSON objects; only the journal's have these fields.
            let text = String(decoding: line, as: UTF8.self)
            return text.contains("\"__REALTIME_TIMESTAMP\"") || text.contains("\"__CURSOR\"") ? .journal : .mailrelayd
        }
        // Exim's "2026-11-29 08:00:00 …" has a space where RFC 3339 has a T.
        if EximLine.parse(line) != nil { return .exim }
        var syslog = SyslogReader(reference: Timestamp(seconds: 0))
        return syslog.parse(line) != nil ? .postfix : .mailrelayd
    }

    public var name: String {
        switch self {
        case .auto: "auto"
        case .mailrelayd: "mailrelayd"
        case .postfix: "Postfix"
        case .journal: "Postfix (journal)"
        case .exim: "Exim"
        }
    }

    /// What this kind of log cannot show, in words for the report and the views.
    public var traits: SourceTraits {
        switch self {
        case .postfix, .journal: .postfix
        case .exim: .exim
        case .auto, .mailrelayd: .mailrelayd
        }
    }
}

extension SourceTraits {
    /// Postfix: one line per recipient per attempt with the reply in it; no RCPT positions, no
    /// accepted RCPT replies, no tally; `postqueue -i` retries whole messages.
    public static let postfix = SourceTraits(name: "Postfix", logsRcptPositions: false, logsAcceptedReplies: false,
                                             retriesChosenRecipients: false, canHold: true)
}

extension SourceTraits {
    /// Exim: like Postfix, one line per recipient per attempt with the reply in it; no RCPT
    /// positions, no accepted RCPT replies, no tally; `exim -M` delivers whole messages.
    public static let exim = SourceTraits(name: "Exim", logsRcptPositions: false, logsAcceptedReplies: false,
                                          retriesChosenRecipients: false, canHold: true)
}

/// Another program's log lines as delivery-log v1 events, which the store applies as it applies
/// mailrelayd's lines (``DeliveryStore/applyEvent(_:unplaced:)``), or as v1 lines by the one
/// codec, for `convert` and for a reader that hands lines to another thread. Given `.auto`, the
/// first line that is not blank decides the format; a mailrelayd log is v1 already and passes
/// through untouched.
public struct LogTranslator {
    public internal(set) var format: LogFormat
    public private(set) var postfix: PostfixAdapter
    public private(set) var exim: EximAdapter
    /// The events the last line gave (kept for its capacity from line to line).
    public private(set) var events: [DeliveryEvent] = []
    private var out: [UInt8] = []
    private var ends: [Int] = []

    /// `reference` and `utcOffset`: how to read syslog times that carry no year or zone.
    /// `forAnalysis`: only what the analyser uses (see ``PostfixAdapter/keepsDeliveryDetail``).
    public init(format: LogFormat, reference: Timestamp, utcOffset: Int = 0, homeHost: String? = nil, forAnalysis: Bool = false) {
        self.format = format
        postfix = PostfixAdapter(reference: reference, utcOffset: utcOffset, homeHost: homeHost)
        postfix.keepsDeliveryDetail = !forAnalysis
        exim = EximAdapter(utcOffset: utcOffset)
        exim.keepsDeliveryDetail = !forAnalysis
    }

    /// Reads one line; its events are then in ``events`` (and ``forEachLine(_:)``) until the
    /// next call. nil: the line is delivery-log v1 already, to be read as it is.
    public mutating func translate(_ line: UnsafeRawBufferPointer) -> AdapterVerdict? {
        events.removeAll(keepingCapacity: true)
        if format == .auto {
            // Blank lines before the first that tells say nothing in any format.
            guard !line.isBlankLine else { return .ignored }
            format = LogFormat.detect(line)
        }
        if format == .mailrelayd { return nil }
        // Only the adapter that reads the log drafts: its last line's drafts are forgotten.
        if format == .exim { exim.drafts?.removeAll() } else { postfix.drafts?.removeAll() }
        switch format {
        case .journal: return postfix.read(journalLine: line, into: &events)
        case .exim: return exim.read(line: line, into: &events)
        default: return postfix.read(line: line, into: &events)
        }
    }

    /// Whether the adapters draft their outcomes and `done`s (see ``EventDrafts``) rather than
    /// make events of them: the report's own reading, which applies ``drafts`` after ``events``.
    /// Off for anything that hands ``events`` on (`convert`, the monitor, a reading stage).
    public var drafting: Bool {
        get { exim.drafts != nil }
        set {
            exim.drafts = newValue ? EventDrafts() : nil
            postfix.drafts = newValue ? EventDrafts() : nil
        }
    }

    /// The drafts the last line gave, when ``drafting`` (to apply after its ``events``).
    public var drafts: EventDrafts? { format == .exim ? exim.drafts : postfix.drafts }

    /// Whether this log goes through an adapter (it is another MTA's, or not yet told).
    public var adapts: Bool { format != .mailrelayd }

    /// The v1 lines of the last line's events, without their newlines.
    public mutating func forEachLine(_ body: (UnsafeRawBufferPointer) -> Void) {
        out.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        for e in events {
            LogEncoder.append(e, to: &out)
            ends.append(out.count - 1)  // without the newline
        }
        out.withUnsafeBytes { all in
            var start = 0
            for end in ends {
                body(UnsafeRawBufferPointer(rebasing: all[start..<end]))
                start = end + 1
            }
        }
    }

    /// The host's offset from UTC now, for syslog times without a zone.
    public static func localUTCOffset() -> Int {
        var now = time(nil)
        var tm = tm()
        localtime_r(&now, &tm)
        return Int(tm.tm_gmtoff)
    }
}

/// Reading another MTA's log in parts (see ``PartOwnership``): what the report's merge needs of
/// the adapters.
extension LogTranslator {
    /// Starts reading a later part: the adapter reads only the messages it owns from here on,
    /// with the syslog reader where the parts before are taken to have left it.
    mutating func startLaterPart(syslog: SyslogReader.State?) {
        postfix.ownership = PartOwnership()
        exim.ownership = PartOwnership()
        if let syslog { postfix.syslog.state = syslog }
    }

    /// What this later part's adapter owned, and whether a line tangled two messages.
    var ownership: PartOwnership? { format == .exim ? exim.ownership : postfix.ownership }

    /// The syslog reader's year and month (Postfix), carried from part to part.
    var syslogState: SyslogReader.State {
        get { postfix.syslog.state }
        set { postfix.syslog.state = newValue }
    }

    var homeHost: String? { postfix.homeHost }

    /// Keys of the messages the adapter holds in flight (with a requeued message's aliases).
    var heldKeys: [String] { format == .exim ? exim.heldKeys : postfix.heldKeys }

    /// The hosts a later part saw: first of the merge.
    mutating func adoptHosts(of later: LogTranslator) { postfix.adoptHosts(of: later.postfix) }

    /// A later part's messages in flight, aliases and counts: last of the merge.
    mutating func adoptMessages(of later: inout LogTranslator) {
        if format == .exim { exim.adoptMessages(of: &later.exim) } else { postfix.adoptMessages(of: &later.postfix) }
    }
}
