import RelayCore

/// What one transaction's replies mean for each of its recipients: the relay's rules R1–R4 (see
/// smtp-rules in the project's reference and RelayCore's Rules article), with no I/O so every
/// case is tested directly.
enum RecipientVerdict: Equatable, Sendable {
    case delivered(SMTPReply)
    /// Temporary failure: try again at the next scheduled attempt.
    case deferred(SMTPReply?, String)
    case bounced(SMTPReply)
    /// Too many recipients: send again in a new transaction (same connection), not a failure.
    case sendAgain(SMTPReply)
}

struct TransactionVerdicts: Equatable {
    var verdicts: [RecipientVerdict]
    /// The peer's recipient limit, when it said too-many after accepting some: the RCPT count
    /// before its first too-many reply.
    var learnedLimit: Int?

    /// - Parameters:
    ///   - mail: the MAIL reply, nil if none arrived.
    ///   - rcpts: one per recipient, nil where no reply arrived.
    ///   - data: the DATA reply (nil if none arrived or DATA was not sent).
    ///   - dot: the reply after the end of data (nil if none arrived or no data was sent).
    ///   - lost: why replies are missing, for the deferral reason.
    static func decide(mail: SMTPReply?, rcpts: [SMTPReply?], data: SMTPReply?, dot: SMTPReply?,
                       policy: Rcpt552Policy, lost: String) -> TransactionVerdicts {
        guard let mail else {
            return TransactionVerdicts(verdicts: rcpts.map { _ in .deferred(nil, lost) })
        }
        // R1: a refused MAIL decides for everyone; the RCPT replies after it (503s) say nothing.
        switch mail.replyClass {
        case .transient: return TransactionVerdicts(verdicts: rcpts.map { _ in .deferred(mail, "MAIL refused") })
        case .permanent: return TransactionVerdicts(verdicts: rcpts.map { _ in .bounced(mail) })
        case .positive: break
        default: return TransactionVerdicts(verdicts: rcpts.map { _ in .deferred(mail, "unexpected reply to MAIL") })
        }
        let meanings = ReplyClassifier.classifyRecipients(mail: mail, rcpts: rcpts)
        let firstTooMany = meanings.firstIndex(of: .tooManyRecipients)
        let acceptedBeforeLimit = firstTooMany.map { k in rcpts[..<k].contains { $0?.replyClass == .positive } } ?? false
        var verdicts: [RecipientVerdict] = []
        var accepted: [Int] = []
        for (i, r) in rcpts.enumerated() {
            guard let r else { verdicts.append(.deferred(nil, lost)); continue }
            switch r.replyClass {
            case .positive:
                accepted.append(i)
                verdicts.append(.delivered(r))  // provisional: the end of data decides
            case .transient, .permanent:
                if meanings[i] == .tooManyRecipients {
                    if r.replyClass == .permanent && policy == .permanent {
                        verdicts.append(.bounced(r))
                    } else if acceptedBeforeLimit {
                        // R3: a new transaction takes them; the accepted ones go first.
                        verdicts.append(.sendAgain(r))
                    } else {
                        // Too many before any was accepted: a new transaction would meet the same
                        // refusal, so this is a temporary failure for the next attempt.
                        verdicts.append(.deferred(r, "too many recipients before any was accepted"))
                    }
                } else if r.replyClass == .transient {
                    verdicts.append(.deferred(r, "RCPT refused"))
                } else {
                    verdicts.append(.bounced(r))
                }
            default:
                verdicts.append(.deferred(r, "unexpected reply to RCPT"))
            }
        }
        // R2: the DATA and end-of-data replies apply to the accepted recipients only.
        if !accepted.isEmpty {
            let final: RecipientVerdict
            if let data, data.code != 354 {
                final = data.replyClass == .permanent ? .bounced(data) : .deferred(data, "DATA refused")
            } else if data == nil {
                final = .deferred(nil, lost)
            } else if let dot {
                switch dot.replyClass {
                case .positive: final = .delivered(dot)
                case .permanent: final = .bounced(dot)
                default: final = .deferred(dot, "end of data refused")
                }
            } else {
                final = .deferred(nil, lost)
            }
            for i in accepted {
                if case .delivered = final { verdicts[i] = .delivered(dot!) } else { verdicts[i] = final }
            }
        }
        let limit = acceptedBeforeLimit ? firstTooMany : nil
        return TransactionVerdicts(verdicts: verdicts, learnedLimit: limit)
    }
}
