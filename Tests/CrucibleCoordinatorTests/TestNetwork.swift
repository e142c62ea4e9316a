import AsyncHTTPClient
import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import CrucibleStore
import CrucibleTestSupport
import Foundation
import Logging
import NIOCore
import Testing

/// A real coordinator on a loopback port over a fresh database (SQLite unless a test gives a PostgreSQL URL), with
/// funded wallets, for tests that talk to it over HTTP exactly as agents and requesters do.
final class TestNetwork: Sendable {
    let directory: URL
    /// What the store was opened with: a SQLite path or a PostgreSQL URL.
    let database: String
    let identity: SigningIdentity
    let store: CrucibleStore
    let coordinator: Coordinator
    let client: CoordinatorClient
    let port: Int
    let requester: SigningIdentity
    let operatorA: SigningIdentity
    let operatorB: SigningIdentity
    /// A third operator, for arbiters: funded always, staked only when a test asks for it.
    let operatorC: SigningIdentity
    private let server: CoordinatorServer.Running

    static let fundingMicro: Int64 = 1_000 * Amount.microPerCRU
    /// Each operator bonds this at the start, enough for several CPU nodes at the default stake per class.
    static let operatorStakeMicro: Int64 = 100 * Amount.microPerCRU
    /// What an operator's balance holds once it has bonded.
    static let operatorBalanceMicro = fundingMicro - operatorStakeMicro

