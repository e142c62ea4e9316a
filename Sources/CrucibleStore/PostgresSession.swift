import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import Synchronization

/// One PostgreSQL connection that is opened again once it was lost (the server restarted, the network dropped), so the
/// store outlives a database restart: a statement on the lost connection fails, the next one reconnects. Statements
/// run one after another on it, and a session (a transaction) keeps the connection it started on.
final class PostgresSession: SQLDatabase {
    private let holder: Holder
    let logger: Logger

    init(configuration: PostgresConnection.Configuration, id: Int, logger: Logger) {
        self.holder = Holder(configuration: configuration, id: id, logger: logger)
        self.logger = logger
    }

    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var dialect: any SQLDialect { PostgresDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await self.execute(sql: query, onRow) }
        return promise.futureResult
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await holder.connection().execute(sql: query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(holder.connection())
    }

    /// Connects now, so that a wrong address or password is an error when the store opens rather than at first use.
    func open() async throws {
        _ = try await holder.connection()
    }

    func close() async throws {
        try await holder.close()
    }

    /// Whether `error` says the connection was lost rather than that the server refused a statement: the client or
    /// the server closed it, it could not be made, or the server is shutting down or restarting (SQLSTATE class 57P,
    /// operator intervention, and 08, connection exception).
    static func isConnectionLost(_ error: any Error) -> Bool {
        if error is LostDuringStatement { return true }
        guard let error = error as? PSQLError else { return error is ChannelError || error is IOError }
        switch error.code {
        case .clientClosedConnection, .serverClosedConnection, .connectionError, .uncleanShutdown: return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("57P") || state.hasPrefix("08")
        default: return false
        }
    }

    /// The connection lost while the statement was in flight; it may or may not have been carried out.
    struct LostDuringStatement: Error {}

    /// Statements on one connection, each failing as soon as the connection closes: a statement in flight when the
    /// server crashed was seen to wait forever for an answer (PostgresNIO 1.33), which would hold the coordinator's
    /// commits. A statement that succeeded just as the connection closed may be reported as lost; the store's commit
    /// checks for that before trying again. (The abandoned wait itself stays behind: one per lost statement.)
    private final class GuardedConnection: SQLDatabase {
        let connection: PostgresConnection
        let queryLogLevel: Logger.Level?
        /// The statements waiting for an answer; nil once the connection has closed.
        private let pending = Mutex<[UInt64: CheckedContinuation<Void, any Error>]?>([:])
        private let nextId = Atomic<UInt64>(0)

        init(connection: PostgresConnection, queryLogLevel: Logger.Level?) {
            self.connection = connection
            self.queryLogLevel = queryLogLevel
            // One callback for the connection's life, not one per statement.
            connection.closeFuture.whenComplete { [self] _ in
                for waiter in pending.withLock({ waiting in defer { waiting = nil }; return waiting ?? [:] }).values {
                    waiter.resume(throwing: LostDuringStatement())
                }
            }
        }

        var logger: Logger { connection.logger }
        var eventLoop: any EventLoop { connection.eventLoop }
        var dialect: any SQLDialect { PostgresDialect() }

        func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
            let promise = eventLoop.makePromise(of: Void.self)
            promise.completeWithTask { try await self.execute(sql: query, onRow) }
            return promise.futureResult
        }

        func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
            let database = connection.sql(queryLogLevel: queryLogLevel)
            let id = nextId.add(1, ordering: .relaxed).newValue
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let registered = pending.withLock { waiting -> Bool in
                    guard waiting != nil else { return false }
                    waiting?[id] = continuation
                    return true
                }
                guard registered else { return continuation.resume(throwing: LostDuringStatement()) }
                Task { [self] in
                    let result: Result<Void, any Error>
                    do {
                        try await database.execute(sql: query, onRow)
                        result = .success(())
                    } catch {
                        result = .failure(error)
                    }
                    pending.withLock { $0?.removeValue(forKey: id) }?.resume(with: result)
                }
            }
        }

        func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
            try await closure(self)
        }
    }

    private actor Holder {
        let configuration: PostgresConnection.Configuration
        let id: Int
        let logger: Logger
        var current: GuardedConnection?
        var connecting: Task<GuardedConnection, any Error>?

        init(configuration: PostgresConnection.Configuration, id: Int, logger: Logger) {
            self.configuration = configuration
            self.id = id
            self.logger = logger
        }

        func connection() async throws -> GuardedConnection {
            if let current, !current.connection.isClosed { return current }
            // One attempt at a time: callers that arrive meanwhile wait for it instead of opening connections of their own.
            if let connecting { return try await connecting.value }
            let attempt = Task { [configuration, id, logger] in
                GuardedConnection(
                    connection: try await PostgresConnection.connect(
                        on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id, logger: logger
                    ),
                    queryLogLevel: .trace
                )
            }
            connecting = attempt
            defer { connecting = nil }
            if let lost = current {
                current = nil
                try? await lost.connection.close()
            }
            let connection = try await attempt.value
            current = connection
            return connection
        }

        func close() async throws {
            let open = current
            current = nil
            try await open?.connection.close()
        }
    }
}
