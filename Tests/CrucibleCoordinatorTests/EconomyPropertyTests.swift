import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import CrucibleTestSupport
import Foundation
import PropertyBased
import Testing

/// Random sequences of what people, nodes and the scheduler do to the economy — transfers, jobs run, replicated,
/// arbitrated, paid and refunded, slashes, stake bonded, unbonded and withdrawn, proposals, votes, tallies and epoch
/// closes — each step drawn from a generated
/// seed so a failure shrinks to a short sequence. After every step the ledger conserves and nothing is negative;
/// a refused step leaves the state as it was; replaying what was accepted gives the same state; a decision applied
/// twice is refused.
@Suite struct EconomyPropertyTests {
    static let cru = Amount.microPerCRU
    static let wallets = (0..<4).map { _ in SigningIdentity() }
    /// One CPU node for each of the first three wallets, so jobs run, replicas disagree and arbiters decide.
    static let nodeKeys = (0..<3).map { _ in SigningIdentity() }
    static let economy = EconomyPolicy(
        stakeCpuMicro: 10 * cru, unbondingMs: 3_000, epochMs: 10_000, emissionMicroPerEpoch: 100 * cru, quorumBps: 2_000,
        votingPeriodMs: 5_000, proposalStakeMicro: 10 * cru
    )

