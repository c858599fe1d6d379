import Foundation
import MailRelay
import RelayPeers
import RelaySockets
import Synchronization

/// Submits real SMTP messages to the demo relay, one every `interval` seconds, with 1 to 400
/// recipients spread over the demo's domains. The first few are chosen so that every situation the
/// relay can really produce shows within the first minute: a 552 too-many the legacy route bounces,
/// a 552 and a 452 too-many it sends again, greylisting, unknown users, an unreachable next hop.
final class DemoTraffic: Sendable {
    static let greylistDomain = "greylist.example"
    /// Each domain and what it shows.
    static let domains = [
        "limit552.example",    // 552 5.5.3 past 20: sent again in the next transaction
        "legacy552.example",   // the same server, on a route with rcpt_552 = "permanent": bounced
        "limit452.example",    // 452 4.5.3 past 30: sent again
        greylistDomain,        // 451 4.7.1 first, accepted on the retry
        "example.net",         // plain deliveries
        "unreachable.example", // nothing listens: deferred, then expired
    ]
    static let senders = ["newsletter@shop.demo", "alerts@monitoring.demo", "ceo@corp.demo", "hr@corp.demo"]

    let port: Int
    let interval: Double
    private let stopping = Atomic<Bool>(false)
    /// Whether the thread has ended, and who waits for it: one lock for both, so a waiter cannot
    /// miss the end.
    private let ended = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    init(port: Int, interval: Double) {
        self.port = port
        self.interval = interval
    }

    func start() {
        let thread = Thread { [self] in
            run()
            let waiter = ended.withLock { e in
                e.done = true
                return e.waiter
            }
            waiter?.resume()
        }
        thread.name = "demo traffic"
        thread.start()
    }

    /// Stops submitting and waits for the submission in progress to end.
    func stop() async {
        stopping.store(true, ordering: .sequentiallyConsistent)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = ended.withLock { e in
                if !e.done { e.waiter = c }
                return e.done
            }
            if done { c.resume() }
        }
    }

    private func run() {
        var rng = SystemRandomNumberGenerator()
        var n = 0
        while !stopping.load(ordering: .relaxed) {
            let (sender, rcpts) = n < DemoTraffic.opening.count ? DemoTraffic.opening[n] : DemoTraffic.random(&rng, n)
            n += 1
            if let client = try? SubmissionClient(port: port) {
                client.submit(from: sender, to: rcpts, body: DemoTraffic.body(from: sender, n: n))
            }
            // Sleep in small steps so quitting is not kept waiting.
            let until = Date().timeIntervalSince1970 + interval * Double.random(in: 0.5...1.5, using: &rng)
            while Date().timeIntervalSince1970 < until, !stopping.load(ordering: .relaxed) { usleep(50_000) }
        }
    }

    static func recipients(_ count: Int, in domain: String, from start: Int = 1) -> [String] {
        (start..<(start + count)).map { "user\($0)@\(domain)" }
    }

    /// The first messages: each situation once, early.
    static let opening: [(String, [String])] = [
        ("newsletter@shop.demo", recipients(150, in: "legacy552.example")),
        ("newsletter@shop.demo", recipients(60, in: "limit552.example")),
        ("alerts@monitoring.demo", recipients(12, in: greylistDomain)),
        ("ceo@corp.demo", recipients(100, in: "limit452.example") + ["nobody@limit452.example"]),
        ("hr@corp.demo", recipients(3, in: "unreachable.example") + recipients(5, in: "example.net")),
        ("alerts@monitoring.demo", recipients(1, in: "example.net")),
    ]

    /// Mostly small messages, now and then a big one; one or two domains; a few unknown users.
    static func random(_ rng: inout SystemRandomNumberGenerator, _ n: Int) -> (String, [String]) {
        let sender = senders.randomElement(using: &rng)!
        let roll = Int.random(in: 0..<100, using: &rng)
        let total = roll < 50 ? Int.random(in: 1...10, using: &rng)
            : roll < 80 ? Int.random(in: 11...60, using: &rng)
            : roll < 95 ? Int.random(in: 61...150, using: &rng)
            : Int.random(in: 151...400, using: &rng)
        // The unreachable domain is rare: its messages stay queued for a minute.
        let pool = Int.random(in: 0..<10, using: &rng) == 0 ? domains : Array(domains.dropLast())
        let first = pool.randomElement(using: &rng)!
        let second = Bool.random(using: &rng) ? pool.randomElement(using: &rng)! : first
        var rcpts: [String] = []
        for i in 0..<total {
            let domain = i % 2 == 0 ? first : second
            let unknown = Int.random(in: 0..<40, using: &rng) == 0
            rcpts.append(unknown ? "unknown\(n)x\(i)@\(domain)" : "user\(i + 1)m\(n)@\(domain)")
        }
        return (sender, rcpts)
    }

    static func body(from sender: String, n: Int) -> String {
        "From: <\(sender)>\r\nTo: undisclosed-recipients:;\r\nSubject: relaywatch demo message \(n)\r\nMessage-ID: <demo\(n).\(UUID().uuidString.prefix(8))@shop.demo>\r\n\r\nThis message was sent by relaywatch's built-in demo.\r\n"
    }
}
