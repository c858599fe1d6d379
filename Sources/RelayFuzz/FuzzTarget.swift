import RelayCore

/// The parsers that read bytes from outside: each one a libFuzzer target (`relaywatch-fuzz
/// TARGET`), and each input one call of ``run(_:)``. A target crashes (through `precondition`)
/// only when a parser breaks a promise it makes to the rest of the code: an event it decoded does
/// not encode back to itself, a reply line carries a bare CR, LF or control character, an adapter
/// writes a log line the log's own reader refuses. Ordinary refusals are the expected outcome.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A delivery-log v1 line (the report, the monitor, and every subscriber of the control socket).
    case deliveryLog = "delivery-log"
    /// A control-socket request line, as mailrelayd reads it.
    case controlRequest = "control-request"
    /// What mailrelayd sends on its control socket (responses, notices, events), as relaywatch reads it.
    case controlReply = "control-reply"
    /// Bytes a client sends mailrelayd's SMTP listener: the line reader, then the session.
    case smtpServer = "smtp-server"
    /// Bytes a next hop sends mailrelayd: the line reader, then the reply assembler.
    case smtpReply = "smtp-reply"
    /// A Postfix mail log (syslog forms and journal JSON records).
    case postfixLog = "postfix-log"
    /// An Exim main log.
    case eximLog = "exim-log"
    /// `postqueue -j` output.
    case postqueue = "postqueue"
    /// `exim -bp` output.
    case eximQueue = "exim-queue"
    /// A TOML file: mailrelayd's configuration and a relaywatch theme.
    case toml = "toml"

    /// Runs one input; returns how many things in it the parser accepted (events, requests,
    /// replies, queue entries, a configuration), so seeds can be checked for reaching real paths.
    @discardableResult
    public func run(_ input: UnsafeRawBufferPointer) -> Int {
        switch self {
        case .deliveryLog: FuzzDeliveryLog.run(input)
        case .controlRequest: FuzzControl.request(input)
        case .controlReply: FuzzControl.reply(input)
        case .smtpServer: FuzzSMTP.server(input)
        case .smtpReply: FuzzSMTP.reply(input)
        case .postfixLog: FuzzMTALogs.postfix(input)
        case .eximLog: FuzzMTALogs.exim(input)
        case .postqueue: FuzzMTALogs.postqueue(input)
        case .eximQueue: FuzzMTALogs.eximQueue(input)
        case .toml: FuzzTOML.run(input)
        }
    }

    public func accepts(_ input: UnsafeRawBufferPointer) -> Bool { run(input) > 0 }

    /// Splits an input into lines the way the programs do (LF, bounded), for the line-based targets.
    static func lines(_ input: UnsafeRawBufferPointer, max: Int = 1 << 16, _ each: (UnsafeRawBufferPointer, Bool) -> Void) {
        var splitter = LineSplitter(maxLineLength: max)
        splitter.feed(input) { _, line, overlong in each(line, overlong) }
        splitter.finish { _, line, overlong in each(line, overlong) }
    }
}
