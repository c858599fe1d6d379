import Foundation
import GRDB
import RelayCore

/// The durable queue: one SQLite database (GRDB) in the spool directory, written in WAL mode with
/// `synchronous = FULL`, so a transaction that returned is on disk. The SMTP server answers
/// "250 queued as ID" only after ``enqueue(_:)`` returned; kill -9 at any later moment loses nothing.
///
/// Recipient states change in one transaction per delivery attempt (``settle(_:)``): a crash in
/// the middle of an attempt can only make recipients go again, never lose them.
public final class Spool: Sendable {
    let db: DatabasePool
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        // Another writer (a second mailrelayd on the same spool) waits instead of failing at once.
        config.busyMode = .timeout(5)
        db = try DatabasePool(path: directory + "/queue.sqlite", configuration: config)
        try Spool.migrator.migrate(db)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE message (
                    id TEXT PRIMARY KEY,
                    sender TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    message_id TEXT,
                    received REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt REAL NOT NULL,
                    held INTEGER NOT NULL DEFAULT 0,
                    body_8bit INTEGER NOT NULL DEFAULT 0,
                    body BLOB NOT NULL
                );
                CREATE TABLE recipient (
                    message TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    address TEXT NOT NULL,
                    state TEXT NOT NULL,
                    reported INTEGER NOT NULL DEFAULT 0,
                    last_reply TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (message, position)
                );
                """)
        }
        m.registerMigration("v2-peer-limits") { db in
            try db.execute(sql: """
                CREATE TABLE peer_limit (
                    peer TEXT PRIMARY KEY,
                    rcpt_limit INTEGER NOT NULL,
                    learned REAL NOT NULL
                );
                """)
        }
        return m
    }

    /// The recipient limits next hops have shown, as ``PeerLimits`` left them.
    func peerLimits() throws -> [String: PeerLimits.Learned] {
        try db.read { db in
            var out: [String: PeerLimits.Learned] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT peer, rcpt_limit, learned FROM peer_limit") {
                out[row["peer"]] = PeerLimits.Learned(limit: row["rcpt_limit"], learned: row["learned"])
            }
            return out
        }
    }

    func savePeerLimit(_ peer: String, _ l: PeerLimits.Learned) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO peer_limit (peer, rcpt_limit, learned) VALUES (?, ?, ?)",
                           arguments: [peer, l.limit, l.learned])
        }
    }

    func forgetPeerLimit(_ peer: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM peer_limit WHERE peer = ?", arguments: [peer]) }
    }

    /// Stores a message and its recipients in one durable transaction.
    public func enqueue(_ m: QueuedMessage, body: [UInt8]) async throws {
        try await db.write { db in
            try Spool.insert(m, body: body, in: db)
        }
    }

    static func insert(_ m: QueuedMessage, body: [UInt8], in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO message (id, sender, size, message_id, received, attempts, next_attempt, held, body_8bit, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [m.id, m.sender, m.size, m.messageID, m.received, m.attempts, m.nextAttempt, m.held, m.eightBit, Data(body)])
        let insert = try db.makeStatement(sql: "INSERT INTO recipient (message, position, address, state, reported, last_reply, attempts) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for (i, r) in m.recipients.enumerated() {
            try insert.execute(arguments: [m.id, i, r.address, r.state.rawValue, r.reported, r.lastReply, r.attempts])
        }
    }

    /// True when a write failed for want of space (SQLite reports ENOSPC as SQLITE_FULL): the
    /// client is told 452 4.3.1 rather than the 451 of any other spool failure.
    public static func isOutOfSpace(_ error: Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_FULL
    }

    /// Every message in the queue, recipients included, bodies not: what a restart resumes.
    public func loadAll() throws -> [QueuedMessage] {
        try db.read { db in
            var byID: [String: QueuedMessage] = [:]
            var order: [String] = []
            for row in try Row.fetchAll(db, sql: "SELECT id, sender, size, message_id, received, attempts, next_attempt, held, body_8bit FROM message ORDER BY received") {
                let m = QueuedMessage(id: row[0], sender: row[1], size: row[2], messageID: row[3], received: row[4],
                                      attempts: row[5], nextAttempt: row[6], held: row[7], eightBit: row[8], recipients: [])
                byID[m.id] = m
                order.append(m.id)
            }
            for row in try Row.fetchAll(db, sql: "SELECT message, address, state, reported, last_reply, attempts FROM recipient ORDER BY message, position") {
                let id: String = row[0]
                let state = RecipientState(rawValue: row[2]) ?? .pending
                byID[id]?.recipients.append(QueuedRecipient(address: row[1], state: state, reported: row[3], lastReply: row[4], attempts: row[5]))
            }
            return order.compactMap { byID[$0] }
        }
    }

    public func body(of id: String) async throws -> [UInt8]? {
        try await db.read { db in
            try Data.fetchOne(db, sql: "SELECT body FROM message WHERE id = ?", arguments: [id]).map { [UInt8]($0) }
        }
    }

    public func setHeld(_ id: String, _ held: Bool) async throws {
        try await db.write { db in
            try db.execute(sql: "UPDATE message SET held = ? WHERE id = ?", arguments: [held, id])
        }
    }

    /// Records recipients one transaction delivered, as soon as the peer said 250 to its data: a
    /// crash later in the attempt (another transaction, the settlement) then cannot send them again.
    /// Only a crash between the peer's 250 and this write can (at-least-once delivery).
    package func recordDelivered(_ id: String, _ recipients: [(position: Int, lastReply: String)]) async throws {
        try await db.write { db in
            let update = try db.makeStatement(sql: "UPDATE recipient SET state = 'delivered', last_reply = ? WHERE message = ? AND position = ?")
            for r in recipients { try update.execute(arguments: [r.lastReply, id, r.position]) }
        }
    }

    /// Writes what one delivery attempt decided, in one transaction: recipient states, the
    /// message's schedule, the DSN (if any) with its recipients marked reported, and the message's
    /// removal once every recipient is final.
    public func settle(_ s: Settlement) async throws {
        try await db.write { db in
            let update = try db.makeStatement(sql: "UPDATE recipient SET state = ?, reported = ?, last_reply = ?, attempts = ? WHERE message = ? AND position = ?")
            for (position, r) in s.recipients {
                try update.execute(arguments: [r.state.rawValue, r.reported, r.lastReply, r.attempts, s.id, position])
            }
            if let dsn = s.dsn {
                try Spool.insert(dsn.message, body: dsn.body, in: db)
            }
            if s.remove {
                try db.execute(sql: "DELETE FROM recipient WHERE message = ?", arguments: [s.id])
                try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [s.id])
            } else {
                // Not `held`: a hold can arrive while the attempt runs, and it is written by setHeld.
                try db.execute(sql: "UPDATE message SET attempts = ?, next_attempt = ? WHERE id = ?",
                               arguments: [s.attempts, s.nextAttempt, s.id])
            }
        }
    }
}

public enum RecipientState: String, Sendable, Hashable {
    case pending, delivered, bounced, expired

    public var isFinal: Bool { self != .pending }
}

public struct QueuedRecipient: Sendable, Hashable {
    public var address: String
    public var state: RecipientState
    /// A DSN for this recipient has been queued: it is never reported twice.
    public var reported: Bool
    /// The last reply about this recipient as "code enhanced text", quoted in its DSN.
    public var lastReply: String?
    public var attempts: Int

    public init(address: String, state: RecipientState = .pending, reported: Bool = false, lastReply: String? = nil, attempts: Int = 0) {
        self.address = address
        self.state = state
        self.reported = reported
        self.lastReply = lastReply
        self.attempts = attempts
    }
}

/// A message in the queue, without its body.
public struct QueuedMessage: Sendable {
    public var id: String
    /// "" is the null sender.
    public var sender: String
    public var size: Int
    public var messageID: String?
    /// Seconds since 1970.
    public var received: Double
    public var attempts: Int
    public var nextAttempt: Double
    public var held: Bool
    /// Came in with BODY=8BITMIME.
    public var eightBit: Bool
    public var recipients: [QueuedRecipient]

    public init(id: String, sender: String, size: Int, messageID: String?, received: Double, attempts: Int = 0,
                nextAttempt: Double, held: Bool = false, eightBit: Bool = false, recipients: [QueuedRecipient]) {
        self.id = id
        self.sender = sender
        self.size = size
        self.messageID = messageID
        self.received = received
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.held = held
        self.eightBit = eightBit
        self.recipients = recipients
    }

    public var isFinished: Bool { recipients.allSatisfy { $0.state.isFinal } }
}

/// What an attempt wrote back; see ``Spool/settle(_:)``.
public struct Settlement: Sendable {
    public var id: String
    public var recipients: [(Int, QueuedRecipient)]
    public var attempts: Int
    public var nextAttempt: Double
    public var dsn: (message: QueuedMessage, body: [UInt8])?
    public var remove: Bool
}
