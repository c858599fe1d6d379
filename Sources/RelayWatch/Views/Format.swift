import RelayCore

/// Small formatting helpers the views share.
enum Format {
    /// "42s", "7m", "3h", "2d": a message's age in a column of five.
    static func age(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 100 { return "\(s)s" }
        if s < 6000 { return "\(s / 60)m" }
        if s < 86_400 * 2 { return "\(s / 3600)h" }
        return "\(s / 86_400)d"
    }

    /// 1234567 -> "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    /// Text cut to a display width, with an ellipsis when cut.
    static func fit(_ s: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        if Grid.displayWidth(s) <= width { return s }
        var out = ""
        var w = 0
        for ch in s {
            let cw = Grid.displayWidth(ch)
            if w + cw > width - 1 { break }
            out.append(ch)
            w += cw
        }
        return out + "…"
    }

    /// Text cut from the left (a path keeps its file name), with an ellipsis when cut.
    static func fitTail(_ s: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        if Grid.displayWidth(s) <= width { return s }
        return "…" + String(String(fit(String(s.reversed()), width).dropLast()).reversed())
    }

    /// Padded (or cut) to exactly `width` columns.
    static func cell(_ s: String, _ width: Int) -> String {
        let f = fit(s, width)
        return f + String(repeating: " ", count: max(0, width - Grid.displayWidth(f)))
    }

    /// The role a reply is painted with: too-many apart from other 5yz.
    static func role(of state: RecipientStatus.State) -> Role {
        switch state {
        case .pending: .pending
        case .accepted, .delivered: .reply2xx
        case .transient: .reply4xx
        case .tooMany: .replyLimit
        case .permanent: .reply5xx
        }
    }

    /// A recipient's colour: its reply's, unless the relay got it wrong (then unmissable). A
    /// plain bounce that was NDR'd takes the NDR colour; a too-many one keeps the limit colour,
    /// which is the one that matters (its lower-case letter says NDR'd).
    static func role(of status: RecipientStatus) -> Role {
        if status.anomaly { return .anomaly }
        if status.ndr, status.state == .permanent { return .ndr }
        return role(of: status.state)
    }

    static func role(of reply: SMTPReply?, command: SMTPCommand) -> Role {
        guard let reply else { return .pending }
        switch reply.replyClass {
        case .positive, .intermediate: return .reply2xx
        case .transient: return ReplyClassifier.meaning(of: reply, to: command) == .tooManyRecipients ? .replyLimit : .reply4xx
        case .permanent: return ReplyClassifier.meaning(of: reply, to: command) == .tooManyRecipients ? .replyLimit : .reply5xx
        case .invalid: return .warning
        }
    }

    static let sparks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    static func sparkline(_ values: [Int], width: Int) -> String {
        let tail = values.suffix(width)
        let top = max(1, tail.max() ?? 1)
        return String(tail.map { $0 == 0 ? " " : sparks[min(7, ($0 * 8 - 1) / top)] })
    }
}
