import CrucibleCore
import SQLKit

/// Several coordinators may serve one PostgreSQL database; one of them, the leader, writes the log. The lead is a
/// PostgreSQL advisory lock held by the leader's writing session, so it is released the moment that session ends (the
/// process died, the connection was lost), and every log commit checks inside its own transaction that no other
/// session holds it: a deposed leader's commit fails instead of forking the log. A SQLite store has one process and so
/// always leads.
extension CrucibleStore {
    /// The advisory lock's key: "CRUCLEAD".
    static let leadershipLockKey: Int64 = 0x4352_5543_4C45_4144

    /// Whether this store is one that several coordinators can share.
    public var isShared: Bool { writer.dialect.name == "postgresql" }

    /// Takes the lead unless another coordinator holds it, and records `address` as where the leader is reached.
    /// True when this store's writing session holds the lead now (it may have held it already).
    public func takeLeadership(address: String, atMs: Int64) async throws -> Bool {
        guard isShared else { return true }
        let db = writer
        return try await writeLock.withLock {
            try await db.withSession { session in
                if try await Self.holdsLeadership(on: session) { return true }
                let taken = try await session.raw("SELECT pg_try_advisory_lock(\(unsafeRaw: String(Self.leadershipLockKey))) AS taken")
                    .first(decodingColumn: "taken", as: Bool.self) ?? false
                guard taken else { return false }
                try await session.insert(into: "leadership")
                    .columns("id", "address", "since_ms").values(SQLBind(1), SQLBind(address), SQLBind(atMs))
                    .onConflict(with: ["id"]) { $0.set(excludedValueOf: "address").set(excludedValueOf: "since_ms") }
                    .run()
                return true
            }
        }
    }

    /// Whether this store's writing session holds the lead. False once its connection was lost (the lock went with
    /// it), until `takeLeadership` takes it again.
    public func holdsLeadership() async throws -> Bool {
        guard isShared else { return true }
        let db = writer
        return try await writeLock.withLock { try await Self.holdsLeadership(on: db) }
    }

    /// Where the coordinator that took the lead last said it can be reached; nil before any did (or on SQLite).
    public func leaderAddress() async throws -> String? {
        guard isShared else { return nil }
        return try await reader.select().column("address").from("leadership").where("id", .equal, 1)
            .first(decodingColumn: "address", as: String.self)
    }

    private static func holdsLeadership(on db: any SQLDatabase) async throws -> Bool {
        // A bigint advisory key shows in pg_locks as its high half (classid) and low half (objid), objsubid 1.
        let high = leadershipLockKey >> 32, low = leadershipLockKey & 0xFFFF_FFFF
        return try await db.raw("""
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                AND classid = \(unsafeRaw: String(high)) AND objid = \(unsafeRaw: String(low)) AND objsubid = 1) AS held
            """).first(decodingColumn: "held", as: Bool.self) ?? false
    }

    /// Inside a log commit's transaction on PostgreSQL: refuses it when another session holds the lead. The
    /// transaction-level lock taken to check is released with the transaction.
    static func requireNoOtherLeader(on session: any SQLDatabase) async throws {
        guard session.dialect.name == "postgresql" else { return }
        let free = try await session.raw("SELECT pg_try_advisory_xact_lock(\(unsafeRaw: String(leadershipLockKey))) AS free")
            .first(decodingColumn: "free", as: Bool.self) ?? false
        guard free else { throw LeadershipLost() }
    }
}

/// A log commit refused because another coordinator leads the database now: this one must stop writing.
public struct LeadershipLost: Error, CustomStringConvertible {
    public var description: String { "another coordinator leads this database now; this one may no longer write the log" }
}