    static func genesis() throws -> NetworkState {
        var state = NetworkState()
        let parameters = NetworkParameters(challenges: ChallengePolicy(required: false), economy: economy)
        try state.apply(.genesis(.init(
            coordinator: SigningIdentity().address, parameters: parameters,
            allocations: wallets.map { .init(address: $0.address, amountMicro: 1_000 * cru) }
        )), atMs: 0)
        for (node, wallet) in zip(nodeKeys, wallets) {
            // Each node's operator starts with enough stake behind it to be matched, and votes to cast.
            try state.apply(.envelope(try SignedEnvelope.sign(StakeRequest(action: .bond, amountMicro: 30 * cru), kind: .stake, by: wallet)), atMs: 0)
            let registration = NodeRegistration.authorized(
                node: node.address, by: wallet, hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"),
                policy: AgentPolicy(askMicroPerCpuCoreHour: 100_000), region: "r", agentVersion: "t"
            )
            try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: 0)
        }
        return state
    }

    /// The step a seed stands for at `nowMs`: one signed input, or nil for "let time pass and the scheduler decide".
    static func step(_ seed: UInt64, in state: NetworkState) throws -> LogEvent? {
        var random = SplitMix64(seed: seed)
        let wallet = wallets[Int.random(in: 0..<wallets.count, using: &random)]
        let other = wallets[Int.random(in: 0..<wallets.count, using: &random)]
        let amount = Int64.random(in: -5...400, using: &random) * cru / 4
        func sign(_ payload: some Encodable, _ kind: EnvelopeKind) throws -> LogEvent {
            .envelope(try SignedEnvelope.sign(payload, kind: kind, by: wallet))
        }
        // The runs offered to or running on some node, in a fixed order, with that node's key.
        let active = nodeKeys.flatMap { key in
            (state.activeRunIdsByNode[key.address] ?? []).sorted().compactMap { state.runs[$0] }.map { (key, $0) }
        }
        switch Int.random(in: 0..<18, using: &random) {
        case 11, 12, 13:
            guard let (node, offered) = active.first(where: { $0.1.state == .offered }) else { return nil }
            let accept = Int.random(in: 0..<5, using: &random) > 0
            return .envelope(try SignedEnvelope.sign(OfferResponse(runId: offered.id, accept: accept), kind: .respondOffer, by: node))
        case 14, 15, 16:
            guard let (node, running) = active.first(where: { $0.1.state == .running }) else { return nil }
            // Two possible outputs, so replicas sometimes disagree and an arbiter decides.
            let text = Bool.random(using: &random) ? "a" : "b"
            let output = [OutputFile(path: "o", sha256: Digest.sha256Hex(text), sizeBytes: 1)]
            return .envelope(try SignedEnvelope.sign(RunReport(runId: running.id, exitCode: 0, outputs: output, durationMs: 1_000), kind: .reportResult, by: node))
        case 0: return try sign(TokenTransfer(to: other.address, amountMicro: amount), .transfer)
        case 1, 2: return try sign(StakeRequest(action: .bond, amountMicro: amount), .stake)
        case 3: return try sign(StakeRequest(action: .unbond, amountMicro: amount / 2), .stake)
        case 4: return try sign(StakeRequest(action: .withdraw, amountMicro: 0), .stake)
        case 5:
            let spec = JobSpec(
                name: "p", command: "true", taskCount: 1, resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: max(amount, 1), maxDurationS: 60,
                verification: .init(policy: .replicate, samplePpm: Bool.random(using: &random) ? 1_000_000 : 0)
            )
            return try sign(JobSubmission(spec: spec), .submitJob)
        case 6:
            guard let job = state.jobOrder.randomElement(using: &random) else { return nil }
            return try sign(JobCancellation(jobId: job), .cancelJob)
        case 7:
            let names = ["feeBps", "economy.emissionMicroPerEpoch", "economy.workShareBps", "economy.stakeCpuMicro", "nonsense"]
            let change = GovernanceProposal.Change(name: names.randomElement(using: &random)!, value: Int64.random(in: -100...20_000, using: &random))
            let grants = Bool.random(using: &random) ? [GovernanceProposal.Grant(to: other.address, amountMicro: max(amount, 1))] : []
            let epoch = Governance.earliestEffectiveEpoch(currentEpoch: state.epoch, policy: state.parameters.economy) + Int.random(in: -1...2, using: &random)
            return try sign(GovernanceProposal(title: "p", rationale: "", changes: [change], grants: grants, effectiveEpoch: epoch), .propose)
        case 8, 9:
            let id = state.governance.order.randomElement(using: &random) ?? "proposal-1"
            return try sign(GovernanceVote(proposalId: id, choice: GovernanceVote.Choice.allCases.randomElement(using: &random)!), .vote)
        default:
            return nil
        }
    }

    @Test(.compute) func theEconomyConservesReplaysAndRefusesCleanly() async throws {
        await propertyCheck(count: 60, input: Gen.uint64().array(of: 1...150)) { seeds in
            do {
                var state = try Self.genesis()
                var accepted: [(LogEvent, Int64)] = []
                var nowMs: Int64 = 0
                for seed in seeds {
                    nowMs += Int64(seed % 500)
                    if let event = try Self.step(seed, in: state) {
                        let before = state
                        do {
                            try state.apply(event, atMs: nowMs)
                            accepted.append((event, nowMs))
                        } catch is CrucibleError {
                            #expect(state.ledger == before.ledger && state.governance == before.governance && state.epoch == before.epoch)
                        }
                    } else {
                        // Time passes; the scheduler closes epochs, tallies votes and settles whatever is due.
                        nowMs += Int64(seed % 4_000)
                        var generator = SplitMix64(seed: seed)
                        let online = Set(Self.nodeKeys.map(\.address))
                        while let decision = Scheduler(nowMs: nowMs, onlineNodes: online, lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator) {
                            try state.apply(decision, atMs: nowMs)
                            accepted.append((decision, nowMs))
                            // The same decision again is refused: nothing is paid, minted or tallied twice.
                            var twice = state
                            #expect(throws: CrucibleError.self) { try twice.apply(decision, atMs: nowMs) }
                        }
                    }
                    try state.ledger.checkConservation()
                    #expect(state.ledger.balances.values.allSatisfy { $0 >= 0 })
                }
                var replayed = try Self.genesis()
                for (event, atMs) in accepted { try replayed.apply(event, atMs: atMs) }
                #expect(replayed.projectionSnapshot() == state.projectionSnapshot())
                #expect(replayed.governance == state.governance && replayed.parameters == state.parameters)
            } catch {
                Issue.record("a step threw outside a refusal: \(error)")
            }
        }
    }
}
