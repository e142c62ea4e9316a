import ArgumentParser
import CrucibleClient

struct ClientOptions: ParsableArguments {
    @Option(help: "Coordinator URL; several, comma-separated, for a network served by several coordinators.")
    var coordinator: String = "http://127.0.0.1:7700"

    /// A command's client: it says at once when no coordinator answers, rather than retrying until its deadline.
    func client() throws -> CoordinatorClient {
        CoordinatorClient(baseURLs: try CoordinatorClient.parseURLs(coordinator), httpClient: CoordinatorClient.failFastHTTPClient)
    }
}
