import CrucibleAPI
import Hummingbird
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import ServiceLifecycle

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
        let api = CoordinatorAPI(coordinator: coordinator, logger: logger)
        try api.registerHandlers(on: router, middlewares: [ErrorBodyMiddleware()])
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "crucible-coordinator"),
            services: [DecisionLoopService(coordinator: coordinator)],
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
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
