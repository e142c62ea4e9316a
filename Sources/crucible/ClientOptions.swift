import ArgumentParser
import CrucibleClient

struct ClientOptions: ParsableArguments {
    @Option(help: "Coordinator URL.")
    var coordinator: String = "http://127.0.0.1:7700"

    func client() throws -> CoordinatorClient {
        try CoordinatorClient(url: coordinator)
    }
}
