import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation
import Testing

/// Proof of GPU in the state machine, with time under the test's control: issue, start, commit, query, open,
/// verdict, the time-outs, and who may be matched.
@Suite struct ChallengeStateTests {
    let coordinator = SigningIdentity()
    let requester = SigningIdentity()
    let operatorA = SigningIdentity()
    /// 4 claimed cores: 0.004 TOPS; 8 products of 64×64 (4.2e6 operations): a 5 ms deadline, a 2.6 ms floor.
    let policy = ChallengePolicy(
        gpuN: 64, cpuN: 64, targetMs: 100, slackPercent: 400, floorBps: 4_000, openings: 4, entriesPerRow: 4,
        roundTripMaxMs: 50, startTimeoutMs: 1_000, openTimeoutMs: 1_000, meanIntervalMs: 100_000, retryMs: 5_000, matricesMax: 8
    )
    var seeds: ChallengeSeeds { ChallengeSeeds(identity: coordinator) }

    /// Stake is left out unless a test is about it (EconomyStateTests covers it on its own).
    func genesis(economy: EconomyPolicy = .none, allocations: [LedgerEvent.Allocation] = []) throws -> NetworkState {
        var state = NetworkState()
        try state.apply(.genesis(.init(coordinator: coordinator.address, parameters: NetworkParameters(challenges: policy, economy: economy), allocations: [
            .init(address: requester.address, amountMicro: 100_000_000),
        ] + allocations)), atMs: 0)
        return state
    }

    static let cpu = HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l")

    static func gpus(_ models: [String?], uuids: [String]) -> HardwareProfile {
        HardwareProfile(
            gpus: zip(models, uuids).enumerated().map { .init(index: $0.offset, uuid: $0.element.1, name: "g", memoryMiB: 16_000, driverVersion: "1", model: $0.element.0) },
            cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"
        )
    }

