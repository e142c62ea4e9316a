import ArgumentParser
import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleProof
import CrucibleCore
import CrucibleLedger
import CrucibleStore
import Foundation
import Logging
import UnixSignals

struct DevnetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devnet",
        abstract: "Run a whole network on this machine: a coordinator, node agents as separate processes, and demo jobs."
    )

    @Option(help: "Data folder; reused on the next run.")
    var data: String = ".crucible/devnet"

    @Option(help: "Coordinator port on 127.0.0.1 (0 picks a free one).")
    var port: Int = 7700

    @Option(help: "Number of node agents (1 to 16).")
    var nodes: Int = 3

    @Flag(help: "Exit after the demo jobs are settled and the summary is printed.")
    var once = false

    @Flag(help: "Delete the data folder first and start from a new genesis.")
    var fresh = false

    @Option(help: "Log level of the coordinator (agents log to files in the data folder).")
    var logLevel: String = "warning"

    static let requesterFundingMicro: Int64 = 1_000 * Amount.microPerCRU
    static let operatorFundingMicro: Int64 = 1_000 * Amount.microPerCRU
    static let settleDeadlineS = 300

    func validate() throws {
        guard (1...16).contains(nodes) else { throw ValidationError("--nodes must be between 1 and 16") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    /// A devnet's nodes are CPU agents sharing one machine, often a debug build: their challenges are small and
    /// the floor low, so every node proves itself within a second or two, at whatever throughput it shows. Time runs
    /// fast: unannounced challenges every 15 s on average, an epoch every 30 s, votes open for 20 s, so a few minutes
    /// show the whole economy.
    static let parameters = NetworkParameters(
        challenges: ChallengePolicy(cpuN: 128, targetMs: 50, slackPercent: 20_000, floorBps: 10, meanIntervalMs: 15_000),
        economy: EconomyPolicy(
            unbondingMs: 60_000, epochMs: 30_000, emissionMicroPerEpoch: 100 * Amount.microPerCRU, votingPeriodMs: 20_000,
            proposalStakeMicro: 10 * Amount.microPerCRU
        )
    )

    func run() async throws {
        try LoggingOptions.parse(["--log-level", logLevel]).bootstrap()
        let logger = Logger(label: "crucible.devnet")
        let directory = DataDirectory(data)
        if fresh { try? FileManager.default.removeItem(atPath: directory.path) }
        let isNew = !directory.databaseExists
        for folder in ["keys", "demo", "logs", "agents"] {
            try FileManager.default.createDirectory(atPath: directory.file(folder), withIntermediateDirectories: true)
        }

        // Keys and files.
        let requester = try KeyFile.readOrCreate(directory.file("keys/requester.key"))
        let operators = [
            "operator-a": try KeyFile.readOrCreate(directory.file("keys/operator-a.key")),
            "operator-b": try KeyFile.readOrCreate(directory.file("keys/operator-b.key")),
        ]
        let setups = DevnetDemo.nodes(count: nodes)
        for setup in setups {
            _ = try KeyFile.readOrCreate(directory.file("keys/node-\(setup.index).key"))
            try DevnetDemo.policy(setup).write(toFile: directory.file("demo/node-\(setup.index)-policy.yaml"), atomically: true, encoding: .utf8)
        }
        // With Blender installed, the demo renders too: the scene is made by Blender itself.
        var renders = false
        if let rendering = await RenderRuntime.find() {
            do {
                try await DemoScene.make(with: rendering, at: directory.file("demo/scene.blend"))
                renders = true
            } catch {
                print("devnet: \(rendering.version) found but the demo scene failed (\((error as? CrucibleError)?.message ?? "\(error)")); no render job")
            }
        }
        let specFiles = DevnetDemo.specs(replicate: Set(setups.map(\.operatorName)).count > 1, gang: setups.count > 1, render: renders)
        for (name, text) in specFiles {
            try text.write(toFile: directory.file("demo/\(name)"), atomically: true, encoding: .utf8)
        }
        try DevnetDemo.corpus().write(toFile: directory.file("demo/corpus.txt"), atomically: true, encoding: .utf8)

        // The coordinator, in this process.
        let store = try await CrucibleStore.openSQLite(path: directory.database)
        let coordinator: Coordinator
        do {
            coordinator = try await Coordinator.open(
                store: store, identity: try KeyFile.readOrCreate(directory.coordinatorKey),
                genesisAllocations: [.init(address: requester.address, amountMicro: Self.requesterFundingMicro)]
                    + operators.values.map { .init(address: $0.address, amountMicro: Self.operatorFundingMicro) }.sorted { $0.address < $1.address },
                parameters: Self.parameters, logger: logger
            )
        } catch {
            try? await store.close()
            print("devnet failed: the coordinator could not open \(directory.path): \((error as? CrucibleError)?.message ?? "\(error)")")
            throw ExitCode.failure
        }
        let server: CoordinatorServer.Running
        do {
            server = try await CoordinatorServer.start(
                coordinator: coordinator, host: "127.0.0.1", port: port, shutdownSignals: [.sigterm, .sigint], logger: logger
            )
        } catch let error as CrucibleError {
            try? await store.close()
            print("devnet failed: the coordinator \(error.message); try another --port, or 0 for any free one")
            throw ExitCode.failure
        }
        let url = "http://127.0.0.1:\(server.port)"
        print("Crucible devnet  data \(directory.path)  \(isNew ? "new genesis" : "reusing the data folder (log head \(await coordinator.logHead))")")
        print("coordinator \(Address.short(coordinator.identity.address))… listening on \(url)")

        // Each operator bonds what its devnet nodes need before they join, so they are matched once proven.
        let bondClient = try CoordinatorClient(url: url)
        for (name, wallet) in operators.sorted(by: { $0.key < $1.key }) {
            let nodesOfOperator = setups.filter { $0.operatorName == name }.count
            let needed = Self.parameters.economy.stakeCpuMicro * Int64(nodesOfOperator)
            let staked = try await bondClient.stakeStatus(wallet.address).stakedMicro
            if needed > staked { _ = try await bondClient.stake(.bond, amountMicro: needed - staked, by: wallet) }
        }

        // Node agents, each its own process with its own key.
        let executable = ChildProcess.currentExecutable()
        var agents = [ChildProcess]()
        for setup in setups {
            agents.append(try ChildProcess(
                name: "node-\(setup.index)", executable: executable,
                arguments: [
                    "node", "run", "--coordinator", url,
                    "--key", directory.file("keys/node-\(setup.index).key"),
                    "--operator-key", directory.file("keys/\(setup.operatorName).key"),
                    "--policy", directory.file("demo/node-\(setup.index)-policy.yaml"),
                    "--work", directory.file("agents/node-\(setup.index)"),
                    "--region", "devnet", "--peer-host", "127.0.0.1", "--link-interval", "1", "--parent-pid", "\(getpid())",
                ],
                logPath: directory.file("logs/node-\(setup.index).log")
            ))
        }
        func shutdown() async {
            for agent in agents { await agent.stop() }
            await server.stop()
            await coordinator.drain()
            try? await store.close()
        }

        do {
            let client = try CoordinatorClient(url: url)
            let nodeKeys = try setups.map { try KeyFile.read(directory.file("keys/node-\($0.index).key")).address }
            try await waitForAgents(nodeKeys, agents: agents, client: client)
            print("\(agents.count) node agents online (logs in \(directory.file("logs")))\n")

            let before = try await accountBalances(client, requester: requester, operators: operators)
            var submitted = [String]()
            for (name, _) in specFiles {
                let file = try JobSpecFile.load(path: directory.file("demo/\(name)"))
                let job = try await client.submitJob(try await file.resolve(uploadingWith: client, by: requester), by: requester)
                submitted.append(job.id)
            }
            let jobs = try await JobProgress(client: client, jobIds: submitted, agents: agents).follow(deadlineS: Self.settleDeadlineS)
            await coordinator.drain()
            let report = try await Auditor.audit(store: store)
            let after = try await accountBalances(client, requester: requester, operators: operators)
            var names = Dictionary(uniqueKeysWithValues: operators.map { ($0.value.address, $0.key) })
            for (setup, address) in zip(setups, nodeKeys) { names[address] = "node-\(setup.index)" }
            print(DevnetSummary.render(
                jobs: jobs, nodes: try await client.nodes(), names: names, before: before, after: after, economy: try await client.economy(), audit: report
            ))
        } catch {
            print("devnet failed: \((error as? CrucibleError)?.message ?? "\(error)")")
            await shutdown()
            throw ExitCode.failure
        }

        if once {
            await shutdown()
            return
        }
        print("""

        The network keeps running at \(url). Try, in another terminal:
          swift run crucible network --coordinator \(url)
          swift run crucible job submit \(directory.file("demo/hash-chain.yaml")) --key \(directory.file("keys/requester.key")) --coordinator \(url) --wait
          swift run crucible economy --coordinator \(url)
          swift run crucible stake status --key \(directory.file("keys/operator-a.key")) --coordinator \(url)
          swift run crucible gov propose --title "Lower the fee" --set feeBps=300 --key \(directory.file("keys/operator-a.key")) --coordinator \(url)
          swift run crucible audit --data \(directory.path)
        Ctrl-C stops the coordinator and the agents.
        """)
        // Written out now: in a pipe or a file, stdout is buffered and the network may run for hours.
        fflush(nil)
        // Ctrl-C ends the server; then the same shutdown as --once.
        await server.waitUntilStopped()
        await shutdown()
    }

    /// Waits until every agent has registered and polled, failing early if one exits.
    private func waitForAgents(_ nodeIds: [String], agents: [ChildProcess], client: CoordinatorClient) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let dead = agents.first(where: { !$0.isRunning }) {
                throw CrucibleError(.unavailable, "agent \(dead.name) exited; see \(dead.logPath)")
            }
            let online = Set(try await client.nodes().filter(\.online).map(\.id))
            if nodeIds.allSatisfy(online.contains) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CrucibleError(.unavailable, "agents did not come online within 60 s; see their logs")
    }

    private func accountBalances(_ client: CoordinatorClient, requester: SigningIdentity, operators: [String: SigningIdentity]) async throws -> [(String, Int64)] {
        var balances = [("requester", try await client.account(requester.address).balanceMicro)]
        for (name, identity) in operators.sorted(by: { $0.key < $1.key }) {
            balances.append((name, try await client.account(identity.address).balanceMicro))
        }
        return balances
    }
}
