import Foundation

extension ControlProtocol {
    /// One line a client sent, as the relay reads it: nothing, a request it can act on, or the
    /// error to answer it with (and the id to answer under, when the line had a usable one).
    public enum RequestLine: Sendable {
        case blank
        case request(ControlRequest, ControlOp)
        case unusable(ControlID, ControlError)
    }

    /// The answer to a request line longer than ``maxRequestLine``.
    public static let requestTooLong = ControlError(.lineTooLong, "a request line may be at most \(maxRequestLine) bytes")

    /// Reads one request line (without its newline). Pure, so the relay's handler and the fuzzer
    /// read requests the same way; the handler adds framing, the uid check and the error count.
    public static func readRequest(_ line: [UInt8]) -> RequestLine {
        if line.count > maxRequestLine {
            return .unusable(.none, requestTooLong)
        }
        if line.isBlankLine { return .blank }
        let bytes = Data(line)
        guard let object = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else {
            return .unusable(.none, ControlError(.badJSON, "each request is one JSON object on one line"))
        }
        let rawID: ControlID = (object["id"] as? String).map(ControlID.string) ?? (object["id"] as? Int).map(ControlID.int) ?? .none
        guard let request = try? JSONDecoder().decode(ControlRequest.self, from: bytes) else {
            return .unusable(rawID, ControlError(.badRequest, "a request needs \"id\" (a string or an integer) and \"op\" (a string); msg is a string, rcpts an array of strings, protocol and since integers"))
        }
        guard let op = ControlOp(rawValue: request.op) else {
            let known = ControlOp.allCases.map(\.rawValue).joined(separator: ", ")
            return .unusable(request.id, ControlError(.unknownOp, "unknown op \"\(request.op)\"; known: \(known)"))
        }
        return .request(request, op)
    }
}
