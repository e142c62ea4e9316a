import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleProof
import CrucibleStore
import CrucibleTestSupport
import Foundation
import Testing

/// Proof of GPU over real HTTP with real agents: honest nodes prove their hardware before they get work; a node
/// whose device is not what it claims, or whose answers are forged, is not matched.
@Suite(.network) struct ChallengeEndToEndTests {
    func nodeProof(_ nodeId: String, in network: TestNetwork) async throws -> Components.Schemas.NodeProof? {
        try await network.client.nodes().first { $0.id == nodeId }?.proof
    }

    @Test func anHonestAgentProvesItsHardwareAndTheVerdictCanBeRechecked() async throws {
        let network = try await TestNetwork.start()
        let agent = network.agent(operatorKey: network.operatorA)
        let nodeId = await agent.nodeId
        try await withAgents([agent]) {
            try await waitUntil("the node is proven") { try await nodeProof(nodeId, in: network)?.status == .proven }
        }
        let proof = try #require(try await nodeProof(nodeId, in: network))
        // A loaded machine may make the honest node miss its first deadline; it is then proven by its retry.
        #expect(proof.passed == 1 && proof.provenTops > 0 && proof.deviceTops.count == 1)
        let summary = try await network.client.network()
        #expect(summary.nodesProven == 1 && summary.challengesPassed == 1 && summary.provenTops == proof.provenTops)

        // Anyone can recheck: the revealed seed is the one fixed at issue, and the queried rows' entries are the
        // generator's.
        let challenge = try await network.client.challenge("challenge-\(proof.failed + 1)")
        #expect(challenge.state == .passed && challenge.nodeId == nodeId && challenge.reason == (proof.failed == 0 ? "registration" : "retry"))
        let device = try #require(challenge.devices.first)
        let seed = try #require(device.seed.flatMap { Data(hexString: $0) })
        #expect(Digest.sha256Hex(seed) == device.seedSha256 && device.model == "cpu")
        let recomputed = try GPUChallenge(seed: seed, n: device.n, m: device.m)
        #expect(try #require(challenge.queries.first).count == TestNetwork.fastParameters.challenges.openings)
        #expect(recomputed.leafCount == device.n * device.m)

        // From the public API alone, the verdict is rechecked on the openings the node uploaded.
        let client = network.client
        let identity = network.identity.address
        let publicReport = try await Auditor.audit(source: Auditor.PublicSource(
            page: { after in
                let page = try await client.log(after: after)
                return (
                    identity,
                    page.entries.map { LogEntry(seq: $0.seq, prevHash: $0.prevHash, hash: $0.hash, timestampMs: $0.timestampMs, content: $0.content, signature: $0.signature) },
                    page.checkpoints.map { LogCheckpoint(lastSeq: $0.lastSeq, firstSeq: $0.firstSeq, root: $0.root, signature: $0.signature) }
                )
            },
            head: { try await client.health().logHead },
            account: { address in
                Auditor.AccountFigures(try await client.account(address))
            },
            blob: { try await client.blob($0) }
        ))
        #expect(publicReport.challengesRechecked >= 1)

        // The whole log, challenges included, replays to the stored state.
        await network.stop()
        let store = try await CrucibleStore.openSQLite(path: network.databasePath)
        let report = try await Auditor.audit(store: store)
        try await store.close()
        #expect(report.decisions >= 4 && report.challengesRechecked == publicReport.challengesRechecked)
    }

    @Test func aCPUClaimingAnH100IsCaughtAndTheWorkGoesToTheHonestNode() async throws {
        let network = try await TestNetwork.start()
        let honest = network.agent(operatorKey: network.operatorA)
        let spoofer = network.agent(
            operatorKey: network.operatorB, policy: AgentPolicy(askMicroPerGpuHour: 100_000, askMicroPerCpuCoreHour: 100_000),
            hardware: HardwareProfile(
                gpus: [.init(index: 0, uuid: "GPU-fake", name: "NVIDIA H100 80GB HBM3", memoryMiB: 81_559, driverVersion: "550", model: "H100-SXM")],
                cpuModel: "test CPU", cpuCores: 4, memoryMiB: 8192, os: "test"
            )
        )
        let spooferId = await spoofer.nodeId
        let honestId = await honest.nodeId
        let job = try await withAgents([honest, spoofer]) {
            try await waitUntil("the spoofer's challenge is judged") { try await nodeProof(spooferId, in: network)?.status == .failed }
            let submitted = try await network.client.submitJob(
                TestNetwork.shellSpec("proven only", script: "echo ok > \"$CRUCIBLE_OUTPUT_DIR/ok\"", tasks: 2), by: network.requester
            )
            try await waitUntil("the job settles") { try await network.client.job(submitted.id).state == "settled" }
            return try await network.client.job(submitted.id)
        }
        // The spoofer asked the least and still got nothing: every run went to the proven node.
        #expect(job.tasks.flatMap(\.runs).allSatisfy { $0.nodeId == honestId })
        let spooferChallenge = try #require(await network.coordinator.state.challenges.values.first { $0.nodeId == spooferId })
        let verdict = try await network.client.challenge(spooferChallenge.id)
        // Too slow either way: it gives up at the deadline, or commits in time at a fraction of the H100's floor.
        let reason = try #require(verdict.failure)
        #expect(verdict.state == .failed && (reason.contains("no commitment before the deadline") || reason.contains("below the floor")), "\(reason)")
        await network.stop()
    }