    @discardableResult
    func register(_ node: SigningIdentity, _ hardware: HardwareProfile = cpu, in state: inout NetworkState, atMs: Int64 = 0) throws -> NodeRecord {
        let registration = NodeRegistration.authorized(
            node: node.address, by: operatorA, hardware: hardware, policy: AgentPolicy(askMicroPerCpuCoreHour: 1_000_000), region: "r", agentVersion: "t"
        )
        try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: atMs)
        return state.nodes[node.address]!
    }

    func decide(_ state: NetworkState, atMs: Int64, online: [SigningIdentity], due: Set<String> = []) -> LogEvent? {
        var generator = SystemRandomNumberGenerator()
        return Scheduler(nowMs: atMs, onlineNodes: Set(online.map(\.address)), lastHeartbeatMs: [:], challengeDue: due, seeds: seeds)
            .nextDecision(in: state, using: &generator)
    }

    func commitment(_ record: ChallengeRecord, _ roots: [Data]) throws -> LogEvent {
        .envelope(try SignedEnvelope.sign(ChallengeCommitment(challengeId: record.id, roots: roots.map(\.hexString)), kind: .commitChallenge, by: node))
    }

    let node = SigningIdentity()

    /// Issues the registration challenge to `node`, starts it at 10 ms and returns the honest solutions.
    func issueAndStart(_ state: inout NetworkState) throws -> (ChallengeRecord, [CPUChallengeSolver.Solution]) {
        let issue = try #require(decide(state, atMs: 1, online: [node]))
        guard case .challengesIssued(let issues) = issue else { Issue.record("expected a challenge, got \(issue.typeName)"); throw CancellationError() }
        #expect(issues.map(\.reason) == [.registration])
        try state.apply(issue, atMs: 1)
        let id = issues[0].challengeId
        try state.apply(.challengeStarted(challengeId: id, roundTripMs: 0), atMs: 10)
        let record = try state.challenge(id)
        let solutions = try seeds.seeds(for: record.issue).enumerated().map { CPUChallengeSolver.solve(try record.challenge(device: $0.offset, seed: $0.element)) }
        return (record, solutions)
    }

    @Test func anHonestNodeIsProvenStepByStepAndOnlyThenMatched() throws {
        var state = try genesis()
        try register(node, in: &state)
        #expect(state.nodes[node.address]?.proof.status == .pending)
        let spec = JobSpec(name: "t", command: "true", taskCount: 1, resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 60)
        try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: 1)

        let (record, solutions) = try issueAndStart(&state)
        #expect(record.issue.devices.map(\.model) == ["cpu"] && record.issue.devices[0].m == 8 && record.issue.budgetMs == 5)
        #expect(record.deadlineMs == 15)
        // While the challenge is open the node gets no work.
        #expect(decide(state, atMs: 11, online: [node]) == nil)

        try state.apply(try commitment(record, solutions.map(\.root)), atMs: 12)
        let query = try #require(decide(state, atMs: 12, online: [node]))
        guard case .challengeQueried(_, let queries) = query else { Issue.record("expected queries, got \(query.typeName)"); return }
        try state.apply(query, atMs: 12)
        let openings = zip(solutions, queries).map { solution, list in list.map { solution.open(t: $0.t, i: $0.i) } }
        let openedEnvelope = try SignedEnvelope.sign(ChallengeOpenings(challengeId: record.id, openingsSha256: Digest.sha256Hex("x")), kind: .openChallenge, by: node)
        try state.apply(.envelope(openedEnvelope), atMs: 20)
        var generator = SystemRandomNumberGenerator()
        let verdict = ChallengeJudge.judge(openings, of: try state.challenge(record.id), seeds: seeds.seeds(for: record.issue), entriesPerRow: 4, using: &generator)
        #expect(verdict.passed, "\(verdict.reason ?? "")")
        #expect(verdict.computeMs == 2 && verdict.checks.map(\.count) == [4] && verdict.checks[0].allSatisfy { $0.columns.count == 4 })
        try state.apply(.challengeJudged(verdict), atMs: 20)

        let proof = try #require(state.nodes[node.address]?.proof)
        #expect(proof.status == .proven && proof.passed == 1 && proof.openChallengeId == nil)
        #expect(abs(proof.provenTops - 8 * 2 * 64 * 64 * 64 / 0.002 / 1e12) < 1e-9)
        // Now, and only now, the queued run is offered to it.
        guard case .offer(_, let nodeId, _, _, _) = decide(state, atMs: 21, online: [node]) else { Issue.record("expected an offer"); return }
        #expect(nodeId == node.address)
    }

    @Test(arguments: [(Int64(4), "below the floor"), (Int64(6), "late")])
    func aSlowOrLateCommitmentFails(commitOffsetMs: Int64, reason: String) throws {
        var state = try genesis()
        try register(node, in: &state)
        let (record, solutions) = try issueAndStart(&state)
        try state.apply(try commitment(record, solutions.map(\.root)), atMs: 10 + commitOffsetMs)
        guard case .challengeJudged(let verdict) = decide(state, atMs: 10 + commitOffsetMs, online: [node]) else { Issue.record("expected a verdict"); return }
        #expect(!verdict.passed && verdict.reason?.contains(reason) == true)
        // The seeds are revealed, and they are the ones fixed at issue.
        #expect(zip(verdict.seeds, record.issue.devices).allSatisfy { Digest.sha256Hex(Data(hexString: $0.0)!) == $0.1.seedSha256 })
        try state.apply(.challengeJudged(verdict), atMs: 10 + commitOffsetMs)
        #expect(state.nodes[node.address]?.proof.status == .failed)
        #expect(state.nodes[node.address].map(state.isMatchable) == false)
    }

    @Test func unansweredChallengesTimeOut() throws {
        var state = try genesis()
        try register(node, in: &state)
        try state.apply(try #require(decide(state, atMs: 0, online: [node])), atMs: 0)
        #expect(decide(state, atMs: 1_000, online: [node]) == nil)
        guard case .challengeJudged(let unstarted) = decide(state, atMs: 1_001, online: [node]) else { Issue.record("expected a verdict"); return }
        #expect(unstarted.reason?.contains("did not fetch") == true)

        var started = try genesis()
        try register(node, in: &started)
        let (record, _) = try issueAndStart(&started)
        #expect(decide(started, atMs: 15, online: [node]) == nil)
        guard case .challengeJudged(let silent) = decide(started, atMs: 16, online: [node]) else { Issue.record("expected a verdict"); return }
        #expect(silent.challengeId == record.id && silent.reason?.contains("no commitment") == true)
    }

    @Test func unknownModelsAreListedUnverifiedAndNeverChallengedOrMatched() throws {
        var state = try genesis()
        let record = try register(node, Self.gpus([nil], uuids: ["GPU-x"]), in: &state)
        #expect(record.proof.status == .unverified && !state.isMatchable(record))
        #expect(decide(state, atMs: 1, online: [node]) == nil)
        // A model the catalog knows, claimed later, makes it pending.
        #expect(try register(node, Self.gpus(["T4"], uuids: ["GPU-x"]), in: &state, atMs: 2).proof.status == .pending)
    }

    @Test func nodesReportingTheSameGPUAreChallengedAtTheSameInstant() throws {
        var state = try genesis()
        let twin = SigningIdentity()
        let other = SigningIdentity()
        try register(node, Self.gpus(["T4", "T4"], uuids: ["GPU-1", "GPU-2"]), in: &state)
        try register(twin, Self.gpus(["T4"], uuids: ["GPU-2"]), in: &state)
        try register(other, Self.gpus(["T4"], uuids: ["GPU-3"]), in: &state)
        let first = try #require(decide(state, atMs: 5, online: [node, twin]))
        guard case .challengesIssued(let issues) = first else { Issue.record("expected challenges"); return }
        let expectedPair = [node.address, twin.address].sorted()
        #expect(Set(issues.map(\.nodeId)) == Set(expectedPair))
        #expect(issues.count == 2 && issues.contains { $0.reason == .duplicate })
        // One device per claimed GPU, each with its own seed.
        let mine = try #require(issues.first { $0.nodeId == node.address })
        #expect(mine.devices.map(\.gpuUuid) == ["GPU-1", "GPU-2"] && Set(mine.devices.map(\.seedSha256)).count == 2)
        try state.apply(first, atMs: 5)
        #expect(state.challenges.values.allSatisfy { $0.issuedMs == 5 })
        guard case .challengesIssued(let alone) = decide(state, atMs: 6, online: [node, twin, other]) else { Issue.record("expected a challenge"); return }
        #expect(alone.map(\.nodeId) == [other.address])
    }

    @Test func badChallengeInputsAreRefusedAndChangeNothing() throws {
        var state = try genesis()
        try register(node, in: &state)
        let stranger = SigningIdentity()
        try register(stranger, in: &state)
        let issue = try #require(decide(state, atMs: 1, online: [node]))
        try state.apply(issue, atMs: 1)
        guard case .challengesIssued(let issues) = issue else { return }
        let record = try state.challenge(issues[0].challengeId)
        let root = Data(repeating: 1, count: 32).hexString
        func expectRefused(_ code: CrucibleError.Code, _ event: LogEvent, atMs: Int64 = 12) throws {
            let before = try state.challenge(record.id)
            #expect { try state.apply(event, atMs: atMs) } throws: { ($0 as? CrucibleError)?.code == code }
            #expect(try state.challenge(record.id) == before)
        }
        // Committing before fetching the seeds.
        try expectRefused(.conflict, try commitment(record, [Data(repeating: 1, count: 32)]))
        // A round trip credited beyond the cap; then the real start, which happens once.
        try expectRefused(.malformed, .challengeStarted(challengeId: record.id, roundTripMs: policy.roundTripMaxMs + 1))
        try state.apply(.challengeStarted(challengeId: record.id, roundTripMs: 0), atMs: 10)
        try expectRefused(.conflict, .challengeStarted(challengeId: record.id, roundTripMs: 0))
        try expectRefused(.forbidden, .envelope(try SignedEnvelope.sign(ChallengeCommitment(challengeId: record.id, roots: [root]), kind: .commitChallenge, by: stranger)))
        try expectRefused(.malformed, .envelope(try SignedEnvelope.sign(ChallengeCommitment(challengeId: record.id, roots: [root, root]), kind: .commitChallenge, by: node)))
        try expectRefused(.malformed, .envelope(try SignedEnvelope.sign(ChallengeCommitment(challengeId: record.id, roots: ["zz"]), kind: .commitChallenge, by: node)))
        try expectRefused(.notFound, .envelope(try SignedEnvelope.sign(ChallengeCommitment(challengeId: "challenge-9", roots: [root]), kind: .commitChallenge, by: node)))
        // Openings before any query; a verdict whose seeds are not the ones fixed at issue.
        try expectRefused(.conflict, .envelope(try SignedEnvelope.sign(ChallengeOpenings(challengeId: record.id, openingsSha256: root), kind: .openChallenge, by: node)))
        try expectRefused(.malformed, .challengeJudged(ChallengeVerdict(
            challengeId: record.id, nodeId: node.address, passed: false, reason: "x", computeMs: nil, deviceTops: [], checks: [], seeds: [root]
        )))
        // A pass needs opened rows.
        try expectRefused(.malformed, .challengeJudged(ChallengeVerdict(
            challengeId: record.id, nodeId: node.address, passed: true, reason: nil, computeMs: 1, deviceTops: [1], checks: [],
            seeds: seeds.seeds(for: record.issue).map(\.hexString)
        )))
        // Openings after their time-out.
        try state.apply(try commitment(record, [Data(repeating: 1, count: 32)]), atMs: 12)
        try state.apply(.challengeQueried(challengeId: record.id, queries: [(0..<4).map { _ in .init(t: 0, i: 0) }]), atMs: 12)
        try expectRefused(.offerExpired, .envelope(try SignedEnvelope.sign(ChallengeOpenings(challengeId: record.id, openingsSha256: root), kind: .openChallenge, by: node)), atMs: 1_013)
    }

    @Test func tamperedOrBorrowedAnswersFailTheJudge() throws {
        for attack in ["garbage root, true rows", "rows of an earlier seed", "one wrong entry"] {
            var state = try genesis()
            try register(node, in: &state)
            let (record, honest) = try issueAndStart(&state)
            var solutions = honest
            if attack == "rows of an earlier seed" {
                solutions = [CPUChallengeSolver.solve(try GPUChallenge(seed: Data(repeating: 7, count: 32), n: 64, m: 8))]
            }
            let roots = attack == "garbage root, true rows" ? [Data(repeating: 0xab, count: 32)] : solutions.map(\.root)
            try state.apply(try commitment(record, roots), atMs: 12)
            guard case .challengeQueried(_, let queries) = decide(state, atMs: 12, online: [node]) else { Issue.record("expected queries"); return }
            try state.apply(.challengeQueried(challengeId: record.id, queries: queries), atMs: 12)
            var openings = zip(solutions, queries).map { solution, list in list.map { solution.open(t: $0.t, i: $0.i) } }
            if attack == "one wrong entry" {
                // Every entry of the first opened row off by one: the row no longer hashes to its committed leaf.
                openings[0][0].row = openings[0][0].row.map { $0 &+ 1 }
            }
            try state.apply(.envelope(try SignedEnvelope.sign(ChallengeOpenings(challengeId: record.id, openingsSha256: Digest.sha256Hex(attack)), kind: .openChallenge, by: node)), atMs: 20)
            var generator = SystemRandomNumberGenerator()
            let verdict = ChallengeJudge.judge(openings, of: try state.challenge(record.id), seeds: seeds.seeds(for: record.issue), entriesPerRow: 4, using: &generator)
            #expect(!verdict.passed, "\(attack) passed")
        }
    }

    @Test func theAuditRechecksEveryVerdictAndCatchesAForgedOne() throws {
        var state = try genesis()
        try register(node, in: &state)
        let (record, solutions) = try issueAndStart(&state)
        try state.apply(try commitment(record, solutions.map(\.root)), atMs: 12)
        guard case .challengeQueried(_, let queries) = decide(state, atMs: 12, online: [node]) else { Issue.record("expected queries"); return }
        try state.apply(.challengeQueried(challengeId: record.id, queries: queries), atMs: 12)
        try state.apply(.envelope(try SignedEnvelope.sign(ChallengeOpenings(challengeId: record.id, openingsSha256: Digest.sha256Hex("o")), kind: .openChallenge, by: node)), atMs: 13)
        let honest = zip(solutions, queries).map { solution, list in list.map { solution.open(t: $0.t, i: $0.i) } }
        var generator = SystemRandomNumberGenerator()
        let verdict = ChallengeJudge.judge(honest, of: try state.challenge(record.id), seeds: seeds.seeds(for: record.issue), entriesPerRow: 4, using: &generator)

        // The honest verdict holds on recheck; a coordinator that failed the honest node, or passed forged rows, is caught.
        var judged = state
        try judged.apply(.challengeJudged(verdict), atMs: 13)
        #expect(ChallengeJudge.recheck(try judged.challenge(record.id), openings: honest, policy: policy) == nil)
        var unfair = verdict
        unfair.passed = false
        unfair.reason = "made up"
        var framed = state
        try framed.apply(.challengeJudged(unfair), atMs: 13)
        #expect(ChallengeJudge.recheck(try framed.challenge(record.id), openings: honest, policy: policy)?.contains("every recomputed entry matches") == true)
        var forged = honest
        forged[0][0].row[verdict.checks[0][0].columns[0]] &+= 1
        #expect(ChallengeJudge.recheck(try judged.challenge(record.id), openings: forged, policy: policy) != nil)
        var inflated = verdict
        inflated.deviceTops = [inflated.deviceTops[0] * 2]
        var boasted = state
        try boasted.apply(.challengeJudged(inflated), atMs: 13)
        #expect(ChallengeJudge.recheck(try boasted.challenge(record.id), openings: honest, policy: policy)?.contains("TOPS") == true)
    }

    @Test func provenIdleNodesAreRechallengedWhenDueAndFailedOnesAfterTheRetryWait() throws {
        var state = try genesis()
        try register(node, in: &state)
        let (record, _) = try issueAndStart(&state)
        guard case .challengeJudged(let failed) = decide(state, atMs: 16, online: [node]) else { Issue.record("expected a verdict"); return }
        try state.apply(.challengeJudged(failed), atMs: 16)
        #expect(record.id == failed.challengeId)
        #expect(decide(state, atMs: 16 + policy.retryMs - 1, online: [node]) == nil)
        guard case .challengesIssued(let retry) = decide(state, atMs: 16 + policy.retryMs, online: [node]) else { Issue.record("expected a retry"); return }
        #expect(retry.map(\.reason) == [.retry])

        // A proven node: challenged only when the coordinator's draw says it is due.
        var proven = try genesis()
        try register(node, in: &proven)
        let (again, solutions) = try issueAndStart(&proven)
        try proven.apply(try commitment(again, solutions.map(\.root)), atMs: 12)
        guard case .challengeQueried(_, let queries) = decide(proven, atMs: 12, online: [node]) else { return }
        try proven.apply(.challengeQueried(challengeId: again.id, queries: queries), atMs: 12)
        try proven.apply(.envelope(try SignedEnvelope.sign(ChallengeOpenings(challengeId: again.id, openingsSha256: Digest.sha256Hex("o")), kind: .openChallenge, by: node)), atMs: 13)
        var generator = SystemRandomNumberGenerator()
        let openings = zip(solutions, queries).map { solution, list in list.map { solution.open(t: $0.t, i: $0.i) } }
        try proven.apply(.challengeJudged(ChallengeJudge.judge(openings, of: try proven.challenge(again.id), seeds: seeds.seeds(for: again.issue), entriesPerRow: 4, using: &generator)), atMs: 13)
        #expect(proven.nodes[node.address]?.proof.status == .proven)
        #expect(decide(proven, atMs: 1_000_000, online: [node]) == nil)
        guard case .challengesIssued(let scheduled) = decide(proven, atMs: 1_000_000, online: [node], due: [node.address]) else { Issue.record("expected a re-challenge"); return }
        #expect(scheduled.map(\.reason) == [.scheduled])
    }

    /// Runs one challenge of `node` from issue to verdict starting at `atMs`, answered honestly or with one forged row.
    @discardableResult
    func answerChallenge(_ state: inout NetworkState, atMs t: Int64, due: Bool, forge: Bool = false) throws -> ChallengeVerdict {
        guard case .challengesIssued(let issues) = decide(state, atMs: t, online: [node], due: due ? [node.address] : []) else {
            Issue.record("expected a challenge")
            throw CancellationError()
        }
        try state.apply(.challengesIssued(issues), atMs: t)
        let id = issues[0].challengeId
        try state.apply(.challengeStarted(challengeId: id, roundTripMs: 0), atMs: t + 1)
        let record = try state.challenge(id)
        let solutions = try seeds.seeds(for: record.issue).enumerated().map { CPUChallengeSolver.solve(try record.challenge(device: $0.offset, seed: $0.element)) }
        try state.apply(try commitment(record, solutions.map(\.root)), atMs: t + 2)
        guard case .challengeQueried(_, let queries) = decide(state, atMs: t + 2, online: [node]) else { Issue.record("expected queries"); throw CancellationError() }
        try state.apply(.challengeQueried(challengeId: id, queries: queries), atMs: t + 2)
        var openings = zip(solutions, queries).map { solution, list in list.map { solution.open(t: $0.t, i: $0.i) } }
        if forge { openings[0][0].row = openings[0][0].row.map { $0 &+ 1 } }
        try state.apply(.envelope(try SignedEnvelope.sign(ChallengeOpenings(challengeId: id, openingsSha256: Digest.sha256Hex("\(t)")), kind: .openChallenge, by: node)), atMs: t + 3)
        var generator = SystemRandomNumberGenerator()
        let verdict = ChallengeJudge.judge(openings, of: try state.challenge(id), seeds: seeds.seeds(for: record.issue), entriesPerRow: 4, using: &generator)
        try state.apply(.challengeJudged(verdict), atMs: t + 3)
        return verdict
    }

    func bond(_ amountMicro: Int64, _ state: inout NetworkState, atMs: Int64 = 0) throws {
        try state.apply(.envelope(try SignedEnvelope.sign(StakeRequest(action: .bond, amountMicro: amountMicro), kind: .stake, by: operatorA)), atMs: atMs)
    }

    @Test func forgedOpeningsProveSpoofingAndCostTheStake() throws {
        let economy = EconomyPolicy(stakeCpuMicro: 10 * Amount.microPerCRU, slashTreasuryBps: 2_000)
        var state = try genesis(economy: economy, allocations: [.init(address: operatorA.address, amountMicro: 100 * Amount.microPerCRU)])
        try bond(50 * Amount.microPerCRU, &state)
        try register(node, in: &state)
        let verdict = try answerChallenge(&state, atMs: 1, due: false, forge: true)
        #expect(!verdict.passed)
        // All of it, the governed spoof share: a fifth to the treasury, the rest burned; the evidence is the challenge.
        #expect(state.ledger.stake(of: operatorA.address) == 0)
        #expect(state.ledger.treasuryMicro == 10 * Amount.microPerCRU && state.ledger.burnedMicro == 40 * Amount.microPerCRU)
        let slash = try #require(state.slashes.first)
        #expect(slash.reason == .spoofedHardware && slash.evidence == verdict.challengeId && slash.nodeId == node.address && slash.amountMicro == 50 * Amount.microPerCRU)
        try state.ledger.checkConservation()
        // The explorer counts it: one spoofer caught, failing its proof.
        let figures = NetworkFigures.verification(in: state)
        #expect(figures.spoofersCaught == 1 && figures.nodesFailingProof == 1)
        // Slowness is not spoofing: a late commitment fails the node without touching its stake.
        var slow = try genesis(economy: economy, allocations: [.init(address: operatorA.address, amountMicro: 100 * Amount.microPerCRU)])
        try bond(50 * Amount.microPerCRU, &slow)
        try register(node, in: &slow)
        let (record, _) = try issueAndStart(&slow)
        guard case .challengeJudged(let late) = decide(slow, atMs: 16, online: [node]) else { Issue.record("expected a verdict"); return }
        try slow.apply(.challengeJudged(late), atMs: 16)
        #expect(late.challengeId == record.id && !late.passed)
        #expect(slow.ledger.stake(of: operatorA.address) == 50 * Amount.microPerCRU && slow.slashes.isEmpty)
    }

    @Test func unannouncedPassesEarnTheAvailabilityPoolAndRegistrationPassesDoNot() throws {
        let economy = EconomyPolicy(stakeCpuMicro: 10 * Amount.microPerCRU, epochMs: 600_000, emissionMicroPerEpoch: 1_000 * Amount.microPerCRU)
        var state = try genesis(economy: economy, allocations: [.init(address: operatorA.address, amountMicro: 100 * Amount.microPerCRU)])
        try bond(10 * Amount.microPerCRU, &state)
        try register(node, in: &state)
        #expect(try answerChallenge(&state, atMs: 1, due: false).passed)
        #expect(state.epochAvailability.isEmpty)
        let scheduled = try answerChallenge(&state, atMs: 1_000, due: true)
        #expect(scheduled.passed)
        // One pass stands for the mean interval of proven idle capacity: 100 s × the node's proven milli-TOPS.
        let milliTops = Int64((scheduled.deviceTops.reduce(0, +) * 1000).rounded())
        #expect(state.epochAvailability[operatorA.address] == policy.meanIntervalMs * milliTops / 1000)

        // The epoch closes at its end, not before; the only earner takes the availability pool, the treasury its tenth,
        // and the work pool nobody earned is not minted.
        #expect(decide(state, atMs: 599_999, online: []) == nil)
        guard case .epochClosed(let close) = decide(state, atMs: 600_000, online: []) else { Issue.record("expected the epoch to close"); return }
        var tampered = close
        tampered.emission.shares[0].availabilityMicro += 1
        var copy = state
        #expect(throws: CrucibleError.self) { try copy.apply(.epochClosed(tampered), atMs: 600_000) }
        let before = state.ledger.balance(of: operatorA.address)
        try state.apply(.epochClosed(close), atMs: 600_000)
        #expect(state.ledger.balance(of: operatorA.address) - before == 300 * Amount.microPerCRU)
        #expect(state.ledger.treasuryMicro == 100 * Amount.microPerCRU && state.ledger.mintedMicro == 400 * Amount.microPerCRU)
        #expect(state.epoch == 1 && state.epochStartMs == 600_000 && state.epochAvailability.isEmpty)
        #expect(state.epochs.first?.netSupplyChangeMicro == 400 * Amount.microPerCRU)
        // Closing the same epoch twice is impossible.
        #expect(throws: CrucibleError.self) { try state.apply(.epochClosed(close), atMs: 1_200_000) }
        try state.ledger.checkConservation()
    }

    @Test func verifiedWorkWeighsTimeUnitsAndProvenThroughput() throws {
        let economy = EconomyPolicy(stakeCpuMicro: 10 * Amount.microPerCRU)
        var state = try genesis(economy: economy, allocations: [.init(address: operatorA.address, amountMicro: 100 * Amount.microPerCRU)])
        try bond(10 * Amount.microPerCRU, &state)
        try register(node, in: &state)
        let verdict = try answerChallenge(&state, atMs: 1, due: false)
        let spec = JobSpec(name: "t", command: "true", taskCount: 1, resources: .init(cpuCores: 2), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 60,
                           verification: .init(policy: .none, samplePpm: 0))
        let jobId = try #require(try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: 100).jobId)
        guard case .offer(let runId, _, let price, let deadline, _) = decide(state, atMs: 100, online: [node]) else { Issue.record("expected an offer"); return }
        try state.apply(.offer(runId: runId, nodeId: node.address, priceMicroPerUnitHour: price, deadlineMs: deadline), atMs: 100)
        try state.apply(.envelope(try SignedEnvelope.sign(OfferResponse(runId: runId, accept: true), kind: .respondOffer, by: node)), atMs: 100)
        let output = [OutputFile(path: "o", sha256: Digest.sha256Hex("x"), sizeBytes: 1)]
        try state.apply(.envelope(try SignedEnvelope.sign(RunReport(runId: runId, exitCode: 0, outputs: output, durationMs: 30_000), kind: .reportResult, by: node)), atMs: 30_100)
        while let decision = decide(state, atMs: 30_101, online: [node]) { try state.apply(decision, atMs: 30_101) }
        #expect(try state.job(jobId).state == .settled)
        // Two of the node's four cores for 30 s at its proven throughput per core, in milli-TOPS-seconds.
        let milliTops = Int64((verdict.deviceTops.reduce(0, +) * 1000).rounded())
        #expect(state.epochWork[operatorA.address] == 2 * 30 * (milliTops / 4))
    }

    @Test func challengesOpenAtARestartAreVoidedNotFailed() throws {
        var state = try genesis()
        try register(node, in: &state)
        let (record, _) = try issueAndStart(&state)
        try state.apply(.challengesVoided(challengeIds: [record.id]), atMs: 5_000)
        let proof = try #require(state.nodes[node.address]?.proof)
        #expect(try state.challenge(record.id).state == .voided && state.openChallengeIds.isEmpty)
        #expect(proof.status == .pending && proof.failed == 0 && proof.openChallengeId == nil)
        // Voided once; a closed or unknown challenge cannot be voided, and the node is simply challenged again.
        var copy = state
        #expect(throws: CrucibleError.self) { try copy.apply(.challengesVoided(challengeIds: [record.id]), atMs: 5_001) }
        #expect(throws: CrucibleError.self) { try copy.apply(.challengesVoided(challengeIds: ["challenge-99"]), atMs: 5_001) }
        guard case .challengesIssued(let again) = decide(state, atMs: 5_001, online: [node]) else { Issue.record("expected a fresh challenge"); return }
        #expect(again.map(\.reason) == [.registration] && again[0].challengeId != record.id)
    }
}
