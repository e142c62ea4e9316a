import ArgumentParser
import CrucibleAgent
import CrucibleCore
import Foundation
import Logging

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run the node agent on this machine.",
        subcommands: [Run.self, Hardware.self, NodeBenchCommand.self]
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register this machine and work offers until Ctrl-C. Dials out only.")

        @Option(help: "Coordinator URL.")
        var coordinator: String = "http://127.0.0.1:7700"

        @Option(help: "This node's key file (created if missing).")
        var key: String = ".crucible/node.key"

        @Option(help: "The operator wallet key that earns for this node (default: the node key itself).")
        var operatorKey: String?

        @Option(help: "Policy file (YAML): asks, minimum price, allowed kinds, concurrency.")
        var policy: String?

        @Option(help: "Folder for task work folders.")
        var work: String = ".crucible/node-work"

        @Option(help: "Region label shown to requesters.")
        var region: String = "local"

        @Option(help: .hidden)
        var parentPid: Int32?

        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try logging.bootstrap()
            let logger = Logger(label: "crucible.agent")
            let nodeKey = try KeyFile.readOrCreate(key)
            let operatorIdentity = try operatorKey.map { try KeyFile.read($0) } ?? nodeKey
            let agentPolicy = try policy.map { try AgentPolicyFile.load(path: $0) } ?? AgentPolicy()
            guard let url = URL(string: coordinator), url.scheme == "http" || url.scheme == "https" else {
                throw ValidationError("--coordinator must be an http(s) URL")
            }
            let hardware = HardwareDiscovery.discover()
            logger.info("hardware", metadata: ["summary": "\(hardware.summary)", "cpu": "\(hardware.cpuModel)", "memoryMiB": "\(hardware.memoryMiB)"])
            let agent = NodeAgent(
                configuration: .init(
                    coordinatorURL: url, nodeKey: nodeKey, operatorKey: operatorIdentity, policy: agentPolicy,
                    hardware: hardware, workDirectory: URL(fileURLWithPath: work), region: region
                ),
                logger: logger
            )
            let work = Task { try await agent.run() }
            let stop = SignalWatch.onTermination { work.cancel() }
            if let parentPid { SignalWatch.whenProcessExits(parentPid) { work.cancel() } }
            defer { stop.cancel() }
            do {
                try await work.value
            } catch is CancellationError {
                logger.info("stopped")
            }
        }
    }

    struct Hardware: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what the agent would report about this machine.")

        func run() throws {
            let hardware = HardwareDiscovery.discover()
            print("CPU:    \(hardware.cpuModel), \(hardware.cpuCores) cores")
            print("Memory: \(hardware.memoryMiB) MiB")
            print("OS:     \(hardware.os)")
            if hardware.gpus.isEmpty {
                print("GPUs:   none found (nvidia-smi absent or reports none); this node offers CPU work only")
            }
            for gpu in hardware.gpus {
                print("GPU \(gpu.index): \(gpu.name) (\(gpu.model ?? "not in catalog")), \(gpu.memoryMiB) MiB, \(gpu.uuid), driver \(gpu.driverVersion)")
            }
        }
    }
}
