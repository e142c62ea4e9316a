import CrucibleCore
import Foundation
import Logging
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

/// The coordinator's durable state: the log, its checkpoints, the projection tables, seen nonces,
/// content-addressed blobs and task logs. Every query goes through SQLKit so the same code serves
/// SQLite (embedded, one file) and PostgreSQL (a server, for deployments).
///
/// Two sessions: every write goes through `writer` under `writeLock`, so a transaction never interleaves with
/// another write and no write waits on SQLite's file lock (which would tie up the I/O thread pool); `reader`
/// only reads, which WAL (SQLite) or MVCC (PostgreSQL) lets it do beside a write.
public final class CrucibleStore: Sendable {
    let writer: any SQLDatabase
    let reader: any SQLDatabase
    let writeLock = AsyncLock()
    private let closeAll: @Sendable () async throws -> Void

    static let rowDecoder = SQLRowDecoder(keyDecodingStrategy: .convertFromSnakeCase)
    static let rowEncoder = SQLQueryEncoder(keyEncodingStrategy: .convertToSnakeCase, nilEncodingStrategy: .asNil)

    init(writer: any SQLDatabase, reader: any SQLDatabase, close: @escaping @Sendable () async throws -> Void) {
        self.writer = writer
        self.reader = reader
        self.closeAll = close
    }

