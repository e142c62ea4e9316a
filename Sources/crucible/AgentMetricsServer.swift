import CrucibleAgent
import Foundation
import Hummingbird
import Logging

/// Serves an agent's `/metrics` for Prometheus on an address the operator chose (the agent otherwise listens on
/// nothing): one route, read-only.
enum AgentMetricsServer {
    /// Serves until the returned task is cancelled.
    static func start(agent: NodeAgent, at address: HostPort, logger: Logger) -> Task<Void, any Error> {
        Task { try await makeApplication(agent: agent, at: address, logger: logger).runService() }
    }

    static func makeApplication(agent: NodeAgent, at address: HostPort, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: await agent.metricsExposition()))
            )
        }
        return Application(
            router: router, configuration: .init(address: .hostname(address.host, port: address.port), serverName: "crucible-agent"),
            onServerRunning: { channel in
                // On standard output, as the coordinator's "listening on": the port may have been chosen by the system.
                print("metrics served at http://\(address.host):\(channel.localAddress?.port ?? address.port)/metrics")
                fflush(nil)
            },
            logger: logger
        )
    }
}
