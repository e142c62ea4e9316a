import ArgumentParser
import CrucibleCoordinator
import CrucibleCore
import CrucibleStore
import Foundation
import Hummingbird
import Logging

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator.",
        subcommands: [Serve.self]
    )

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve the API over a data folder until Ctrl-C.")

        @Option(help: "Data folder (coordinator key, and the SQLite database unless --database names another).")
        var data: String = ".crucible/coordinator"

        @Option(help: ArgumentHelp(
            "Database: postgres://USER[:PASSWORD]@HOST[:PORT]/NAME, or a SQLite file. Default: $CRUCIBLE_DATABASE, else crucible.sqlite in the data folder.",
            valueName: "url-or-path"
        ))
        var database: String?

        @Option(help: "Address to listen on, HOST:PORT.")
        var listen: HostPort = HostPort(host: "127.0.0.1", port: 7700)

        @Option(help: "Genesis allocation ADDRESS=CRU, applied only when the data folder is new. Repeatable.")
        var fund: [Funding] = []

        @Option(help: "Network parameters (YAML) for a new genesis; fields left out take their defaults. Ignored when the data folder has a log.")
        var parameters: String?

        @Option(help: "Signed requests one key may send per second; beyond it the coordinator answers 429 with Retry-After.")
        var requestsPerSecond: Int = RequestRateLimiter.Limit.standard.perSecond

        @Option(help: "Signed requests one key may send at once before the per-second rate applies.")
        var requestBurst: Int = RequestRateLimiter.Limit.standard.burst

        @Option(help: ArgumentHelp(
            "Where the other coordinators of this database reach this one (PostgreSQL only). Default: http://HOST:PORT it listens on.",
            valueName: "url"
        ))
        var advertise: String?

        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard (1...1_000_000).contains(requestsPerSecond), (1...1_000_000).contains(requestBurst) else {
                throw ValidationError("--requests-per-second and --request-burst are 1…1000000")
            }
        }

        /// Runs `body`; if it throws, closes `store` before the error goes up (SQLite refuses to drop an open connection).
        static func closing<Value>(_ store: CrucibleStore, _ body: () async throws -> Value) async throws -> Value {
            do {
                return try await body()
            } catch {
                try? await store.close()
                throw error
            }
        }

        func run() async throws {
            try logging.bootstrap()
            let logger = Logger(label: "crucible.coordinator")
            let directory = DataDirectory(data)
            let identity = try KeyFile.readOrCreate(directory.coordinatorKey)
            let genesisParameters = try parameters.map(ParametersFile.load) ?? NetworkParameters()
            let store = try await CrucibleStore.open(directory.databaseAddress(database))
            let coordinator = try await Self.closing(store) {
                try await Coordinator.open(
                    store: store, identity: identity, genesisAllocations: fund.map(\.allocation), parameters: genesisParameters,
                    rateLimit: .init(perSecond: requestsPerSecond, burst: requestBurst), replica: store.isShared, logger: logger
                )
            }
            let storeKind = store.kind
            let app = try await Self.closing(store) {
                try CoordinatorServer.makeApplication(
                    coordinator: coordinator, host: listen.host, port: listen.port, logger: logger
                ) { port in
                    // Several coordinators may serve a PostgreSQL database: the first to serve it leads, the others follow.
                    let role: String
                    if await coordinator.serve(at: advertise ?? "http://\(listen.host):\(port)") {
                        role = "leading"
                    } else {
                        role = "following the leader at \((try? await coordinator.leaderURL()) ?? "(unknown)")"
                    }
                    print("coordinator \(identity.address), log head \(await coordinator.logHead), \(storeKind), \(role), listening on http://\(listen.host):\(port)")
                    // Flushed now: when the output is a file or a pipe, whoever started the coordinator is waiting for this line.
                    fflush(nil)
                }
            }
            do {
                try await app.runService()
            } catch {
                await coordinator.drain()
                try? await store.close()
                print("coordinator stopped: could not serve on \(listen.host):\(listen.port): \(error)")
                throw ExitCode.failure
            }
            await coordinator.drain()
            try await store.close()
        }
    }
}
