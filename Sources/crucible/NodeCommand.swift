import ArgumentParser
import CrucibleAgent
import CrucibleClient
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

        @Option(help: "Coordinator URL; several, comma-separated, for a network served by several coordinators.")
        var coordinator: String = "http://127.0.0.1:7700"

        @Option(help: "This node's key file (created if missing).")
        var key: String = ".crucible/node.key"

        @Option(help: "The operator wallet key that earns for this node (default: the node key itself).")
        var operatorKey: String?

        @Option(help: "Policy file (YAML): asks, minimum price, allowed kinds, concurrency. Edits are picked up while running.")
        var policy: String?

        @Option(help: "Folder for task work folders.")
        var work: String = ".crucible/node-work"

        @Option(help: "Region label shown to requesters.")
        var region: String = "local"

        @Option(help: "What answers proof-of-GPU challenges: auto (the CUDA worker when GPUs are found and it runs, else the CPU solver), cpu, cuda, or numpy (the worker's CPU engine).")
        var challengeEngine: String = "auto"

        @Option(help: "The address other nodes reach this machine at (an IP or host name). Set it to join cluster jobs: the agent then listens for link probes and measures its round trip and bandwidth to peers.")
        var peerHost: String?

        @Option(help: "Port of the link probe on --peer-host (0: any free port).")
        var peerPort: Int = 0

        @Option(help: "A Python with PyTorch for train jobs (default: /usr/bin/python3, where Debian's python3-torch installs, then python3 on PATH). Without one the node takes no train job.")
        var python: String?

        @Option(help: "The Blender for render jobs (default: blender on PATH, as Debian's package installs it). Without one the node takes no render job.")
        var blender: String?

        @Option(help: "The `ray` command for ray jobs, with the Python that has Ray beside it (a virtual environment's bin/ray; default: ray on PATH). Without one the node takes no ray job.")
        var ray: String?

        @Option(name: .customLong("env"), help: "KEY=VALUE set for every run (repeatable): caches, NCCL settings. Crucible's own variables win.")
        var environment: [String] = []

        @Option(help: "Seconds between looks for peers whose link is not measured yet (with --peer-host).")
        var linkInterval: Int = 30

        @Option(help: "Run each task as this unprivileged user (the agent runs as root and drops to it): a task then cannot read the node key or anything else of the agent's.")
        var taskUser: String?

        @Option(help: .hidden)
        var parentPid: Int32?

        @Option(help: "Serve this agent's Prometheus metrics at http://HOST:PORT/metrics (runs, offers, challenges; GPU use, temperature and power from nvidia-smi). Off by default: the agent listens on nothing.")
        var metricsListen: HostPort?

        @Option(help: "Every this many seconds, print a row of what the network says about this node when it changed (online, proof, runs, earnings, reputation) to stdout; 0: none.")
        var status: Int = 10

        @OptionGroup var logging: LoggingOptions

        /// The challenge backend for this machine. A GPU the CUDA worker cannot drive is left to the CPU solver, which
        /// will not meet a GPU's deadline: the node is then honestly not proven, and the log says why.
        static func challengeBackend(_ engine: String, hardware: HardwareProfile, logger: Logger) async throws -> any ChallengeBackend {
            switch engine {
            case "cpu":
                return CPUChallengeBackend()
            case "cuda", "numpy":
                let worker = WorkerChallengeBackend(engine: engine == "cuda" ? "cuda" : "cpu")
                if case .failure(let error) = await worker.probe() { throw ValidationError("--challenge-engine \(engine): \(error.message)") }
                return worker
            case "auto":
                guard !hardware.gpus.isEmpty else { return CPUChallengeBackend() }
                let worker = WorkerChallengeBackend(engine: "cuda")
                switch await worker.probe() {
                case .success(let device):
                    logger.info("challenges answered by the CUDA worker", metadata: ["device": "\(device)"])
                    worker.prewarm(devices: hardware.gpus.map(\.index))
                    return worker
                case .failure(let error):
                    logger.warning("the CUDA challenge worker cannot run; GPU challenges will be answered on the CPU and fail", metadata: ["reason": "\(error.message)"])
                    return CPUChallengeBackend()
                }
            default:
                throw ValidationError("--challenge-engine must be auto, cpu, cuda or numpy")
            }
        }

        func run() async throws {
            try logging.bootstrap()
            let logger = Logger(label: "crucible.agent")
            let nodeKey = try KeyFile.readOrCreate(key)
            let operatorIdentity = try operatorKey.map { try KeyFile.read($0) } ?? nodeKey
            let agentPolicy = try policy.map { try AgentPolicyFile.load(path: $0) } ?? AgentPolicy()
            let urls: [URL]
            do {
                urls = try CoordinatorClient.parseURLs(coordinator)
            } catch {
                throw ValidationError("--coordinator: \(error)")
            }
            guard (0...65_535).contains(peerPort) else { throw ValidationError("--peer-port must be between 0 and 65535") }
            guard (1...3_600).contains(linkInterval) else { throw ValidationError("--link-interval must be between 1 and 3600 seconds") }
            guard (0...3_600).contains(status) else { throw ValidationError("--status must be between 0 (none) and 3600 seconds") }
            var runEnvironment = [String: String]()
            for entry in environment {
                guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else { throw ValidationError("--env takes KEY=VALUE, not `\(entry)`") }
                runEnvironment[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            }
            if let peerHost, peerHost.isEmpty || peerHost.contains(":") {
                throw ValidationError("--peer-host must be an IPv4 address or a host name")
            }
            NodeAgent.stopLeftoverRuns(workDirectory: URL(fileURLWithPath: work), logger: logger)
            let hardware = await HardwareDiscovery.discover()
            logger.info("hardware", metadata: ["summary": "\(hardware.summary)", "cpu": "\(hardware.cpuModel)", "memoryMiB": "\(hardware.memoryMiB)"])
            let backend = try await Self.challengeBackend(challengeEngine, hardware: hardware, logger: logger)
            let training = await TrainingRuntime.find(candidates: python.map { [$0] } ?? TrainingRuntime.candidates)
            if let training {
                logger.info("train jobs run with PyTorch", metadata: ["python": "\(training.python)", "torch": "\(training.torchVersion)"])
            } else {
                logger.info("no Python with PyTorch found: this node takes no train job")
            }
            let rendering = await RenderRuntime.find(candidates: blender.map { [$0] } ?? RenderRuntime.candidates)
            if let rendering {
                logger.info("render jobs run with Blender", metadata: ["blender": "\(rendering.blender)", "version": "\(rendering.version)"])
            } else {
                logger.info("no Blender found: this node takes no render job")
            }
            let rayRuntime = await RayRuntime.find(candidates: ray.map { [$0] } ?? RayRuntime.candidates)
            if let rayRuntime {
                logger.info("ray jobs run with Ray", metadata: ["ray": "\(rayRuntime.ray)", "version": "\(rayRuntime.version)"])
            } else {
                logger.info("no Ray found: this node takes no ray job")
            }
            if taskUser == nil && getuid() == 0 {
                logger.warning("tasks run as root, within reach of the node key: pass --task-user with an unprivileged account")
            }
            let agent = NodeAgent(
                configuration: .init(
                    coordinatorURL: urls[0], moreCoordinators: Array(urls.dropFirst()), nodeKey: nodeKey, operatorKey: operatorIdentity, policy: agentPolicy,
                    hardware: hardware, workDirectory: URL(fileURLWithPath: work), region: region, challengeBackend: backend,
                    peerHost: peerHost, peerProbePort: peerPort, linkCheckIntervalMs: linkInterval * 1000, policyPath: policy,
                    training: training, rendering: rendering, ray: rayRuntime, runEnvironment: runEnvironment,
                    taskUser: try taskUser.map(TaskUser.init(name:))
                ),
                logger: logger
            )
            let metricsServer = metricsListen.map { AgentMetricsServer.start(agent: agent, at: $0, logger: logger) }
            defer { metricsServer?.cancel() }
            let work = Task { try await agent.run() }
            let table = status == 0 ? nil : Task {
                await NodeStatusTable(client: CoordinatorClient(baseURLs: urls), nodeId: nodeKey.address).run(everyS: status)
            }
            defer { table?.cancel() }
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

    struct Hardware: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what the agent would report about this machine.")

        @Flag(help: "Print JSON for scripts (the hardware profile the agent registers).") var json = false

        func run() async throws {
            let hardware = await HardwareDiscovery.discover()
            if json { return try printJSON(hardware) }
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
