import CrucibleAPI
import Hummingbird
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import CrucibleCore
import ServiceLifecycle
import UnixSignals

/// The coordinator as a running service: the generated OpenAPI routes on a Hummingbird server, with the
/// decision loop running beside it for as long as the server runs.
public enum CoordinatorServer {
    public static func makeApplication(
        coordinator: Coordinator,
        host: String,
        port: Int,
        logger: Logger = Logger(label: "crucible.coordinator"),
        onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router()
        let routes = DeclaredRoutes()
        let metrics = CoordinatorMetrics()
        // Before the routes: the router runs its middlewares for requests that match none of them too.
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: UndeclaredRouteMiddleware(routes: routes))
        let api = CoordinatorAPI(coordinator: coordinator, metrics: metrics, logger: logger)
        try api.registerHandlers(
            on: routes.recording(router),
            middlewares: [BodyLimitMiddleware(), ErrorBodyMiddleware(), LeaderForwardingMiddleware(coordinator: coordinator)]
        )
        try ExplorerPages(api: api).register(on: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "crucible-coordinator"),
            services: [DecisionLoopService(coordinator: coordinator)],
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }
}

extension CoordinatorServer {
    /// A coordinator serving in the background of this process, for devnet, the benchmark and tests.
    public final class Running: Sendable {
        public let port: Int
        private let services: ServiceGroup
        private let task: Task<Void, any Error>

        init(port: Int, services: ServiceGroup, task: Task<Void, any Error>) {
            self.port = port
            self.services = services
            self.task = task
        }

        /// Returns when the server has stopped: after `stop`, or a shutdown signal it was started with.
        public func waitUntilStopped() async {
            _ = try? await task.value
        }

        /// Shuts down gracefully: open requests and long-polls end, the log is written.
        public func stop() async {
            await services.triggerGracefulShutdown()
            await waitUntilStopped()
        }
    }

    /// Starts serving and returns once the port is bound, or throws if it could not be (the port is taken).
    public static func start(
        coordinator: Coordinator,
        host: String,
        port: Int,
        shutdownSignals: [UnixSignal] = [],
        logger: Logger = Logger(label: "crucible.coordinator")
    ) async throws -> Running {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try makeApplication(coordinator: coordinator, host: host, port: port, logger: logger) { bound in
            continuation.yield(bound)
            continuation.finish()
        }
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: shutdownSignals, logger: logger))
        // A server that cannot bind ends without reporting a port; ending the stream with it ends the wait.
        let task = Task {
            defer { continuation.finish() }
            try await services.run()
        }
        var bound: Int?
        for await value in ports { bound = value }
        guard let bound else {
            var reason = ""
            if case .failure(let error) = await task.result { reason = ": \(error)" }
            throw CrucibleError(.unavailable, "could not listen on \(host):\(port)\(reason)")
        }
        return Running(port: bound, services: services, task: task)
    }
}

/// Runs the coordinator's decisions (time-outs, verification, settlement, matching) until shutdown, then
/// waits for the log to be on disk.
struct DecisionLoopService: Service {
    let coordinator: Coordinator

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await coordinator.runDecisionLoop()
        }
        await coordinator.drain()
    }
}
