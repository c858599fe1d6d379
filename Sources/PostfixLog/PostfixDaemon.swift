/// The Postfix programs whose lines say something about a message, told by the last part of the
/// syslog tag (`postfix/smtp`, `postfix-out/smtp`, `postfix/submission/smtpd`: `syslog_name` and
/// the service name vary, the program does not).
enum PostfixDaemon {
    /// smtp, lmtp, local, virtual, error, retry, pipe, discard: one line per recipient per attempt.
    case delivery(smtpReplies: Bool)
    case qmgr, cleanup, pickup, bounce, postsuper
    /// Another Postfix program (smtpd, anvil, master, postscreen, ...): its lines change no message.
    case other

    /// nil: not a Postfix tag at all (another program in the same log).
    static func of(tag b: UnsafeRawBufferPointer, _ tag: Range<Int>) -> PostfixDaemon? {
        var slash = -1
        for i in tag where b[i] == UInt8(ascii: "/") { slash = i }
        guard slash > tag.lowerBound else { return nil }
        let name = UnsafeRawBufferPointer(rebasing: b[(slash + 1)..<tag.upperBound])
        func eq(_ s: StaticString) -> Bool { name.count == s.utf8CodeUnitCount && name.has(s, at: 0) }
        switch name.first {
        case UInt8(ascii: "s"):
            if eq("smtp") { return .delivery(smtpReplies: true) }
            if eq("smtpd") || eq("scache") || eq("showq") || eq("spawn") || eq("sendmail") { return .other }
        case UInt8(ascii: "l"):
            if eq("lmtp") { return .delivery(smtpReplies: true) }
            if eq("local") { return .delivery(smtpReplies: false) }
        case UInt8(ascii: "v"):
            if eq("virtual") { return .delivery(smtpReplies: false) }
            if eq("verify") { return .other }
        case UInt8(ascii: "e"): if eq("error") { return .delivery(smtpReplies: false) }
        case UInt8(ascii: "r"): if eq("retry") { return .delivery(smtpReplies: false) }
        case UInt8(ascii: "d"):
            if eq("discard") { return .delivery(smtpReplies: false) }
            if eq("defer") { return .bounce }
            if eq("dnsblog") { return .other }
        case UInt8(ascii: "q"):
            if eq("qmgr") { return .qmgr }
            if eq("qmqpd") { return .other }
        case UInt8(ascii: "o"): if eq("oqmgr") { return .qmgr }
        case UInt8(ascii: "c"): if eq("cleanup") { return .cleanup }
        case UInt8(ascii: "b"): if eq("bounce") { return .bounce }
        case UInt8(ascii: "t"): if eq("trace") { return .bounce }
            if eq("tlsmgr") || eq("tlsproxy") || eq("trivial-rewrite") { return .other }
        case UInt8(ascii: "p"):
            if eq("pickup") { return .pickup }
            if eq("postsuper") { return .postsuper }
            if eq("pipe") { return .delivery(smtpReplies: false) }
            if eq("postqueue") || eq("postdrop") || eq("postfix-script") || eq("postlogd") || eq("postscreen")
                || eq("proxymap") || eq("postmap") || eq("postalias") || eq("postlog") || eq("postmulti") { return .other }
        case UInt8(ascii: "m"): if eq("master") { return .other }
        case UInt8(ascii: "a"): if eq("anvil") { return .other }
        case UInt8(ascii: "f"): if eq("flush") { return .other }
        default: break
        }
        // An unknown program under a "postfix..." syslog name is still Postfix's (a newer daemon).
        return b.has("postfix", at: tag.lowerBound) ? .other : nil
    }
}
