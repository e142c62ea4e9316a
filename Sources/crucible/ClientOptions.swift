import ArgumentParser
import CrucibleClient

struct ClientOptions: ParsableArguments {
    @Option(help: "Coordinator URL; several, comma-separated, for a network served by several coordinators.")
    var coordinator: String = "http://127.0.0.1:7700"

    func client() throws -> CoordinatorClient {
        try CoordinatorClient(url: coordinator)
    }
}
