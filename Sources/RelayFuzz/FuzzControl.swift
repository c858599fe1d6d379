import Foundation
import RelayCore

enum FuzzControl {
    /// Each request line is blank, a request, or an error to answer; the answer always encodes to
    /// exactly one line.
    static func request(_ input: UnsafeRawBufferPointer) -> Int {
        var requests = 0
        FuzzTarget.lines(input, max: ControlProtocol.maxRequestLine) { line, _ in
            switch ControlProtocol.readRequest(Array(line)) {
            case .blank: break
            case .request(let r, _): oneLine(ControlProtocol.encode(ControlResponse(id: r.id))); requests += 1
            case .unusable(let id, let error): oneLine(ControlProtocol.encode(ControlResponse.failure(id, error)))
            }
        }
        return requests
    }

    /// relaywatch's reading of the relay's lines: classified, and an event line decoded.
    static func reply(_ input: UnsafeRawBufferPointer) -> Int {
        var understood = 0
        FuzzTarget.lines(input) { line, overlong in
            guard !overlong else { return }
            switch ControlProtocol.classify(Array(line)) {
            case .event:
                if case .event(let e) = LogDecoder.decode(line) { FuzzDeliveryLog.roundTrip(e) }
                understood += 1
            case .response, .overflow, .snapshot: understood += 1
            case .garbage: break
            }
        }
        return understood
    }

    private static func oneLine(_ bytes: [UInt8]) {
        precondition(bytes.last == 0x0A && bytes.dropLast().allSatisfy { $0 != 0x0A && $0 != 0x0D }, "a response is not one line")
    }
}
