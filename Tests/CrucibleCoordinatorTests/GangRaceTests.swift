import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Testing

/// The race that kept a Ray gang unplaced for five minutes in CI, replayed in the state machine under a clock and an
/// ordering the test controls. A gang member's lease is lost; the other member is cancelled while its node still runs
/// it; the task's next gang must not be offered to nodes still running the old one (they would decline it as busy, the
/// decline would withdraw the gang, and the other member's answer would arrive to a withdrawn offer — round after
/// round while the old runs lingered). Nodes hear of the stop at their next poll and report the run gone; an answer to
/// a withdrawn offer is told so, never taken for an answer to the next offer of the same run.
@Suite struct GangRaceTests {
    let requester = SigningIdentity()
    let operatorA = SigningIdentity()
    let operatorB = SigningIdentity()
    let a = SigningIdentity(), b = SigningIdentity(), c = SigningIdentity()
    let parameters = NetworkParameters(
        offerTimeoutMs: 5_000, leaseTimeoutMs: 4_000, leaseGraceMs: 2_000, attemptsMax: 2, declineCooldownMs: 10_000,
        challenges: ChallengePolicy(required: false), economy: .none
    )

    var online: Set<String> { [a.address, b.address, c.address] }
    var identities: [String: SigningIdentity] { [a.address: a, b.address: b, c.address: c] }