    /// How much the test's coordinators and agents log: warnings, unless `CRUCIBLE_TEST_LOG` names a level (`info`,
    /// `debug`) to follow what a failing test's network did.
    static let logLevel = ProcessInfo.processInfo.environment["CRUCIBLE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning

    /// `CRUCIBLE_TEST_STALLS=MS` prints every time the cooperative pool took longer than MS to start a task.
    static let stallMonitor: Void = {
        if let threshold = ProcessInfo.processInfo.environment["CRUCIBLE_TEST_STALLS"].flatMap(Int.init) {
            PoolStallMonitor.start(thresholdMs: threshold)
        }
    }()

    /// Time-outs short enough that the lapses and lost leases a test provokes happen within it, and long enough that
    /// a well agent on a loaded machine (a debug build, the suite's other tests, another process on one of two cores)
    /// never meets them: an offer is answered and a lease heartbeated well inside 15 s there, where 4 to 5 s were
    /// missed under load and failed tests whose agents were well.
    static let fastParameters = NetworkParameters(
        feeBps: 500, offerTimeoutMs: 15_000, leaseTimeoutMs: 15_000, leaseGraceMs: 5_000, attemptsMax: 2,
        checkpointInterval: 16, timestampWindowMs: 300_000, onlineWindowMs: 45_000, declineCooldownMs: 10_000,
        // Small challenges with ~30 s to answer and a 0.3% floor: debug builds (the C kernels unoptimized) share two
        // cores with the whole suite, where a CPU node's 270 million operations were seen to take over 10 s, and must
        // not be judged on that. A CPU claiming an H100 must still show 0.3% of 1,979 TOPS (6 TOPS), which no CPU
        // reaches (this one peaks near 2 TOPS). A node that failed is challenged again after 10 s, not 10 minutes: a
        // challenge missed while the suite's start held every task up must not fail a test that waits a minute.
        challenges: ChallengePolicy(
            gpuN: 256, cpuN: 128, targetMs: 100, slackPercent: 30_000, floorBps: 30, openings: 8, entriesPerRow: 4,
            roundTripMaxMs: 50, startTimeoutMs: 20_000, openTimeoutMs: 20_000, retryMs: 10_000, matricesMax: 64
        )
    )

    private init(directory: URL, database: String, identity: SigningIdentity, store: CrucibleStore, coordinator: Coordinator, client: CoordinatorClient, port: Int,
                 requester: SigningIdentity, operatorA: SigningIdentity, operatorB: SigningIdentity, operatorC: SigningIdentity,
                 server: CoordinatorServer.Running) {
        self.operatorC = operatorC
        self.directory = directory
        self.database = database
        self.identity = identity
        self.store = store
        self.coordinator = coordinator
        self.client = client
        self.port = port
        self.requester = requester
        self.operatorA = operatorA
        self.operatorB = operatorB
        self.server = server
    }

    var databasePath: String { directory.appendingPathComponent("crucible.sqlite").path }

    static func start(
        parameters: NetworkParameters = fastParameters,
        reusing previous: TestNetwork? = nil,
        stakingOperatorC: Bool = false,
        database: String? = nil,
        rateLimit: RequestRateLimiter.Limit? = .standard,
        presenceSampleMs: Int64 = 60_000
    ) async throws -> TestNetwork {
        _ = stallMonitor
        let directory = previous?.directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("crucible-test-\(UUID().uuidString)")
        let database = previous?.database ?? database ?? directory.appendingPathComponent("crucible.sqlite").path
        let identity = previous?.identity ?? SigningIdentity()
        let requester = previous?.requester ?? SigningIdentity()
        let operatorA = previous?.operatorA ?? SigningIdentity()
        let operatorB = previous?.operatorB ?? SigningIdentity()
        let operatorC = previous?.operatorC ?? SigningIdentity()
        var logger = Logger(label: "crucible.test")
        logger.logLevel = TestNetwork.logLevel
        let store = try await CrucibleStore.open(database, logger: logger)
        let coordinator = try await Coordinator.open(
            store: store, identity: identity,
            genesisAllocations: [requester, operatorA, operatorB, operatorC].map { .init(address: $0.address, amountMicro: fundingMicro) },
            parameters: parameters, rateLimit: rateLimit, presenceSampleMs: presenceSampleMs, logger: logger
        )
        let server = try await CoordinatorServer.start(coordinator: coordinator, host: "127.0.0.1", port: previous?.port ?? 0, logger: logger)
        let bound = server.port
        let network = TestNetwork(
            directory: directory, database: database, identity: identity, store: store, coordinator: coordinator,
            client: CoordinatorClient(baseURL: URL(string: "http://127.0.0.1:\(bound)")!), port: bound,
            requester: requester, operatorA: operatorA, operatorB: operatorB, operatorC: operatorC, server: server
        )
        if previous == nil, parameters.economy.stakeCpuMicro > 0 {
            for wallet in [operatorA, operatorB] + (stakingOperatorC ? [operatorC] : []) {
                _ = try await network.client.stake(.bond, amountMicro: operatorStakeMicro, by: wallet)
            }
        }
        return network
    }

    /// Stops serving, writes what is pending and closes the database, like a coordinator shut down.
    func stop() async {
        await server.stop()
        await coordinator.drain()
        try? await store.close()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// The signed inputs logged after entry `seq` — by `signer` when given —, once what is pending is durable: what a
    /// request could have added. The coordinator logs its own decisions meanwhile (time-outs, offers, epochs), so a
    /// test of a refusal asks about the request's own entries, never whether the log head moved.
    func envelopesLogged(after seq: Int64, by signer: String? = nil) async throws -> [SignedEnvelope] {
        await coordinator.drain()
        var envelopes = [SignedEnvelope]()
        var after = seq
        while true {
            let page = try await store.logEntries(afterSeq: after, limit: 500)
            for entry in page {
                if case .envelope(let envelope) = try CanonicalJSON.decode(LogEvent.self, from: Data(entry.content.utf8)),
                   signer == nil || envelope.signer == signer {
                    envelopes.append(envelope)
                }
            }
            guard let last = page.last, page.count == 500 else { return envelopes }
            after = last.seq
        }
    }

    /// Waits until job `id` is settled or cancelled and returns it.
    /// A GET on this coordinator as a browser or a scraper makes it: status, content type and body as text.
    func fetch(_ path: String) async throws -> (status: Int, contentType: String?, body: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url.absoluteString + path), timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 8 << 20)
        return (Int(response.status.code), response.headers.first(name: "content-type"), String(buffer: body))
    }

    /// Registers a node of `operatorKey` with `hardware` over the API, with no agent behind it, and returns its key.
    func registerBareNode(hardware: HardwareProfile, by operatorKey: SigningIdentity, region: String = "r") async throws -> SigningIdentity {
        let node = SigningIdentity()
        _ = try await client.registerNode(NodeRegistration.authorized(
            node: node.address, by: operatorKey, hardware: hardware, policy: AgentPolicy(), region: region, agentVersion: "t"
        ), by: node)
        return node
    }

