import CrucibleCore
import Foundation
import Logging
import NIOPosix
import PostgresKit

/// A PostgreSQL server of its own for one test: a new cluster (`initdb`) in a temporary folder, started with `pg_ctl` on
/// a free loopback port, stopped and removed by `stop`. PostgreSQL refuses to run as root, so as root the server runs
/// as the `postgres` user (Debian's package makes it). Durability is traded for speed (`fsync=off`): the data is thrown
/// away, and a crash of the server process (what the tests do to it) loses nothing the kernel has.
public final class ThrowawayPostgres: Sendable {
    public let port: Int
    public let folder: URL
    let binaries: URL

    /// The user the server was initialised with; it trusts local connections, so there is no password.
    public static let user = "crucible"

    private init(port: Int, folder: URL, binaries: URL) {
        self.port = port
        self.folder = folder
        self.binaries = binaries
    }

    /// Runs `body` with a fresh server and stops the server afterwards, whether `body` returned or threw.
    public static func with<T: Sendable>(_ body: (ThrowawayPostgres) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            try await server.stop()
            return result
        } catch {
            try? await server.stop()
            throw error
        }
    }

    /// Where Debian's PostgreSQL keeps `initdb` and `pg_ctl` (the newest version installed), or PATH.
    static func findBinaries() throws -> URL {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bin = root.appendingPathComponent(version).appendingPathComponent("bin")
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) { return bin }
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let bin = URL(fileURLWithPath: String(directory))
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) { return bin }
        }
        throw CrucibleError(.unavailable, "PostgreSQL's initdb was not found: install Debian's postgresql package (.ci/run does)")
    }

    /// A new server; a start that fails (a port another test took between our look and the server's bind, a machine
    /// too loaded for `pg_ctl`'s wait) is tried again on a new port and folder, twice.
    public static func start() async throws -> ThrowawayPostgres {
        var attempt = 1
        while true {
            do {
                return try await startOnce()
            } catch where attempt < 3 {
                logger.warning("a throwaway PostgreSQL did not start; trying again", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                attempt += 1
            }
        }
    }

    static func startOnce() async throws -> ThrowawayPostgres {
        let binaries = try findBinaries()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let port = try await freePort()
        let server = ThrowawayPostgres(port: port, folder: folder, binaries: binaries)
        do {
            try await server.run("""
                chmod 700 \(folder.path)
                [ "$(id -u)" = 0 ] && chown postgres \(folder.path)
                as_owner \(binaries.path)/initdb -D \(folder.path)/data -U \(user) --auth=trust -E UTF8 --no-sync >\(folder.path)/initdb.log 2>&1 \
                    || { cat \(folder.path)/initdb.log >&2; exit 1; }
                """)
            try await server.startServer()
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        return server
    }

    /// The URL of a new, empty database on this server.
    public func createDatabase() async throws -> String {
        let name = "crucible_\(UUID().uuidString.prefix(8).lowercased())"
        let connection = try await connect(database: "postgres")
        do {
            try await connection.query("CREATE DATABASE \(unescaped: name)", logger: Self.logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        return url(database: name)
    }

    public func url(database: String) -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    func connect(database: String) async throws -> PostgresConnection {
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: port, username: Self.user, password: nil, database: database, tls: .disable
        )
        return try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 0, logger: Self.logger
        )
    }

    /// Kills the server the hard way (SIGQUIT to the postmaster: no shutdown checkpoint), as a crash would.
    public func kill() async throws {
        try await run("as_owner \(binaries.path)/pg_ctl -D \(folder.path)/data -m immediate -w stop >/dev/null")
    }

    /// Starts the server again on the same port, with the data it had.
    public func startServer() async throws {
        // The daemon inherits the script's descriptors: those above 2 are closed first, or it would hold the caller's
        // pipes open and the caller would wait for it forever.
        try await run("""
            for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
            as_owner \(binaries.path)/pg_ctl -D \(folder.path)/data -l \(folder.path)/server.log -w -t 60 \
                -o "-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start \
                </dev/null >\(folder.path)/pg_ctl.log 2>&1 || { cat \(folder.path)/pg_ctl.log >&2; tail -20 \(folder.path)/server.log >&2; exit 1; }
            """)
    }

    /// Stops the server and removes its folder.
    public func stop() async throws {
        try? await run("as_owner \(binaries.path)/pg_ctl -D \(folder.path)/data -m fast -w stop >/dev/null 2>&1")
        try FileManager.default.removeItem(at: folder)
    }

    static let logger = Logger(label: "crucible.test.postgres")

    /// Runs a shell script in which `as_owner` runs a command as the server's owner; throws with its standard error.
    func run(_ script: String) async throws {
        let prelude = """
            set -u
            as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

            """
        let (status, errors) = try await onOwnThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", prelude + script]
            process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
            let errorPipe = Pipe()
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errorPipe
            try process.run()
            let errors = errorPipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: errors, as: UTF8.self))
        }
        guard status == 0 else { throw CrucibleError(.unavailable, "PostgreSQL test server: status \(status): \(errors)") }
    }

    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw CrucibleError(.unavailable, "no free port on 127.0.0.1") }
        return port
    }
}
