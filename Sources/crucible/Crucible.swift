import ArgumentParser
import Logging

@main
struct Crucible: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crucible",
        abstract: "A decentralized GPU compute network: coordinator, node agent and client in one tool.",
        subcommands: [
            DevnetCommand.self, CoordinatorCommand.self, NodeCommand.self, WalletCommand.self, JobCommand.self,
            StakeCommand.self, GovCommand.self, EconomyCommand.self, NetworkCommand.self, LogCommand.self, AuditCommand.self, BenchCommand.self, LoadgenCommand.self,
            SimCommand.self,
        ]
    )
}

/// Options every long-running command shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func bootstrap() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