    /// Hardware that claims `count` H100s (nothing here can prove them).
    static func claimedH100s(_ count: Int, tag: String) -> HardwareProfile {
        HardwareProfile(
            gpus: (0..<count).map {
                .init(index: $0, uuid: "GPU-\(tag)-\($0)", name: "NVIDIA H100 80GB HBM3", memoryMiB: 81_559, driverVersion: "550", model: "H100-SXM")
            },
            cpuModel: "c", cpuCores: 2, memoryMiB: 1024, os: "l"
        )
    }

    func settled(_ id: String, timeoutS: Double = 90) async throws -> Components.Schemas.Job {
        var job = try await client.job(id)
        try await waitUntil("job \(id) is closed", timeoutS: timeoutS) {
            job = try await client.job(id)
            guard job.state != "settled" && job.state != "cancelled" else { return nil }
            let runs = job.tasks.flatMap(\.runs).map { "\($0.id) \($0.state)\($0.failure.map { " (\($0))" } ?? "")" }
            return "the job is \(job.state)\(job.waiting.map { ", waiting: \($0)" } ?? ""); runs: \(runs.joined(separator: ", "))"
        }
        return job
    }

    /// Waits until `count` nodes are online and proven — and cluster-ready, with `clusterReady` — and says on a time-out
    /// where each node stood.
    func waitUntilNodes(_ count: Int, clusterReady: Bool = false, timeoutS: Double = 60) async throws {
        try await waitUntil("\(count) nodes are online, proven\(clusterReady ? " and cluster-ready" : "")", timeoutS: timeoutS) {
            let nodes = try await client.nodes()
            let ready = nodes.filter { $0.online && $0.proof.status == .proven && (!clusterReady || $0.clusterReady == true) }
            guard ready.count < count else { return nil }
            return nodes.map { node in
                "node \(node.id.prefix(8)): online \(node.online), proof \(node.proof.status.rawValue) (\(node.proof.passed) passed, \(node.proof.failed) failed)"
                    + (clusterReady ? ", cluster-ready \(node.clusterReady ?? false)" : "")
            }.joined(separator: "; ")
        }
    }

    /// Submits `spec` as the requester and waits until one of its runs is working: the moment a fault test strikes.
    func submitAndWaitForARunningRun(_ spec: JobSpec) async throws -> Components.Schemas.Job {
        let submitted = try await client.submitJob(spec, by: requester)
        try await waitUntil("a run is working") {
            try await client.job(submitted.id).tasks.contains { $0.runs.contains { $0.state == "running" } }
        }
        return submitted
    }

    /// Checks that `job` settled with every task verified, that each paid run completed and the runs' pay adds up to
    /// the job's, that operators A and B gained exactly that, and that the requester lost it plus the burned fee:
    /// nothing lost and nothing paid twice, whatever happened on the way.
    func expectSettledOnceBetweenAAndB(_ job: Components.Schemas.Job, sourceLocation: SourceLocation = #_sourceLocation) async {
        #expect(job.state == "settled", sourceLocation: sourceLocation)
        #expect(job.tasks.allSatisfy { $0.state == "verified" }, sourceLocation: sourceLocation)
        let paidRuns = job.tasks.flatMap(\.runs).filter { $0.paidMicro > 0 }
        #expect(paidRuns.allSatisfy { $0.state == "completed" }, sourceLocation: sourceLocation)
        #expect(paidRuns.reduce(0) { $0 + $1.paidMicro } == job.paidMicro, sourceLocation: sourceLocation)
        let ledger = await coordinator.state.ledger
        let gained = ledger.balance(of: operatorA.address) + ledger.balance(of: operatorB.address) - 2 * Self.operatorBalanceMicro
        #expect(gained == job.paidMicro, sourceLocation: sourceLocation)
        #expect(ledger.balance(of: requester.address) == Self.fundingMicro - job.paidMicro - job.burnedMicro, sourceLocation: sourceLocation)
    }