    /// Cluster-ready nodes of their own operators (a and b; c too with `third`), one run at a time each, and a
    /// 2-member gang job queued.
    func network(third: Bool = false) throws -> (state: NetworkState, jobId: String) {
        var state = NetworkState()
        try state.apply(.genesis(.init(coordinator: SigningIdentity().address, parameters: parameters, allocations: [
            .init(address: requester.address, amountMicro: 1_000_000_000),
        ])), atMs: 0)
        let hardware = HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 8_192, os: "l")
        let nodes = third ? [(a, operatorA), (b, operatorB), (c, SigningIdentity())] : [(a, operatorA), (b, operatorB)]
        for (index, (node, wallet)) in nodes.enumerated() {
            let registration = NodeRegistration.authorized(
                node: node.address, by: wallet, hardware: hardware, policy: AgentPolicy(askMicroPerCpuCoreHour: 100_000, maxConcurrentRuns: 1),
                region: "r", agentVersion: "t", peerEndpoint: "10.0.0.\(index + 1):7000"
            )
            try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: 0)
        }
        for (node, _) in nodes {
            let links = nodes.map(\.0).filter { $0.address != node.address }.map { LinkReport.Link(peer: $0.address, roundTripUs: 500, bandwidthMbps: 9_000) }
            try state.apply(.envelope(try SignedEnvelope.sign(LinkReport(links: links), kind: .reportLinks, by: node)), atMs: 1)
        }
        let spec = JobSpec(
            name: "ray", kind: .ray, command: "driver.py", resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 1024),
            maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 300, cluster: .init(nodes: 2, roundTripMsMax: 500)
        )
        let jobId = try #require(try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: 2).jobId)
        return (state, jobId)
    }

    func decide(_ state: NetworkState, atMs: Int64, heartbeats: [String: Int64] = [:]) -> LogEvent? {
        var generator = SplitMix64(seed: 7)
        return Scheduler(nowMs: atMs, onlineNodes: online, lastHeartbeatMs: heartbeats).nextDecision(in: state, using: &generator)
    }

    func answer(_ state: inout NetworkState, _ node: SigningIdentity, _ runId: String, offer: Int?, accept: Bool = true, atMs: Int64) throws {
        let response = OfferResponse(runId: runId, accept: accept, reason: accept ? "" : "already running 1 of 1 runs", peerPort: accept ? 6379 : nil, offer: offer)
        try state.apply(.envelope(try SignedEnvelope.sign(response, kind: .respondOffer, by: node)), atMs: atMs)
    }

    func report(_ state: inout NetworkState, _ node: SigningIdentity, _ runId: String, failure: String? = "stopped: the network ended the run", atMs: Int64) throws {
        let report = RunReport(runId: runId, exitCode: failure == nil ? 0 : 143, outputs: [], durationMs: 1, failure: failure)
        try state.apply(.envelope(try SignedEnvelope.sign(report, kind: .reportResult, by: node)), atMs: atMs)
    }

    /// Applies the scheduler's decisions due at `atMs` until none is left.
    func decideAll(_ state: inout NetworkState, atMs: Int64, heartbeats: [String: Int64] = [:]) throws -> [LogEvent] {
        var made = [LogEvent]()
        while let decision = decide(state, atMs: atMs, heartbeats: heartbeats) {
            try state.apply(decision, atMs: atMs)
            made.append(decision)
        }
        return made
    }

    /// The refusal of `event`, which must change nothing.
    func refusal(of event: LogEvent, _ state: NetworkState, atMs: Int64) -> CrucibleError? {
        var copy = state
        do {
            try copy.apply(event, atMs: atMs)
            return nil
        } catch {
            #expect(copy.runs == state.runs && copy.projectionSnapshot() == state.projectionSnapshot(), "a refusal changes nothing")
            return error as? CrucibleError
        }
    }

    /// Starts the first gang at 10 ms: both members accepted, running on a and b.
    func startedGang(_ state: inout NetworkState) throws -> GangOffer {
        guard case .gangOffer(let offer) = decide(state, atMs: 10) else { throw CrucibleError(.conflict, "no gang offer") }
        try state.apply(.gangOffer(offer), atMs: 10)
        for member in offer.members { try answer(&state, identities[member.nodeId]!, member.runId, offer: 1, atMs: 20) }
        #expect(offer.members.allSatisfy { state.runs[$0.runId]?.state == .running })
        return offer
    }

    /// The first gang started, then its member on one node lost to silence at `lostAt`: the lost member's node, the
    /// other member's (cancelled, still running it) and the node that ran neither.
    func lostMember(_ state: inout NetworkState) throws -> (lostAt: Int64, lost: GangOffer.Member, cancelled: GangOffer.Member, free: String) {
        let first = try startedGang(&state)
        let (lost, cancelled) = (first.members[1], first.members[0])
        // The member on one node stops heartbeating (its agent is slow, not gone); the other's agent heartbeats on.
        let lostAt: Int64 = 20 + parameters.leaseTimeoutMs + 1
        let made = try decideAll(&state, atMs: lostAt, heartbeats: [cancelled.runId: lostAt - 100])
        guard case .runLost(let lostRun, _) = made.first, lostRun == lost.runId else { throw CrucibleError(.conflict, "expected the silent member lost, got \(made)") }
        // Only the loss: the next gang is not offered to the two nodes that may still run the old one, and the third
        // cannot make a gang alone.
        #expect(made.count == 1, "\(made)")
        let free = try #require(online.subtracting([lost.nodeId, cancelled.nodeId]).first)
        return (lostAt, lost, cancelled, free)
    }

    @Test func aGangIsNotOfferedAgainToNodesStillRunningTheOldOneUntilTheyReportItGone() throws {
        var (state, jobId) = try network(third: true)
        let (lostAt, lost, cancelled, free) = try lostMember(&state)
        #expect(state.runs[cancelled.runId]?.state == .cancelled && state.runs[lost.runId]?.state == .lost)
        // Both nodes must stop their member now: it is what their polls carry, and their capacity counts it meanwhile.
        #expect(state.unreleasedRuns(on: cancelled.nodeId, atMs: lostAt).map(\.id) == [cancelled.runId])
        #expect(state.unreleasedRuns(on: lost.nodeId, atMs: lostAt).map(\.id) == [lost.runId])
        #expect(!state.isIdle(cancelled.nodeId, atMs: lostAt) && state.isIdle(free, atMs: lostAt))
        #expect(state.supplyNode(cancelled.nodeId, atMs: lostAt)?.runSlotsFree == 0)
        let next = state.jobs[jobId]!.tasks[0].runIds.compactMap { state.runs[$0] }.filter { $0.attempt == 2 }
        #expect(next.count == 2 && next.allSatisfy { $0.state == .queued })
        // Without the hold the cancelled member's node and the free one would be offered the gang now, and the first
        // would decline it as busy. Until it reports its member gone, nothing is offered.
        #expect(decide(state, atMs: lostAt + 1_000) == nil)

        try report(&state, identities[cancelled.nodeId]!, cancelled.runId, atMs: lostAt + 1_100)
        #expect(state.unreleasedRuns(on: cancelled.nodeId, atMs: lostAt + 1_100).isEmpty && state.isIdle(cancelled.nodeId, atMs: lostAt + 1_100))
        #expect(state.runs[cancelled.runId]?.state == .cancelled && state.runs[cancelled.runId]?.paidMicro == 0)
        // A report of a released run is not taken twice.
        #expect(refusal(of: .envelope(try SignedEnvelope.sign(
            RunReport(runId: cancelled.runId, exitCode: 143, outputs: [], durationMs: 1), kind: .reportResult, by: identities[cancelled.nodeId]!
        )), state, atMs: lostAt + 1_150)?.code == .conflict)
        guard case .gangOffer(let second) = decide(state, atMs: lostAt + 1_200) else { Issue.record("expected the next gang offered"); return }
        #expect(Set(second.members.map(\.runId)) == Set(next.map(\.id)))
        #expect(Set(second.members.map(\.nodeId)) == [cancelled.nodeId, free], "away from the lost member's node")
        try state.apply(.gangOffer(second), atMs: lostAt + 1_200)
        for member in second.members { try answer(&state, identities[member.nodeId]!, member.runId, offer: 1, atMs: lostAt + 1_300) }
        #expect(second.members.allSatisfy { state.runs[$0.runId]?.state == .running })

        // The slow node's late report of its lost member frees it too, and pays nothing.
        try report(&state, identities[lost.nodeId]!, lost.runId, failure: nil, atMs: lostAt + 1_400)
        #expect(state.runs[lost.runId]?.state == .lost && state.runs[lost.runId]?.paidMicro == 0)
        #expect(state.isIdle(lost.nodeId, atMs: lostAt + 1_400))
    }

    @Test func aNodeThatNeverReportsItsStoppedRunIsCountedFreeAfterTheReleaseWait() throws {
        var (state, _) = try network(third: true)
        let (lostAt, _, cancelled, free) = try lostMember(&state)
        #expect(decide(state, atMs: lostAt + parameters.releaseWaitMs - 1) == nil)
        guard case .gangOffer(let offer) = decide(state, atMs: lostAt + parameters.releaseWaitMs) else {
            Issue.record("a node silent for the release wait is taken to have dropped the run")
            return
        }
        #expect(Set(offer.members.map(\.nodeId)) == [cancelled.nodeId, free])
    }

    @Test func anAnswerToAWithdrawnOfferIsToldSoAndNeverTakenForTheNextOffer() throws {
        var (state, _) = try network()
        guard case .gangOffer(let first) = decide(state, atMs: 10) else { Issue.record("expected a gang offer"); return }
        try state.apply(.gangOffer(first), atMs: 10)
        let (decliner, late) = (first.members[0], first.members[1])
        #expect(state.runs[late.runId]?.offers == 1)
        try answer(&state, identities[decliner.nodeId]!, decliner.runId, offer: 1, accept: false, atMs: 20)
        #expect(first.members.allSatisfy { state.runs[$0.runId]?.state == .queued })

        // The other member's acceptance of the withdrawn offer arrives after: told plainly, and nothing changes.
        let lateAnswer = LogEvent.envelope(try SignedEnvelope.sign(
            OfferResponse(runId: late.runId, accept: true, peerPort: 6379, offer: 1), kind: .respondOffer, by: identities[late.nodeId]!
        ))
        let withdrawn = try #require(refusal(of: lateAnswer, state, atMs: 30))
        #expect(withdrawn.code == .offerWithdrawn)
        #expect(withdrawn.message.contains("offer 1 of run \(late.runId)") && withdrawn.message.contains("member 0 declined: already running"), "\(withdrawn.message)")
        // A node the run was never offered to is still refused as such.
        let stranger = SigningIdentity()
        #expect(refusal(of: .envelope(try SignedEnvelope.sign(OfferResponse(runId: late.runId, accept: true, peerPort: 1, offer: 1), kind: .respondOffer, by: stranger)), state, atMs: 30)?.code == .forbidden)

        // After the decliner's cooldown the gang is offered again to the same nodes, as offer 2. The answer to offer 1,
        // arriving only now, is still an answer to the withdrawn offer: it does not accept offer 2.
        let again = parameters.declineCooldownMs + 21
        guard case .gangOffer(let second) = decide(state, atMs: again) else { Issue.record("expected the gang offered again"); return }
        try state.apply(.gangOffer(second), atMs: again)
        let member = try #require(second.members.first { $0.runId == late.runId })
        #expect(state.runs[late.runId]?.offers == 2)
        if member.nodeId == late.nodeId {
            #expect(refusal(of: lateAnswer, state, atMs: again + 1)?.code == .offerWithdrawn)
        }
        #expect(state.runs[late.runId]?.acceptedMs == nil)
        // Answers that name offer 2 — and an older agent's, which names none — are taken.
        for (index, member) in second.members.enumerated() {
            try answer(&state, identities[member.nodeId]!, member.runId, offer: index == 0 ? 2 : nil, atMs: again + 2)
        }
        #expect(second.members.allSatisfy { state.runs[$0.runId]?.state == .running })
    }

    /// Agents as the real one behaves, on a 100 ms clock: each polls every `pollMs` (a poll carries its offers and the
    /// runs to stop), answers an offer `answerMs` later (within the offer's 5 s) — declining when it still runs something — stops a run in
    /// `stopMs` and then reports it, and heartbeats its runs every 300 ms, except that one member's agent falls silent
    /// for a while so that its lease is lost. The third node can take the next gang with the cancelled member's node. Over every combination, the next gang starts and no answer is refused
    /// or declined as busy: there is no round of offers, declines and withdrawals to repeat.
    @Test(arguments: [100, 1_000], [0, 300, 2_000, 3_800])
    func modelAgentsRunTheNextGangWithoutARoundOfRefusals(pollMs: Int64, answerMs: Int64) throws {
        for stopMs: Int64 in [0, 1_000, 5_000] {
            var (state, jobId) = try network(third: true)
            var agents = Dictionary(uniqueKeysWithValues: online.map { ($0, ModelAgent()) })
            var heartbeats = [String: Int64]()
            var refused = [String]()
            var declinedBusy = 0
            var silentNode: String?
            let silence: ClosedRange<Int64> = 6_000...12_000
            var now: Int64 = 0
            while now < 120_000 {
                now += 100
                _ = try decideAll(&state, atMs: now, heartbeats: heartbeats)
                for node in online.sorted() {
                    var agent = agents[node]!
                    let key = identities[node]!
                    // The first gang's rank 1 falls silent.
                    if silentNode == nil, let rank1 = state.jobs[jobId]!.tasks[0].runIds.compactMap({ state.runs[$0] }).first(where: { $0.rank == 1 })?.nodeId {
                        silentNode = rank1
                    }
                    let silent = node == silentNode && silence.contains(now)
                    // Runs whose process has ended are reported; a gang that started is launched.
                    for (runId, end) in agent.stopping where end <= now {
                        agent.stopping[runId] = nil
                        agent.running.remove(runId)
                        do { try report(&state, key, runId, atMs: now) } catch { refused.append("report \(runId): \(error)") }
                    }
                    for run in state.acceptedGangRuns(for: node) where run.state == .running { agent.running.insert(run.id) }
                    if !silent, now % 300 == 0 {
                        for runId in agent.running where state.runs[runId]?.state == .running && state.runs[runId]?.nodeId == node { heartbeats[runId] = now }
                    }
                    // Answers whose time came go out.
                    for pending in agent.answers where pending.atMs <= now {
                        let busy = !agent.running.isEmpty
                        if busy { declinedBusy += 1 }
                        do {
                            try answer(&state, key, pending.runId, offer: pending.offer, accept: !busy, atMs: now)
                        } catch let error as CrucibleError where error.code == .offerWithdrawn {
                            // Told its offer was withdrawn: the one outcome of a race that is expected and harmless.
                        } catch {
                            refused.append("answer \(pending.runId): \(error)")
                        }
                    }
                    agent.answers.removeAll { $0.atMs <= now }
                    if !silent, now % pollMs == 0 {
                        for runId in state.unreleasedRunIdsByNode[node] ?? [] where agent.running.contains(runId) && agent.stopping[runId] == nil {
                            agent.stopping[runId] = now + stopMs
                        }
                        for offer in state.openOffers(for: node, atMs: now) where !agent.answers.contains(where: { $0.runId == offer.id }) {
                            agent.answers.append((offer.id, offer.offers, now + answerMs))
                        }
                    }
                    agents[node] = agent
                }
            }
            let runs = state.jobs[jobId]!.tasks[0].runIds.compactMap { state.runs[$0] }
            let label = "poll \(pollMs) ms, answer \(answerMs) ms, stop \(stopMs) ms"
            #expect(runs.filter { $0.attempt == 1 }.map(\.state).sorted { $0.rawValue < $1.rawValue } == [.cancelled, .lost], "\(label)")
            #expect(runs.filter { $0.attempt == 2 }.allSatisfy { $0.state == .running }, "the next gang runs (\(label)): \(runs.map { "\($0.id) \($0.state) \($0.failure ?? "")" })")
            #expect(refused.isEmpty, "\(label): \(refused)")
            #expect(declinedBusy == 0, "\(label): no offer reached a node still running the old gang")
        }
    }

    /// What a modelled agent holds: runs whose process runs, when each stopping one ends, and answers on their way.
    struct ModelAgent {
        var running: Set<String> = []
        var stopping: [String: Int64] = [:]
        var answers: [(runId: String, offer: Int, atMs: Int64)] = []
    }
}
