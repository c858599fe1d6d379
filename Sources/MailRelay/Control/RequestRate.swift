import RelayCore

/// One control connection's request rate, as a token bucket: `burst` requests at once, then
/// `perSecond` on average. Times are passed in, so the rule is tested without a clock.
package struct RequestRate {
    package let perSecond: Double
    package let burst: Double
    private var tokens: Double
    private var last: Double?

    package init(perSecond: Double = ControlProtocol.requestsPerSecond, burst: Double = ControlProtocol.requestBurst) {
        self.perSecond = perSecond
        self.burst = burst
        tokens = burst
    }

    /// Takes a token for a request at `now` (seconds); false when the connection is over its rate.
    package mutating func allow(at now: Double) -> Bool {
        if let last { tokens = min(burst, tokens + max(0, now - last) * perSecond) }
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