    @Test func forgedAnswersFailAndBadRequestsAreRefused() async throws {
        let network = try await TestNetwork.start()
        let node = SigningIdentity()
        let stranger = SigningIdentity()
        for key in [node, stranger] {
            _ = try await network.client.registerNode(NodeRegistration.authorized(
                node: key.address, by: network.operatorA,
                hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 2, memoryMiB: 4096, os: "l"),
                policy: AgentPolicy(askMicroPerCpuCoreHour: 100_000), region: "r", agentVersion: "t"
            ), by: key)
        }
        let notice = try #require(try await network.client.poll(waitMs: 5_000, by: node).challenges.first)
        // Nothing the node or the stranger signed is logged by a refused request; the coordinator may meanwhile log its
        // own decisions (a challenge time-out, an epoch), which is why the log head is not what is compared.
        func refused(_ code: CrucibleError.Code, _ body: () async throws -> Void) async throws {
            let head = await network.coordinator.logHead
            await #expect { try await body() } throws: { ($0 as? CrucibleError)?.code == code }
            #expect(try await network.envelopesLogged(after: head).filter { [node.address, stranger.address].contains($0.signer) }.isEmpty)
        }
        try await refused(.forbidden) { _ = try await network.client.startChallenge(notice.challengeId, by: stranger) }
        try await refused(.notFound) { _ = try await network.client.startChallenge("challenge-99", by: node) }
        try await refused(.conflict) {
            _ = try await network.client.commitChallenge(ChallengeCommitment(challengeId: notice.challengeId, roots: [Digest.sha256Hex("r")]), by: node)
        }
        let work = try await network.client.startChallenge(notice.challengeId, by: node)
        let device = try #require(work.devices.first)
        let solution = CPUChallengeSolver.solve(try GPUChallenge(seed: Data(hexString: device.seed!)!, n: device.n, m: device.m))
        // A garbage commitment, then the true rows: they are not what was committed to.
        let committed = try await network.client.commitChallenge(
            ChallengeCommitment(challengeId: notice.challengeId, roots: [Data(repeating: 0x5a, count: 32).hexString]), by: node
        )
        #expect(committed.state == .queried)
        try await refused(.conflict) {
            _ = try await network.client.commitChallenge(ChallengeCommitment(challengeId: notice.challengeId, roots: [solution.root.hexString]), by: node)
        }
        let openings = committed.queries.map { $0.map { solution.open(t: $0.t, i: $0.i) } }
        try await refused(.malformed) {
            _ = try await network.client.openChallenge(notice.challengeId, openings: try JSONEncoder().encode([Array(openings[0].dropLast())]), by: node)
        }
        try await refused(.malformed) { _ = try await network.client.openChallenge(notice.challengeId, openings: Data("[[{\"t\":0}]]".utf8), by: node) }
        let judged = try await network.client.openChallenge(notice.challengeId, openings: try JSONEncoder().encode(openings), by: node)
        #expect(judged.state == .failed && judged.failure?.contains("not the one committed to") == true)
        #expect(try await nodeProof(node.address, in: network)?.status == .failed)
        await network.stop()
    }
}

/// The challenge worker script the CUDA backend runs, driven through its CPU engine (NumPy): the same protocol,
/// Merkle tree and openings, checked against the Swift solver and then through a real agent.
@Suite(.network) struct ChallengeWorkerTests {
    /// Rows of one BLAKE3 block (n = 24) and of two chunks, the second partial (n = 300), hashed by BLAKE3's own
    /// Python binding in the worker and by the C in the solver.
    @Test(arguments: [24, 300])
    func theWorkersCommitmentAndOpeningsAreTheSolvers(n: Int) async throws {
        let backend = WorkerChallengeBackend(engine: "cpu")
        #expect(try await backend.probe().get().contains("cpu"))
        let challenge = try GPUChallenge(seed: Data((0..<32).map { UInt8($0 * 7 + 3) }), n: n, m: 3)
        let reference = CPUChallengeSolver.solve(challenge)
        let proof = try await backend.commit(challenge, device: 0)
        #expect(proof.root == reference.root)
        for (t, i) in [(0, 0), (2, n - 1), (1, 7)] {
            #expect(try await proof.open(t: t, i: i) == reference.open(t: t, i: i))
        }
        // A bad request is answered with an error, not a hang.
        await #expect(throws: CrucibleError.self) { _ = try await proof.open(t: 3, i: 0) }
    }

    @Test func anAgentProvesItselfThroughTheWorker() async throws {
        let network = try await TestNetwork.start()
        let agent = network.agent(operatorKey: network.operatorA, challengeBackend: WorkerChallengeBackend(engine: "cpu"))
        let nodeId = await agent.nodeId
        try await withAgents([agent]) {
            try await waitUntil("the node is proven and the agent has the verdict") {
                guard await agent.lastChallengeState != nil else { return false }
                return try await network.client.nodes().first { $0.id == nodeId }?.proof.status == .proven
            }
        }
        #expect(await agent.lastChallengeState?.hasPrefix("passed") == true)
        await network.stop()
    }
}
