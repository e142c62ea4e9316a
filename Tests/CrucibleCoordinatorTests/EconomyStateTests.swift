import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation
import Testing

/// Stake, epochs and governance as transitions of the network state, with explicit times: no network, no clock.
/// Hardware proof is off so that the economy is the subject (ChallengeStateTests covers slashing for spoofing and
/// availability from challenges).
@Suite struct EconomyStateTests {
    let requester = SigningIdentity()
    let operatorA = SigningIdentity()
    let operatorB = SigningIdentity()
    let nodeA = SigningIdentity()
    let nodeA2 = SigningIdentity()
    let nodeB = SigningIdentity()
    let operatorC = SigningIdentity()
    let nodeC = SigningIdentity()
    static let cru = Amount.microPerCRU
    let economy = EconomyPolicy(
        stakeCpuMicro: 10 * cru, unbondingMs: 1_000_000, epochMs: 3_600_000, emissionMicroPerEpoch: 1_000 * cru,
        quorumBps: 3_000, thresholdBps: 5_000, votingPeriodMs: 600_000, proposalStakeMicro: 10 * cru
    )

    func genesis() throws -> NetworkState {
        var state = NetworkState()
        let parameters = NetworkParameters(challenges: ChallengePolicy(required: false), economy: economy)
        try state.apply(.genesis(.init(coordinator: SigningIdentity().address, parameters: parameters, allocations: [
            .init(address: requester.address, amountMicro: 1_000 * Self.cru),
            .init(address: operatorA.address, amountMicro: 100 * Self.cru),
            .init(address: operatorB.address, amountMicro: 100 * Self.cru),
            .init(address: operatorC.address, amountMicro: 100 * Self.cru),
        ])), atMs: 0)
        for (node, wallet) in [(nodeA, operatorA), (nodeA2, operatorA), (nodeB, operatorB), (nodeC, operatorC)] {
            let registration = NodeRegistration.authorized(
                node: node.address, by: wallet, hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"),
                policy: AgentPolicy(askMicroPerCpuCoreHour: 1_000_000), region: "r", agentVersion: "t"
            )
            try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: 0)
        }
        return state
    }

    func envelope(_ payload: some Encodable, _ kind: EnvelopeKind, _ signer: SigningIdentity) throws -> LogEvent {
        .envelope(try SignedEnvelope.sign(payload, kind: kind, by: signer))
    }

    func stake(_ action: StakeRequest.Action, _ amountMicro: Int64, _ wallet: SigningIdentity, _ state: inout NetworkState, atMs: Int64 = 0) throws {
        try state.apply(try envelope(StakeRequest(action: action, amountMicro: amountMicro), .stake, wallet), atMs: atMs)
    }

    func decide(_ state: NetworkState, atMs: Int64, online: [SigningIdentity]) -> LogEvent? {
        var generator = SystemRandomNumberGenerator()
        return Scheduler(nowMs: atMs, onlineNodes: Set(online.map(\.address)), lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator)
    }

    func submit(_ state: inout NetworkState, atMs: Int64) throws -> String {
        let spec = JobSpec(name: "t", command: "true", taskCount: 1, resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 3600,
                           verification: .init(policy: .none, samplePpm: 0))
        return try #require(try state.apply(try envelope(JobSubmission(spec: spec), .submitJob, requester), atMs: atMs).jobId)
    }

    /// Expects `event` refused with `code`, and the state exactly as it was.
    func expectRefused(_ code: CrucibleError.Code, _ event: LogEvent, _ state: NetworkState, atMs: Int64, sourceLocation: SourceLocation = #_sourceLocation) {
        var copy = state
        do {
            try copy.apply(event, atMs: atMs)
            Issue.record("\(event.typeName) was accepted", sourceLocation: sourceLocation)
        } catch let error as CrucibleError {
            #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
        #expect(copy.projectionSnapshot() == state.projectionSnapshot(), sourceLocation: sourceLocation)
        #expect(copy.ledger == state.ledger, sourceLocation: sourceLocation)
    }

    @Test func onlyStakedNodesAreMatchedInRegistrationOrder() throws {
        var state = try genesis()
        let jobId = try submit(&state, atMs: 1)
        #expect(decide(state, atMs: 2, online: [nodeA, nodeA2, nodeB]) == nil)
        expectRefused(.conflict, .offer(runId: "\(jobId).0.p1", nodeId: nodeA.address, priceMicroPerUnitHour: 1_000_000, deadlineMs: 100), state, atMs: 2)
        // Ten CRU backs operator A's first CPU node, not its second.
        try stake(.bond, 10 * Self.cru, operatorA, &state)
        #expect(state.isStaked(state.nodes[nodeA.address]!) && !state.isStaked(state.nodes[nodeA2.address]!))
        #expect(state.requiredStakeMicro(of: operatorA.address) == 20 * Self.cru)
        guard case .offer(_, let nodeId, _, _, _) = decide(state, atMs: 2, online: [nodeA2, nodeA, nodeB]) else { Issue.record("expected an offer"); return }
        #expect(nodeId == nodeA.address)
    }

    @Test func stakeStaysWhileALeaseIsOpenThenUnbondsAndIsWithdrawnAfterItsPeriod() throws {
        var state = try genesis()
        try stake(.bond, 30 * Self.cru, operatorA, &state)
        let jobId = try submit(&state, atMs: 1)
        let runId = "\(jobId).0.p1"
        try state.apply(try #require(decide(state, atMs: 2, online: [nodeA])), atMs: 2)
        try state.apply(try envelope(OfferResponse(runId: runId, accept: true), .respondOffer, nodeA), atMs: 3)
        let unbond = try envelope(StakeRequest(action: .unbond, amountMicro: 5 * Self.cru), .stake, operatorA)
        expectRefused(.conflict, unbond, state, atMs: 4)
        let output = [OutputFile(path: "o", sha256: Digest.sha256Hex("x"), sizeBytes: 1)]
        try state.apply(try envelope(RunReport(runId: runId, exitCode: 0, outputs: output, durationMs: 1), .reportResult, nodeA), atMs: 5)
        try state.apply(unbond, atMs: 10)
        #expect(state.ledger.stake(of: operatorA.address) == 25 * Self.cru && state.ledger.unbondingAmount(of: operatorA.address) == 5 * Self.cru)
        let withdraw = try envelope(StakeRequest(action: .withdraw, amountMicro: 0), .stake, operatorA)
        expectRefused(.ledgerViolation, withdraw, state, atMs: 10 + economy.unbondingMs - 1)
        try state.apply(withdraw, atMs: 10 + economy.unbondingMs)
        #expect(state.ledger.unbondingAmount(of: operatorA.address) == 0 && state.ledger.balance(of: operatorA.address) == 75 * Self.cru)

        // Bad stake requests: clear refusals, nothing changed.
        for (code, payload) in [
            (CrucibleError.Code.malformed, StakeRequest(action: .withdraw, amountMicro: 5)),
            (.ledgerViolation, StakeRequest(action: .bond, amountMicro: -1)),
            (.ledgerViolation, StakeRequest(action: .bond, amountMicro: 0)),
            (.insufficientFunds, StakeRequest(action: .bond, amountMicro: 76 * Self.cru)),
            (.insufficientFunds, StakeRequest(action: .bond, amountMicro: .max)),
            (.ledgerViolation, StakeRequest(action: .unbond, amountMicro: 26 * Self.cru)),
        ] {
            expectRefused(code, try envelope(payload, .stake, operatorA), state, atMs: 20)
        }
    }

    @Test func workOfUnprovenHardwareMintsNothingWhileItsFeesBurn() throws {
        var state = try genesis()
        try stake(.bond, 10 * Self.cru, operatorA, &state)
        let jobId = try submit(&state, atMs: 1)
        try state.apply(try #require(decide(state, atMs: 2, online: [nodeA])), atMs: 2)
        try state.apply(try envelope(OfferResponse(runId: "\(jobId).0.p1", accept: true), .respondOffer, nodeA), atMs: 3)
        let output = [OutputFile(path: "o", sha256: Digest.sha256Hex("x"), sizeBytes: 1)]
        try state.apply(try envelope(RunReport(runId: "\(jobId).0.p1", exitCode: 0, outputs: output, durationMs: 1), .reportResult, nodeA), atMs: 60_003)
        while let decision = decide(state, atMs: 60_004, online: []) { try state.apply(decision, atMs: 60_004) }
        #expect(try state.job(jobId).state == .settled)
        // Unproven hardware has no score, so its work weighs nothing and mints nothing; the fee still burned.
        #expect(state.epochWork.isEmpty)
        guard case .epochClosed(let close) = decide(state, atMs: economy.epochMs, online: []) else { Issue.record("expected a close"); return }
        try state.apply(.epochClosed(close), atMs: economy.epochMs)
        let record = try #require(state.epochs.first)
        #expect(record.mintedMicro == 100 * Self.cru && record.emission.shares.isEmpty)
        #expect(record.burnedMicro == (try state.job(jobId).burnedMicro) && record.burnedMicro > 0)
    }

    @Test func aProposalPassesByStakeAtItsSnapshotAndTakesEffectAtItsEpoch() throws {
        var state = try genesis()
        try stake(.bond, 40 * Self.cru, operatorA, &state)
        try stake(.bond, 20 * Self.cru, operatorB, &state)
        let earliest = Governance.earliestEffectiveEpoch(currentEpoch: 0, policy: economy)
        #expect(earliest == 2)
        let proposal = GovernanceProposal(
            title: "Cheaper fees", rationale: "grow demand", changes: [.init(name: "feeBps", value: 100)], grants: [], effectiveEpoch: earliest
        )
        try state.apply(try envelope(proposal, .propose, operatorB), atMs: 100)
        let id = try #require(state.governance.order.first)
        // Stake bonded after the snapshot buys no votes; the requester, who staked nothing, has none.
        try stake(.bond, 60 * Self.cru, operatorA, &state, atMs: 101)
        expectRefused(.forbidden, try envelope(GovernanceVote(proposalId: id, choice: .yes), .vote, requester), state, atMs: 102)
        try state.apply(try envelope(GovernanceVote(proposalId: id, choice: .yes), .vote, operatorB), atMs: 102)
        expectRefused(.conflict, try envelope(GovernanceVote(proposalId: id, choice: .no), .vote, operatorB), state, atMs: 103)
        try state.apply(try envelope(GovernanceVote(proposalId: id, choice: .no), .vote, operatorA), atMs: 103)
        #expect(try state.governance.proposal(id).yesMicro == 20 * Self.cru && state.governance.proposal(id).noMicro == 40 * Self.cru)
        // 40 no against 20 yes: rejected. Votes after the period are refused; the tally waits for its end.
        #expect(decide(state, atMs: 100 + economy.votingPeriodMs, online: []) == nil)
        expectRefused(.conflict, try envelope(GovernanceVote(proposalId: id, choice: .yes), .vote, operatorA), state, atMs: 101 + economy.votingPeriodMs)
        guard case .proposalTallied(let tallied) = decide(state, atMs: 101 + economy.votingPeriodMs, online: []) else { Issue.record("expected a tally"); return }
        try state.apply(.proposalTallied(proposalId: tallied), atMs: 101 + economy.votingPeriodMs)
        #expect(try state.governance.proposal(id).status == .rejected)

        // The same proposal again, now that operator A holds most stake, passes and changes the fee from its epoch on.
        try state.apply(try envelope(proposal, .propose, operatorA), atMs: 700_000)
        let second = try #require(state.governance.order.last)
        try state.apply(try envelope(GovernanceVote(proposalId: second, choice: .yes), .vote, operatorA), atMs: 700_001)
        var now: Int64 = 700_002
        for epoch in 0..<earliest {
            now = state.epochEndMs
            while let decision = decide(state, atMs: now, online: []) { try state.apply(decision, atMs: now) }
            #expect(state.epoch == epoch + 1)
            #expect(state.parameters.feeBps == (epoch + 1 < earliest ? 500 : 100))
        }
        #expect(try state.governance.proposal(second).status == .enacted)
        #expect(state.epochs.last?.enacted == [second])
    }

    @Test func badProposalsAreRefusedAndAnUnfundedGrantFailsWithoutChangingAnything() throws {
        var state = try genesis()
        try stake(.bond, 40 * Self.cru, operatorA, &state)
        try stake(.bond, 5 * Self.cru, operatorB, &state)
        let good = GovernanceProposal(title: "t", rationale: "", changes: [.init(name: "feeBps", value: 300)], grants: [], effectiveEpoch: 2)
        func variant(_ change: (inout GovernanceProposal) -> Void) -> GovernanceProposal {
            var proposal = good
            change(&proposal)
            return proposal
        }
        let refusals: [(CrucibleError.Code, GovernanceProposal, SigningIdentity)] = [
            (.forbidden, good, operatorB),
            (.malformed, variant { $0.changes = [.init(name: "feeBps", value: 20_000)] }, operatorA),
            (.malformed, variant { $0.changes = [.init(name: "economy.workShareBps", value: 9_000)] }, operatorA),
            (.malformed, variant { $0.changes = [.init(name: "coordinatorKey", value: 1)] }, operatorA),
            (.malformed, variant { $0.changes = [.init(name: "feeBps", value: 1), .init(name: "feeBps", value: 2)] }, operatorA),
            (.malformed, variant { $0.effectiveEpoch = 1 }, operatorA),
            (.malformed, variant { $0.title = "" }, operatorA),
            (.malformed, variant { $0.changes = []; $0.grants = [] }, operatorA),
            (.malformed, variant { $0.grants = [.init(to: "nobody", amountMicro: 1)] }, operatorA),
            (.malformed, variant { $0.grants = [.init(to: operatorB.address, amountMicro: -1)] }, operatorA),
        ]
        for (code, proposal, proposer) in refusals {
            expectRefused(code, try envelope(proposal, .propose, proposer), state, atMs: 10)
        }
        expectRefused(.notFound, try envelope(GovernanceVote(proposalId: "proposal-9", choice: .yes), .vote, operatorA), state, atMs: 10)

        // A grant larger than the treasury passes the vote but cannot be paid: it fails whole, the fee change with it.
        let grant = variant { $0.grants = [.init(to: operatorB.address, amountMicro: 1_000_000 * Self.cru)] }
        try state.apply(try envelope(grant, .propose, operatorA), atMs: 10)
        let id = try #require(state.governance.order.first)
        try state.apply(try envelope(GovernanceVote(proposalId: id, choice: .yes), .vote, operatorA), atMs: 11)
        for _ in 0..<2 {
            let now = state.epochEndMs
            while let decision = decide(state, atMs: now, online: []) { try state.apply(decision, atMs: now) }
        }
        let record = try state.governance.proposal(id)
        #expect(record.status == .failed && record.note?.contains("treasury") == true)
        #expect(state.parameters.feeBps == 500 && state.ledger.balance(of: operatorB.address) == 95 * Self.cru)
        try state.ledger.checkConservation()
    }

    /// Offers `runId` to `node` (as the scheduler would), which runs it for a minute and writes `text`.
    func run(_ runId: String, on node: SigningIdentity, writing text: String, atMs: Int64, _ state: inout NetworkState) throws {
        let price = state.nodes[node.address]!.registration.policy.askMicroPerCpuCoreHour
        try state.apply(.offer(runId: runId, nodeId: node.address, priceMicroPerUnitHour: price, deadlineMs: atMs + 10_000), atMs: atMs)
        try state.apply(try envelope(OfferResponse(runId: runId, accept: true), .respondOffer, node), atMs: atMs)
        let output = [OutputFile(path: "o", sha256: Digest.sha256Hex(text), sizeBytes: Int64(text.utf8.count))]
        try state.apply(try envelope(RunReport(runId: runId, exitCode: 0, outputs: output, durationMs: 60_000), .reportResult, node), atMs: atMs + 60_000)
    }

    @Test(arguments: [("42", "replica"), ("41", "primary"), ("40", "nobody")])
    func anArbiterDecidesADisagreementAndTheOutvotedOperatorIsSlashed(arbiterWrites: String, loser: String) throws {
        var state = try genesis()
        for (wallet, amount) in [(operatorA, 20), (operatorB, 10), (operatorC, 10)] { try stake(.bond, Int64(amount) * Self.cru, wallet, &state) }
        let spec = JobSpec(name: "t", command: "true", taskCount: 1, resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 3600,
                           verification: .init(policy: .replicate, samplePpm: 1_000_000))
        let jobId = try #require(try state.apply(try envelope(JobSubmission(spec: spec), .submitJob, requester), atMs: 1).jobId)
        try run("\(jobId).0.p1", on: nodeA, writing: "42", atMs: 10, &state)
        try state.apply(.sampled(jobId: jobId, taskIndex: 0, replicate: true), atMs: 60_010)
        try run("\(jobId).0.r1", on: nodeB, writing: "41", atMs: 60_020, &state)
        #expect(decide(state, atMs: 120_030, online: [nodeA, nodeB, nodeC]) == .arbitrationOpened(jobId: jobId, taskIndex: 0))
        try state.apply(.arbitrationOpened(jobId: jobId, taskIndex: 0), atMs: 120_030)
        // Only the third operator's node may take the arbiter run.
        guard case .offer(let arbiterRun, let arbiterNode, _, _, _) = decide(state, atMs: 120_031, online: [nodeA, nodeB, nodeC]) else {
            Issue.record("expected the arbiter run offered")
            return
        }
        #expect(arbiterRun == "\(jobId).0.a1" && arbiterNode == nodeC.address)
        try run(arbiterRun, on: nodeC, writing: arbiterWrites, atMs: 120_040, &state)
        let verdict = try state.expectedVerdict(jobId: jobId, taskIndex: 0)
        let balanceC = state.ledger.balance(of: operatorC.address)
        try state.apply(.verdict(verdict), atMs: 180_100)
        let task = try state.job(jobId).tasks[0]
        switch loser {
        case "nobody":
            // Three different outputs: the dispute stands, nobody is paid or slashed, and no stake may leave meanwhile.
            #expect(verdict.outcome == .disputed && verdict.payments.isEmpty && state.slashes.isEmpty && task.state == .disputed)
            #expect(state.openDisputes[operatorB.address] == 1)
            expectRefused(.conflict, try envelope(StakeRequest(action: .unbond, amountMicro: 1), .stake, operatorB), state, atMs: 180_200)
        default:
            let (winner, outvoted, outvotedOperator) = loser == "replica" ? (nodeA, "\(jobId).0.r1", operatorB) : (nodeB, "\(jobId).0.p1", operatorA)
            #expect(verdict.outcome == .verified && verdict.losingRunId == outvoted)
            #expect(Set(verdict.payments.compactMap { state.runs[$0.runId]?.nodeId }) == [winner.address, nodeC.address])
            // The governed share (10%) of the outvoted operator's stake: half to the arbiter's operator, half burned.
            let staked: Int64 = outvotedOperator.address == operatorA.address ? 20 * Self.cru : 10 * Self.cru
            let slash = try #require(state.slashes.first)
            #expect(slash.reason == .failedWork && slash.evidence == "\(jobId)/0" && slash.amountMicro == staked / 10)
            #expect(state.ledger.stake(of: outvotedOperator.address) == staked - staked / 10)
            let arbiterPay = verdict.payments.first { state.runs[$0.runId]?.nodeId == nodeC.address }!.amountMicro
            #expect(state.ledger.balance(of: operatorC.address) == balanceC + arbiterPay + staked / 20)
            // The task keeps the output the majority agreed on.
            #expect(task.state == .verified && task.digest != nil && task.digest == state.runs[arbiterRun]?.digest)
            #expect(state.openDisputes.isEmpty)
        }
        try state.ledger.checkConservation()
    }
}