    /// Opens (creating if needed) the SQLite database at `path` in WAL mode and brings its schema up to date.
    public static func openSQLite(path: String, logger: Logger = Logger(label: "crucible.store")) async throws -> CrucibleStore {
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true
        )
        let writerConnection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        let readerConnection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        let store = CrucibleStore(
            writer: writerConnection.sql(queryLogLevel: .trace),
            reader: readerConnection.sql(queryLogLevel: .trace),
            close: {
                try await writerConnection.close()
                try await readerConnection.close()
            }
        )
        for db in [store.writer, store.reader] {
            // WAL lets readers see a consistent snapshot while a commit is in flight; FULL sync because this is money.
            try await db.raw("PRAGMA journal_mode = WAL").run()
            try await db.raw("PRAGMA synchronous = FULL").run()
            try await db.raw("PRAGMA busy_timeout = 10000").run()
        }
        try await store.migrate()
        return store
    }

    /// Opens `database`: a `postgres://` (or `postgresql://`) URL, or else the path of a SQLite file.
    public static func open(_ database: String, logger: Logger = Logger(label: "crucible.store")) async throws -> CrucibleStore {
        if database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") {
            return try await openPostgres(url: database, logger: logger)
        }
        return try await openSQLite(path: database, logger: logger)
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`; TLS when the
    /// server offers it unless `?sslmode=disable`) and brings its schema up to date.
    public static func openPostgres(url: String, logger: Logger = Logger(label: "crucible.store")) async throws -> CrucibleStore {
        let configuration: SQLPostgresConfiguration
        do {
            configuration = try SQLPostgresConfiguration(url: url)
        } catch {
            throw CrucibleError(.malformed, "not a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE): \(redactingPassword(url))")
        }
        let writer = PostgresSession(configuration: configuration.coreConfiguration, id: 1, logger: logger)
        let reader = PostgresSession(configuration: configuration.coreConfiguration, id: 2, logger: logger)
        do {
            try await writer.open()
            try await reader.open()
        } catch {
            try? await writer.close()
            throw CrucibleError(.unavailable, "could not connect to PostgreSQL at \(redactingPassword(url)): \(String(reflecting: error))")
        }
        let store = CrucibleStore(
            writer: writer, reader: reader,
            close: {
                try await writer.close()
                try await reader.close()
            }
        )
        do {
            try await store.migrate()
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }

    /// `url` with its password, if any, replaced: URLs end up in error messages and logs.
    static func redactingPassword(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "(unparseable URL)"
    }

    /// Whether `error`, thrown by a store method, says the database was out of reach (PostgreSQL restarting) rather
    /// than that it refused something: the caller may try again.
    public static func isConnectionLost(_ error: any Error) -> Bool {
        PostgresSession.isConnectionLost(error)
    }

    /// Which database this store runs on: "sqlite" or "postgresql".
    public var kind: String { writer.dialect.name }

    public func close() async throws {
        try await closeAll()
    }

    // MARK: - Log

    /// How long a commit keeps trying while the connection to the database is lost (PostgreSQL restarting), before
    /// the error goes up.
    public static let reconnectWindow = Duration.seconds(120)

    /// Writes entries, checkpoints and the projection rows they change in one transaction: all or nothing.
    /// `nonces` are the ones admitted since the last commit: they become durable with the entries they let in.
    /// When the connection is lost, the commit is tried again on a new one, unless the last entry is found stored
    /// (the transaction had committed before the answer was lost); anything else the database refuses goes up at once.
    public func commit(entries: [LogEntry], checkpoints: [LogCheckpoint], projection: ProjectionBatch, nonces: [SeenNonce] = []) async throws {
        let db = writer
        try await writeLock.withLock {
            let deadline = ContinuousClock.now + Self.reconnectWindow
            var delayMs = 50
            var attempt = 0
            while true {
                do {
                    if attempt > 0, let last = entries.last, try await Self.isStored(last, on: db) { return }
                    try await Self.transaction(entries: entries, checkpoints: checkpoints, projection: projection, nonces: nonces, on: db)
                    return
                } catch where PostgresSession.isConnectionLost(error) && ContinuousClock.now < deadline {
                    db.logger.warning("the database connection was lost; committing again", metadata: ["attempt": "\(attempt + 1)", "error": "\(String(reflecting: error))"])
                    try await Task.sleep(for: .milliseconds(delayMs))
                    delayMs = min(delayMs * 2, 1_000)
                    attempt += 1
                }
            }
        }
    }

    private static func isStored(_ entry: LogEntry, on db: any SQLDatabase) async throws -> Bool {
        let hash = try await db.select().column("hash").from("log_entries").where("seq", .equal, entry.seq)
            .first(decodingColumn: "hash", as: String.self)
        return hash == entry.hash
    }

    private static func transaction(
        entries: [LogEntry], checkpoints: [LogCheckpoint], projection: ProjectionBatch, nonces: [SeenNonce], on db: any SQLDatabase
    ) async throws {
        try await db.withSession { session in
            // SQLite takes the write lock at BEGIN IMMEDIATE rather than at the first write; PostgreSQL has plain BEGIN.
            try await session.raw(session.dialect.name == "sqlite" ? "BEGIN IMMEDIATE" : "BEGIN").run()
            do {
                try await requireNoOtherLeader(on: session)
                // In chunks: SQLite binds at most 32,766 values per statement.
                for start in stride(from: 0, to: entries.count, by: 1_000) {
                    try await session.insert(into: "log_entries").models(Array(entries[start..<min(start + 1_000, entries.count)]), with: rowEncoder).run()
                }
                if !checkpoints.isEmpty {
                    try await session.insert(into: "log_checkpoints").models(checkpoints, with: rowEncoder).run()
                }
                try await write(projection, on: session)
                // Bound by hand rather than through the row encoder: at 2,000 signed requests a second its reflection
                // was a good part of the time spent storing them.
                for start in stride(from: 0, to: nonces.count, by: 500) {
                    let insert = session.insert(into: "nonces").columns("signer", "nonce", "timestamp_ms")
                    for nonce in nonces[start..<min(start + 500, nonces.count)] {
                        insert.values(SQLBind(nonce.signer), SQLBind(nonce.nonce), SQLBind(nonce.timestampMs))
                    }
                    try await insert.ignoringConflicts().run()
                }
                try await session.raw("COMMIT").run()
            } catch {
                try? await session.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    private static func write(_ batch: ProjectionBatch, on db: any SQLDatabase) async throws {
        try await upsert(batch.accounts, into: "accounts", key: "address", id: \.address, on: db)
        try await upsert(batch.escrows, into: "escrows", key: "job_id", id: \.jobId, on: db)
        for jobId in batch.closedEscrows {
            try await db.delete(from: "escrows").where("job_id", .equal, jobId).run()
        }
        try await upsert(batch.totals, into: "ledger_totals", key: "name", id: \.name, on: db)
        try await upsert(batch.nodes, into: "nodes", key: "id", id: \.id, on: db)
        try await upsert(batch.nodeProofs, into: "node_proofs", key: "node_id", id: \.nodeId, on: db)
        try await upsert(batch.jobs, into: "jobs", key: "id", id: \.id, on: db)
        try await upsert(batch.tasks, into: "tasks", key: "id", id: \.id, on: db)
        try await upsert(batch.runs, into: "runs", key: "id", id: \.id, on: db)
        try await upsert(batch.stakes, into: "stakes", key: "address", id: \.address, on: db)
        for address in batch.clearedStakes {
            try await db.delete(from: "stakes").where("address", .equal, address).run()
        }
        try await upsert(batch.epochs, into: "epochs", key: "epoch", id: { String($0.epoch) }, on: db)
        try await upsert(batch.slashes, into: "slashes", key: "id", id: \.id, on: db)
        try await upsert(batch.proposals, into: "proposals", key: "id", id: \.id, on: db)
        try await append(batch.movements, into: "account_movements", on: db)
        try await append(batch.subjects, into: "log_subjects", on: db)
    }

    /// Inserts rows that belong to one log entry each and are never rewritten, many per statement.
    private static func append<Row: Encodable & Sendable>(_ rows: [Row], into table: String, on db: any SQLDatabase) async throws {
        // Well under SQLite's limit of bound values per statement for these narrow tables.
        let chunk = 400
        for start in stride(from: 0, to: rows.count, by: chunk) {
            try await db.insert(into: table).models(Array(rows[start..<min(start + chunk, rows.count)]), with: rowEncoder).run()
        }
    }

    /// Writes the last row given for each key, replacing what is stored, many rows per statement: a group commit
    /// carries the same account or total once per entry, and only its final value matters.
    private static func upsert<Row: Encodable & Sendable>(
        _ rows: [Row], into table: String, key: String, id: (Row) -> String, on db: any SQLDatabase
    ) async throws {
        var lastIndex = [String: Int]()
        for (index, row) in rows.enumerated() { lastIndex[id(row)] = index }
        let latest = lastIndex.values.sorted().map { rows[$0] }
        guard let first = latest.first else { return }
        let columns = try rowEncoder.encode(first).map(\.0)
        // Well under SQLite's limit of bound values per statement for the widest table.
        let chunk = 200
        for start in stride(from: 0, to: latest.count, by: chunk) {
            try await db.insert(into: table)
                .models(Array(latest[start..<min(start + chunk, latest.count)]), with: rowEncoder)
                .onConflict(with: [key]) { update in
                    columns.filter { $0 != key }.reduce(update) { $0.set(excludedValueOf: $1) }
                }
                .run()
        }
    }

    public func logEntries(afterSeq: Int64, limit: Int) async throws -> [LogEntry] {
        try await reader.select().column("*").from("log_entries")
            .where("seq", .greaterThan, afterSeq)
            .orderBy("seq").limit(limit)
            .all(decoding: LogEntry.self, with: Self.rowDecoder)
    }

    public func lastLogEntry() async throws -> LogEntry? {
        try await reader.select().column("*").from("log_entries")
            .orderBy("seq", .descending).limit(1)
            .first(decoding: LogEntry.self, with: Self.rowDecoder)
    }

    public func checkpoints() async throws -> [LogCheckpoint] {
        try await reader.select().column("*").from("log_checkpoints").orderBy("last_seq")
            .all(decoding: LogCheckpoint.self, with: Self.rowDecoder)
    }

    // MARK: - Projections

    public func projection() async throws -> ProjectionSnapshot {
        func all<Row: Decodable>(_ table: String, _ type: Row.Type) async throws -> [Row] {
            try await reader.select().column("*").from(table).all(decoding: type, with: Self.rowDecoder)
        }
        return ProjectionSnapshot(
            accounts: try await all("accounts", AccountRow.self),
            escrows: try await all("escrows", EscrowRow.self),
            totals: try await all("ledger_totals", TotalRow.self),
            nodes: try await all("nodes", NodeRow.self),
            nodeProofs: try await all("node_proofs", NodeProofRow.self),
            jobs: try await all("jobs", JobRow.self),
            tasks: try await all("tasks", TaskRow.self),
            runs: try await all("runs", RunRow.self),
            stakes: try await all("stakes", StakeRow.self),
            epochs: try await all("epochs", EpochRow.self),
            slashes: try await all("slashes", SlashRow.self),
            proposals: try await all("proposals", ProposalRow.self)
        )
    }

    // MARK: - Nonces

    /// An address's movements, newest first, before log entry `beforeSeq`.
    public func movements(of address: String, beforeSeq: Int64, limit: Int) async throws -> [MovementRow] {
        try await reader.select().column("*").from("account_movements")
            .where("address", .equal, address).where("seq", .lessThan, beforeSeq)
            .orderBy("seq", .descending).limit(limit)
            .all(decoding: MovementRow.self, with: Self.rowDecoder)
    }

    /// Every movement in log order, for the audit.
    public func allMovements() async throws -> [MovementRow] {
        try await reader.select().column("*").from("account_movements").orderBy("seq").orderBy("address")
            .all(decoding: MovementRow.self, with: Self.rowDecoder)
    }

    /// A page of entries after `afterSeq`: oldest first, or newest first and before `beforeSeq` when one is given;
    /// only those that concern `subject` (through the subject index) when one is named.
    public func logPage(concerning subject: String?, afterSeq: Int64, beforeSeq: Int64?, limit: Int) async throws -> [LogEntry] {
        let seq = SQLColumn("seq", table: subject == nil ? "log_entries" : "log_subjects")
        var query = reader.select().column(SQLColumn(SQLLiteral.all, table: SQLIdentifier("log_entries")))
        if let subject {
            query = query.from("log_subjects")
                .join(SQLIdentifier("log_entries"), on: SQLBinaryExpression(SQLColumn("seq", table: "log_entries"), .equal, SQLColumn("seq", table: "log_subjects")))
                .where(SQLColumn("subject", table: "log_subjects"), .equal, SQLBind(subject))
        } else {
            query = query.from("log_entries")
        }
        query = query.where(seq, .greaterThan, SQLBind(afterSeq))
        if let beforeSeq { query = query.where(seq, .lessThan, SQLBind(beforeSeq)) }
        return try await query.orderBy(SQLOrderBy(expression: seq, direction: beforeSeq == nil ? SQLDirection.ascending : .descending))
            .limit(limit).all(decoding: LogEntry.self, with: Self.rowDecoder)
    }

    /// Whether any entry has its subjects indexed: a database written before the index existed has none.
    public func hasSubjectIndex() async throws -> Bool {
        try await reader.select().column("seq").from("log_subjects").limit(1).first() != nil
    }

    /// Every subject row in log order, for the audit.
    public func allSubjects() async throws -> [SubjectRow] {
        try await reader.select().column("*").from("log_subjects").orderBy("seq").orderBy("subject")
            .all(decoding: SubjectRow.self, with: Self.rowDecoder)
    }

    /// The nonces seen since `sinceMs`, for the coordinator to hold in memory after a restart.
    public func recentNonces(sinceMs: Int64) async throws -> [SeenNonce] {
        try await reader.select().column("*").from("nonces").where("timestamp_ms", .greaterThanOrEqual, sinceMs)
            .all(decoding: SeenNonce.self, with: Self.rowDecoder)
    }

    /// Forgets nonces older than the acceptance window: envelopes that old are refused as stale anyway.
    public func pruneNonces(olderThanMs cutoffMs: Int64) async throws {
        let db = writer
        try await writeLock.withLock {
            try await db.delete(from: "nonces").where("timestamp_ms", .lessThan, cutoffMs).run()
        }
    }

    // MARK: - Blobs

    public func putBlob(sha256: String, data: Data) async throws {
        let db = writer
        try await writeLock.withLock {
            try await db.insert(into: "blobs")
                .model(BlobRow(sha256: sha256, sizeBytes: Int64(data.count), data: data), with: Self.rowEncoder)
                .ignoringConflicts(with: ["sha256"])
                .run()
        }
    }

    public func blob(sha256: String) async throws -> Data? {
        try await reader.select().column("data").from("blobs").where("sha256", .equal, sha256)
            .first(decodingColumn: "data", as: Data.self)
    }

    /// Which of `digests` the store does not hold.
    public func missingBlobs(_ digests: [String]) async throws -> [String] {
        guard !digests.isEmpty else { return [] }
        let present = try await reader.select().column("sha256").from("blobs")
            .where("sha256", .in, digests)
            .all(decodingColumn: "sha256", as: String.self)
        return digests.filter { !present.contains($0) }
    }

    // MARK: - Task logs

    /// Stores a log chunk; a repeated (run, seq) is ignored so agents may resend after a network error.
    public func appendTaskLog(_ row: TaskLogRow) async throws {
        let db = writer
        try await writeLock.withLock {
            try await db.insert(into: "task_logs").model(row, with: Self.rowEncoder)
                .ignoringConflicts(with: ["run_id", "seq"]).run()
        }
    }

    /// Bytes of log text stored for a run.
    public func taskLogBytes(runId: String) async throws -> Int {
        let rows = try await reader.select().column("text").from("task_logs").where("run_id", .equal, runId).all()
        return try rows.reduce(0) { $0 + (try $1.decode(column: "text", as: String.self)).utf8.count }
    }

    /// Log chunks of a job in arrival order, after the cursor `afterId`; returns (id, row) pairs.
    public func taskLogs(jobId: String, afterId: Int64, limit: Int) async throws -> [(Int64, TaskLogRow)] {
        let rows = try await reader.select().column("*").from("task_logs")
            .where("job_id", .equal, jobId).where("id", .greaterThan, afterId)
            .orderBy("id").limit(limit).all()
        return try rows.map { row in
            (try row.decode(column: "id", as: Int64.self), try row.decode(model: TaskLogRow.self, with: Self.rowDecoder))
        }
    }
}

/// A nonce a signer used, kept for as long as an envelope carrying it could still be accepted.
public struct SeenNonce: Codable, Sendable, Equatable {
    public var signer: String
    public var nonce: String
    public var timestampMs: Int64
    public init(signer: String, nonce: String, timestampMs: Int64) {
        self.signer = signer
        self.nonce = nonce
        self.timestampMs = timestampMs
    }
}

struct BlobRow: Codable, Sendable {
    var sha256: String
    var sizeBytes: Int64
    var data: Data
}