    /// An in-process node agent with a real key, real HTTP and real child processes; `through` a link the test can cut.
    func agent(
        operatorKey: SigningIdentity, policy: AgentPolicy = AgentPolicy(askMicroPerCpuCoreHour: 1_000_000), nodeKey: SigningIdentity = SigningIdentity(),
        hardware: HardwareProfile = HardwareProfile(gpus: [], cpuModel: "test CPU", cpuCores: 4, memoryMiB: 8192, os: "test"),
        challengeBackend: any ChallengeBackend = CPUChallengeBackend(), peerHost: String? = nil, training: TrainingRuntime? = nil,
        rendering: RenderRuntime? = nil, ray: RayRuntime? = nil, runEnvironment: [String: String] = [:], taskUser: TaskUser? = nil,
        heartbeatIntervalMs: Int = 300, through link: CuttableLink? = nil
    ) -> NodeAgent {
        var logger = Logger(label: "crucible.test.agent")
        logger.logLevel = TestNetwork.logLevel
        return NodeAgent(
            configuration: .init(
                coordinatorURL: link.map { URL(string: "http://127.0.0.1:\($0.port)")! } ?? url, nodeKey: nodeKey, operatorKey: operatorKey, policy: policy,
                hardware: hardware,
                workDirectory: directory.appendingPathComponent("agent-\(nodeKey.address.prefix(8))"),
                pollWaitMs: 1_000, heartbeatIntervalMs: heartbeatIntervalMs, challengeBackend: challengeBackend,
                peerHost: peerHost, linkCheckIntervalMs: 300, training: training, rendering: rendering, ray: ray, runEnvironment: runEnvironment,
                taskUser: taskUser
            ),
            logger: logger
        )
    }

    /// Answers the challenge issued to `node` by hand over the API, as an honest node would, and returns the judged
    /// challenge. `tamper` may change the openings before they are sent (adversary tests).
    @discardableResult
    func prove(_ node: SigningIdentity, roots: (([Data]) -> [Data])? = nil, tamper: (([[RowOpening]]) -> [[RowOpening]])? = nil) async throws -> Components.Schemas.Challenge {
        let notice = try #require(try await client.poll(waitMs: 5_000, by: node).challenges.first)
        let work = try await client.startChallenge(notice.challengeId, by: node)
        let solutions = try work.devices.map { CPUChallengeSolver.solve(try GPUChallenge(seed: Data(hexString: $0.seed!)!, n: $0.n, m: $0.m)) }
        let committedRoots = roots?(solutions.map(\.root)) ?? solutions.map(\.root)
        let committed = try await client.commitChallenge(ChallengeCommitment(challengeId: notice.challengeId, roots: committedRoots.map(\.hexString)), by: node)
        guard committed.state == .queried else { return committed }
        var openings = zip(solutions, committed.queries).map { solution, queries in queries.map { solution.open(t: $0.t, i: $0.i) } }
        if let tamper { openings = tamper(openings) }
        return try await client.openChallenge(notice.challengeId, openings: try JSONEncoder().encode(openings), by: node)
    }

    /// A spec that runs `script` with sh, one CPU core per task.
    static func shellSpec(_ name: String, script: String, tasks: Int = 1, replicate: Int = 0, maxDurationS: Int = 30, inputs: [JobSpec.InputFile] = []) -> JobSpec {
        JobSpec(
            name: name, command: "sh", args: ["-c", script], inputs: inputs, taskCount: tasks,
            resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 64), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: maxDurationS,
            verification: replicate > 0 ? .init(policy: .replicate, samplePpm: replicate) : .init()
        )
    }
}

/// Runs agents for the duration of `body`, then stops them.
func withAgents<Value>(_ agents: [NodeAgent], _ body: () async throws -> Value) async throws -> Value {
    let tasks = agents.map { agent in Task { try await agent.run() } }
    do {
        let value = try await body()
        for task in tasks { task.cancel() }
        for task in tasks { _ = try? await task.value }
        return value
    } catch {
        for task in tasks { task.cancel() }
        for task in tasks { _ = try? await task.value }
        throw error
    }
}
