import CrucibleCoordinator
import CrucibleCore
import CrucibleProof
import Testing

/// Adaptive replication: the rate a node's results are re-run at follows its streak of verified results — every one
/// until the warm-up is done, then 1/streak down to a floor — and a wrong result sets the streak back to zero.
@Suite struct AdaptiveReplicationTests {
    let requester = SigningIdentity()
    let operatorA = SigningIdentity(), operatorB = SigningIdentity()
    let worker = SigningIdentity(), checker = SigningIdentity()
    let parameters = NetworkParameters(
        replicaWaitMs: 1_000, adaptive: AdaptiveReplication(warmupVerified: 3, floorPpm: 100_000),
        challenges: ChallengePolicy(required: false), economy: .none
    )

    @Test func theRateFallsWithTheStreakToItsFloorAndNeverToZero() throws {
        let crucible = AdaptiveReplication()
        #expect([0, 1, 49].map { crucible.samplePpm(streak: $0) } == [1_000_000, 1_000_000, 1_000_000])
        #expect([50, 100, 200, 1_000_000].map { crucible.samplePpm(streak: $0) } == [20_000, 10_000, 10_000, 10_000])
        #expect([9, 10, 1_000].map { AdaptiveReplication.boinc.samplePpm(streak: $0) } == [1_000_000, 100_000, 1_000])
        #expect { try AdaptiveReplication(warmupVerified: 10, floorPpm: 0).validate() } throws: { ($0 as? CrucibleError)?.code == .malformed }
        #expect { try NetworkParameters(adaptive: AdaptiveReplication(floorPpm: 2_000_000)).validate() } throws: { ($0 as? CrucibleError)?.code == .malformed }
        // Adaptive takes its rate from the nodes, and is for batch tasks on one node.
        let adaptive = JobSpec.Verification(policy: .adaptive)
        try JobSpec(name: "t", command: "true", resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60, verification: adaptive).validate()
        for bad in [
            JobSpec(name: "t", command: "true", resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60,
                    verification: .init(policy: .adaptive, samplePpm: 5)),
            JobSpec(name: "t", kind: .train, command: "t.py", resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60,
                    verification: adaptive),
        ] {
            #expect { try bad.validate() } throws: { ($0 as? CrucibleError)?.code == .invalidSpec }
        }
    }

    func genesis() throws -> NetworkState {
        var state = NetworkState()
        try state.apply(.genesis(.init(coordinator: SigningIdentity().address, parameters: parameters, allocations: [
            .init(address: requester.address, amountMicro: 1_000_000_000),
        ])), atMs: 0)
        let hardware = HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 8, memoryMiB: 16_384, os: "l")
        // The worker asks less, so it takes every primary; the checker, of another operator, every replica.
        for (node, wallet, ask) in [(worker, operatorA, Int64(100_000)), (checker, operatorB, Int64(200_000))] {
            let registration = NodeRegistration.authorized(
                node: node.address, by: wallet, hardware: hardware, policy: AgentPolicy(askMicroPerCpuCoreHour: ask, maxConcurrentRuns: 1), region: "r", agentVersion: "t"
            )
            try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: 0)
        }
        return state
    }

    /// Runs one single-task adaptive job to its close, every run answered by its node with `output` (the checker's
    /// with `checkerOutput`), and returns whether its task was re-run.
    func runJob(_ state: inout NetworkState, at nowMs: inout Int64, checkerOutput: String = "ok") throws -> Bool {
        let spec = JobSpec(name: "t", command: "true", resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60,
                           verification: .init(policy: .adaptive))
        let job = try #require(try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: nowMs).jobId)
        var generator = SystemRandomNumberGenerator()
        var decisions = 0
        while state.jobs[job]?.isClosed == false {
            decisions += 1
            guard decisions < 50 else { Issue.record("job \(job) does not close"); break }
            nowMs += 10
            let scheduler = Scheduler(nowMs: nowMs, onlineNodes: [worker.address, checker.address], lastHeartbeatMs: [:])
            guard let decision = scheduler.nextDecision(in: state, using: &generator) else {
                nowMs += parameters.replicaWaitMs  // only waiting is left: an arbiter nobody can be
                continue
            }
            try state.apply(decision, atMs: nowMs)
            guard case .offer(let runId, let nodeId, _, _, _) = decision else { continue }
            let node = nodeId == worker.address ? worker : checker
            try state.apply(.envelope(try SignedEnvelope.sign(OfferResponse(runId: runId, accept: true), kind: .respondOffer, by: node)), atMs: nowMs)
            let output = OutputFile(path: "out.txt", sha256: Digest.sha256Hex(node.address == worker.address ? "ok" : checkerOutput), sizeBytes: 2)
            let report = RunReport(runId: runId, exitCode: 0, outputs: [output], durationMs: 1_000)
            try state.apply(.envelope(try SignedEnvelope.sign(report, kind: .reportResult, by: node)), atMs: nowMs + 1_000)
            nowMs += 1_000
        }
        return state.jobs[job]?.tasks[0].replicate == true
    }

    @Test func verifiedResultsEarnTrustAndAWrongOneLosesItAll() throws {
        var state = try genesis()
        var nowMs: Int64 = 10
        // The warm-up: every result is re-run, and each match adds one to both nodes' streaks.
        for expected in 1...3 {
            #expect(try runJob(&state, at: &nowMs))
            #expect(state.nodes[worker.address]?.verifiedStreak == Int64(expected))
        }
        #expect(state.nodes[checker.address]?.verifiedStreak == 3)
        // Past it, a result is re-run with probability max(1/streak, floor): a third here, then less. Results nobody
        // re-ran are no evidence and leave the streak as it was.
        let (before, rate) = (state.nodes[worker.address]!.verifiedStreak, parameters.adaptive.samplePpm(streak: 3))
        #expect(rate == 333_333)
        var replicated = 0
        for _ in 0..<30 where try runJob(&state, at: &nowMs) { replicated += 1 }
        #expect(replicated < 30, "30 re-runs in a row at a third or less: not adaptive")
        #expect(state.nodes[worker.address]!.verifiedStreak == before + Int64(replicated))

        // A result the checker disagrees with (and no third operator to arbitrate) is disputed: both lose their streak.
        while state.nodes[worker.address]!.verifiedStreak > 0 {
            _ = try runJob(&state, at: &nowMs, checkerOutput: "different")
        }
        #expect(state.nodes[checker.address]?.verifiedStreak == 0)
        #expect(parameters.adaptive.samplePpm(streak: 0) == 1_000_000, "back to checking everything")
    }
}
