import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation
import Testing

/// The state machine on its own: every transition from signed inputs and decisions, no network. Settlement is
/// the subject here, so hardware proof is off (ChallengeStateTests covers it).
@Suite struct NetworkStateTests {
    let requester = SigningIdentity()
    let operatorA = SigningIdentity()
    let operatorB = SigningIdentity()
    let nodeA = SigningIdentity()
    let nodeB = SigningIdentity()
    // Stake is EconomyStateTests' subject.
    let parameters = NetworkParameters(challenges: ChallengePolicy(required: false), economy: .none)

    func genesis() throws -> NetworkState {
        var state = NetworkState()
        try state.apply(.genesis(.init(coordinator: SigningIdentity().address, parameters: parameters, allocations: [
            .init(address: requester.address, amountMicro: 100_000_000),
        ])), atMs: 0)
        for (node, op) in [(nodeA, operatorA), (nodeB, operatorB)] {
            let registration = NodeRegistration.authorized(
                node: node.address, by: op, hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"),
                policy: AgentPolicy(askMicroPerCpuCoreHour: 1_000_000), region: "r", agentVersion: "t"
            )
            try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: 0)
        }
        return state
    }

    func envelope(_ payload: some Encodable, _ kind: EnvelopeKind, _ signer: SigningIdentity) throws -> LogEvent {
        .envelope(try SignedEnvelope.sign(payload, kind: kind, by: signer))
    }

    func output(_ text: String) -> [OutputFile] {
        [OutputFile(path: "out.txt", sha256: Digest.sha256Hex(text), sizeBytes: Int64(text.utf8.count))]
    }

    /// Runs one run on `node` from offer to report, `durationMs` long, writing `text`.
    func run(_ runId: String, on node: SigningIdentity, writing text: String, startMs: Int64, durationMs: Int64, state: inout NetworkState) throws {
        try state.apply(.offer(runId: runId, nodeId: node.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: startMs + 10_000), atMs: startMs)
        try state.apply(try envelope(OfferResponse(runId: runId, accept: true), .respondOffer, node), atMs: startMs)
        try state.apply(try envelope(RunReport(runId: runId, exitCode: 0, outputs: output(text), durationMs: durationMs), .reportResult, node), atMs: startMs + durationMs)
    }

    func submit(_ state: inout NetworkState, samplePpm: Int) throws -> String {
        let spec = JobSpec(name: "t", command: "true", taskCount: 1, resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 3600,
                           verification: .init(policy: .replicate, samplePpm: samplePpm))
        let applied = try state.apply(try envelope(JobSubmission(spec: spec), .submitJob, requester), atMs: 1)
        return try #require(applied.jobId)
    }

    /// The stored totals start with the genesis even when it funds nobody; otherwise such a network's audit fails.
    @Test func aGenesisThatFundsNobodyStillWritesItsTotals() throws {
        var state = NetworkState()
        let applied = try state.apply(.genesis(.init(coordinator: SigningIdentity().address, parameters: NetworkParameters(), allocations: [])), atMs: 0)
        let totals = state.projectionRows(for: applied.changes).totals
        #expect(!totals.isEmpty && totals == state.projectionSnapshot().totals)
    }

    @Test func matchingReplicasAreBothPaidAndTheFeeBurned() throws {
        var state = try genesis()
        let jobId = try submit(&state, samplePpm: 1_000_000)
        let escrow = try state.job(jobId).escrowLockedMicro
        #expect(escrow == 2 * (2_000_000 + 100_000))
        try run("\(jobId).0.p1", on: nodeA, writing: "42", startMs: 10, durationMs: 1_800_000, state: &state)
        #expect(try state.job(jobId).state == .verifying)
        try state.apply(.sampled(jobId: jobId, taskIndex: 0, replicate: true), atMs: 1_800_010)
        // The replica may not go to the primary's operator.
        #expect(throws: CrucibleError.self) {
            try state.apply(.offer(runId: "\(jobId).0.r1", nodeId: nodeA.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: .max), atMs: 1_800_020)
        }
        try run("\(jobId).0.r1", on: nodeB, writing: "42", startMs: 1_800_020, durationMs: 900_000, state: &state)
        let verdict = try state.expectedVerdict(jobId: jobId, taskIndex: 0)
        #expect(verdict.outcome == .verified)
        // Half an hour at 1 CRU/h and a quarter hour at 1 CRU/h; 5% of each burned.
        #expect(verdict.payments.map(\.amountMicro) == [500_000, 250_000])
        #expect(verdict.feeMicro == 25_000 + 12_500)

        // A verdict that pays more than the runs earned is refused.
        var greedy = verdict
        greedy.payments[0].amountMicro += 1
        #expect(throws: CrucibleError.self) { try state.apply(.verdict(greedy), atMs: 2_800_000) }

        try state.apply(.verdict(verdict), atMs: 2_800_000)
        let remaining = escrow - 750_000 - 37_500
        try state.apply(.jobClosed(jobId: jobId, refundMicro: remaining), atMs: 2_800_001)
        #expect(state.ledger.balance(of: operatorA.address) == 500_000)
        #expect(state.ledger.balance(of: operatorB.address) == 250_000)
        #expect(state.ledger.balance(of: requester.address) == 100_000_000 - 750_000 - 37_500)
        #expect(state.ledger.burnedMicro == 37_500)
        #expect(try state.job(jobId).state == .settled)
        #expect(state.nodes[nodeA.address]?.earnedMicro == 500_000)
        try state.ledger.checkConservation()
    }

    @Test func mismatchedReplicasAreDisputedAndNobodyIsPaid() throws {
        var state = try genesis()
        let jobId = try submit(&state, samplePpm: 1_000_000)
        try run("\(jobId).0.p1", on: nodeA, writing: "42", startMs: 10, durationMs: 60_000, state: &state)
        try state.apply(.sampled(jobId: jobId, taskIndex: 0, replicate: true), atMs: 60_010)
        try run("\(jobId).0.r1", on: nodeB, writing: "41", startMs: 60_020, durationMs: 60_000, state: &state)
        // A disagreement goes to an arbiter under a third operator; there is none here, so it is waived after the wait.
        #expect(throws: CrucibleError.self) { try state.expectedVerdict(jobId: jobId, taskIndex: 0) }
        var generator = SystemRandomNumberGenerator()
        let open = Scheduler(nowMs: 120_030, onlineNodes: [nodeA.address, nodeB.address], lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator)
        #expect(open == .arbitrationOpened(jobId: jobId, taskIndex: 0))
        try state.apply(.arbitrationOpened(jobId: jobId, taskIndex: 0), atMs: 120_030)
        #expect(state.runs["\(jobId).0.a1"]?.excludedOperators == [operatorA.address, operatorB.address].sorted())
        let waitOver = 120_031 + parameters.replicaWaitMs
        #expect(Scheduler(nowMs: 120_031, onlineNodes: [nodeA.address, nodeB.address], lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator) == nil)
        #expect(Scheduler(nowMs: waitOver, onlineNodes: [], lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator) == .arbiterWaived(jobId: jobId, taskIndex: 0))
        try state.apply(.arbiterWaived(jobId: jobId, taskIndex: 0), atMs: waitOver)
        let verdict = try state.expectedVerdict(jobId: jobId, taskIndex: 0)
        #expect(verdict.outcome == .disputed)
        #expect(verdict.payments.isEmpty)
        try state.apply(.verdict(verdict), atMs: waitOver + 1)
        try state.apply(.jobClosed(jobId: jobId, refundMicro: try state.job(jobId).escrowLockedMicro), atMs: waitOver + 2)
        #expect(state.ledger.balance(of: requester.address) == 100_000_000)
        #expect(state.ledger.balance(of: operatorA.address) == 0)
        #expect(try state.job(jobId).tasks[0].state == .disputed)
    }

    @Test func cancellingStopsPendingWorkButDeliveredWorkIsStillVerifiedAndPaid() throws {
        var state = try genesis()
        let spec = JobSpec(name: "t", command: "true", taskCount: 2, resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 3600,
                           verification: .init(policy: .replicate, samplePpm: 1_000_000))
        let jobId = try #require(try state.apply(try envelope(JobSubmission(spec: spec), .submitJob, requester), atMs: 1).jobId)
        try run("\(jobId).0.p1", on: nodeA, writing: "42", startMs: 10, durationMs: 3_600_000, state: &state)
        try state.apply(.offer(runId: "\(jobId).1.p1", nodeId: nodeB.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: .max), atMs: 20)
        try state.apply(try envelope(OfferResponse(runId: "\(jobId).1.p1", accept: true), .respondOffer, nodeB), atMs: 21)
        // Only the requester may cancel, and only once.
        #expect(throws: CrucibleError.self) { try state.apply(try envelope(JobCancellation(jobId: jobId), .cancelJob, nodeA), atMs: 3_600_020) }
        try state.apply(try envelope(JobCancellation(jobId: jobId), .cancelJob, requester), atMs: 3_600_020)
        #expect(throws: CrucibleError.self) { try state.apply(try envelope(JobCancellation(jobId: jobId), .cancelJob, requester), atMs: 3_600_021) }
        #expect(state.runs["\(jobId).1.p1"]?.state == .cancelled)
        #expect(try state.job(jobId).tasks.map(\.state) == [.verifying, .cancelled])
        // The delivered task is still checked and paid; then the job closes as cancelled.
        try state.apply(.sampled(jobId: jobId, taskIndex: 0, replicate: true), atMs: 3_600_030)
        try run("\(jobId).0.r1", on: nodeB, writing: "42", startMs: 3_600_040, durationMs: 3_600_000, state: &state)
        let verdict = try state.expectedVerdict(jobId: jobId, taskIndex: 0)
        try state.apply(.verdict(verdict), atMs: 7_200_100)
        #expect(state.closableJobs == [jobId])
        let escrow = try #require(state.ledger.escrows[jobId]).amountMicro
        try state.apply(.jobClosed(jobId: jobId, refundMicro: escrow), atMs: 7_200_101)
        #expect(try state.job(jobId).state == .cancelled)
        #expect(state.ledger.balance(of: operatorA.address) == 1_000_000)
        #expect(state.ledger.balance(of: operatorB.address) == 1_000_000)
        #expect(state.ledger.balance(of: requester.address) == 100_000_000 - 2_000_000 - 100_000)
        try state.ledger.checkConservation()
    }

    @Test func aReplicaNoOtherOperatorTakesIsWaivedSoTheJobCanClose() throws {
        var state = try genesis()
        let jobId = try submit(&state, samplePpm: 1_000_000)
        try run("\(jobId).0.p1", on: nodeA, writing: "42", startMs: 10, durationMs: 60_000, state: &state)
        try state.apply(.sampled(jobId: jobId, taskIndex: 0, replicate: true), atMs: 60_010)
        var generator = SystemRandomNumberGenerator()
        // Only node A (the primary's operator) is online: the replica cannot be placed, and until the wait is over
        // nothing is decided.
        let early = Scheduler(nowMs: 60_010 + parameters.replicaWaitMs, onlineNodes: [nodeA.address], lastHeartbeatMs: [:])
        #expect(early.nextDecision(in: state, using: &generator) == nil)
        #expect(throws: CrucibleError.self) { try state.apply(.replicaWaived(jobId: jobId, taskIndex: 0), atMs: 60_010 + parameters.replicaWaitMs) }
        let late = Scheduler(nowMs: 60_011 + parameters.replicaWaitMs, onlineNodes: [nodeA.address], lastHeartbeatMs: [:])
        let decision = late.nextDecision(in: state, using: &generator)
        #expect(decision == .replicaWaived(jobId: jobId, taskIndex: 0))
        try state.apply(try #require(decision), atMs: 60_011 + parameters.replicaWaitMs)
        #expect(state.runs["\(jobId).0.r1"]?.state == .cancelled)
        let verdict = try state.expectedVerdict(jobId: jobId, taskIndex: 0)
        #expect(verdict.payments.map(\.runId) == ["\(jobId).0.p1"])
        try state.apply(.verdict(verdict), atMs: 60_012 + parameters.replicaWaitMs)
        #expect(state.closableJobs == [jobId])
    }

    @Test func parametersMissingFromAnOlderGenesisTakeTheirDefaults() throws {
        let decoded = try JSONDecoder().decode(NetworkParameters.self, from: Data(#"{"feeBps":100}"#.utf8))
        var expected = NetworkParameters()
        expected.feeBps = 100
        // A network made before the economy existed ran without stake or emissions, and replays so.
        expected.economy = .none
        #expect(decoded == expected)
    }

    @Test func lostAndDeclinedRunsAreRescheduledThenFail() throws {
        var state = try genesis()
        let jobId = try submit(&state, samplePpm: 1)
        let first = "\(jobId).0.p1"
        try state.apply(.offer(runId: first, nodeId: nodeA.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: 100), atMs: 10)
        // An answer after the deadline is refused; the lapse puts the run back in the queue.
        #expect(throws: CrucibleError.self) {
            try state.apply(try envelope(OfferResponse(runId: first, accept: true), .respondOffer, nodeA), atMs: 101)
        }
        #expect(throws: CrucibleError.self) { try state.apply(.offerLapsed(runId: first), atMs: 100) }
        try state.apply(.offerLapsed(runId: first), atMs: 101)
        #expect(state.queuedRunIds.contains(first))
        // Node A is in its cooldown for this run; node B declines.
        #expect(throws: CrucibleError.self) {
            try state.apply(.offer(runId: first, nodeId: nodeA.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: 1_000), atMs: 200)
        }
        try state.apply(.offer(runId: first, nodeId: nodeB.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: 1_000), atMs: 200)
        try state.apply(try envelope(OfferResponse(runId: first, accept: false, reason: "busy"), .respondOffer, nodeB), atMs: 300)
        // After the cooldown node A may have it; it accepts, then goes silent.
        let later = 101 + parameters.declineCooldownMs
        try state.apply(.offer(runId: first, nodeId: nodeA.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: later + 1_000), atMs: later)
        try state.apply(try envelope(OfferResponse(runId: first, accept: true), .respondOffer, nodeA), atMs: later + 1)
        try state.apply(.runLost(runId: first, reason: "no heartbeat"), atMs: later + 30_000)
        let second = "\(jobId).0.p2"
        #expect(state.runs[second]?.state == .queued)
        // The second attempt exits non-zero; attempts are spent (3 by default), so a third fails the task.
        try state.apply(.offer(runId: second, nodeId: nodeB.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: .max), atMs: later + 40_000)
        try state.apply(try envelope(OfferResponse(runId: second, accept: true), .respondOffer, nodeB), atMs: later + 40_001)
        try state.apply(try envelope(RunReport(runId: second, exitCode: 3, outputs: [], durationMs: 5), .reportResult, nodeB), atMs: later + 40_010)
        let third = "\(jobId).0.p3"
        #expect(state.runs[second]?.state == .failed)
        try state.apply(.offer(runId: third, nodeId: nodeA.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: .max), atMs: later + 50_000)
        try state.apply(try envelope(OfferResponse(runId: third, accept: true), .respondOffer, nodeA), atMs: later + 50_001)
        try state.apply(try envelope(RunReport(runId: third, exitCode: 1, outputs: [], durationMs: 5), .reportResult, nodeA), atMs: later + 50_010)
        #expect(try state.job(jobId).tasks[0].state == .failed)
        // Nothing was verified, so closing refunds the whole escrow.
        let escrow = try state.job(jobId).escrowLockedMicro
        #expect(throws: CrucibleError.self) { try state.apply(.jobClosed(jobId: jobId, refundMicro: escrow - 1), atMs: later + 60_000) }
        try state.apply(.jobClosed(jobId: jobId, refundMicro: escrow), atMs: later + 60_000)
        #expect(state.ledger.balance(of: requester.address) == 100_000_000)
    }

    @Test func schedulerOffersTheCheapestOnlineNode() throws {
        var state = try genesis()
        let cheap = SigningIdentity()
        let registration = NodeRegistration.authorized(
            node: cheap.address, by: operatorA, hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"),
            policy: AgentPolicy(askMicroPerCpuCoreHour: 500_000), region: "r", agentVersion: "t"
        )
        try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: cheap)), atMs: 0)
        let jobId = try submit(&state, samplePpm: 1)
        var generator = SystemRandomNumberGenerator()
        // Offline nodes get nothing.
        #expect(Scheduler(nowMs: 5, onlineNodes: [], lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator) == nil)
        let decision = Scheduler(nowMs: 5, onlineNodes: [nodeA.address, cheap.address], lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator)
        #expect(decision == .offer(runId: "\(jobId).0.p1", nodeId: cheap.address, priceMicroPerUnitHour: 500_000, deadlineMs: 5 + parameters.offerTimeoutMs))
    }
}
