import CrucibleCore
import CrucibleLedger
import CrucibleMarket
import CrucibleProof

/// Decides what the coordinator does next, given the state and what only the live coordinator knows (which
/// nodes are online, when each lease last heartbeated). It returns one decision at a time: each is applied
/// and logged before the next is chosen, so later choices see earlier ones.
public struct Scheduler {
    public var nowMs: Int64
    /// Nodes seen recently (polling or heartbeating).
    public var onlineNodes: Set<String>
    /// Last heartbeat per running run; a run missing here counts from its start.
    public var lastHeartbeatMs: [String: Int64]
    /// Proven nodes whose unannounced re-challenge is due (the live coordinator draws the times).
    public var challengeDue: Set<String>
    /// The coordinator's seed source; without it no challenge is issued or judged.
    public var seeds: ChallengeSeeds?
    /// False when the last search for an offer found none and neither the state nor the online nodes changed since.
    public var searchesOffers = true

    public init(nowMs: Int64, onlineNodes: Set<String>, lastHeartbeatMs: [String: Int64], challengeDue: Set<String> = [], seeds: ChallengeSeeds? = nil) {
        self.nowMs = nowMs
        self.onlineNodes = onlineNodes
        self.lastHeartbeatMs = lastHeartbeatMs
        self.challengeDue = challengeDue
        self.seeds = seeds
    }

    public func nextDecision(in state: NetworkState, using generator: inout some RandomNumberGenerator) -> LogEvent? {
        let parameters = state.parameters
        // Time-outs first: they free capacity and put work back in the queue. Only offered and running runs can time out.
        let active = state.activeRunIdsByNode.values.flatMap { $0 }.compactMap { state.runs[$0] }
        for run in active.sorted(by: { $0.ordinal < $1.ordinal }) {
            switch run.state {
            case .offered:
                if let deadline = run.offerDeadlineMs, nowMs > deadline { return .offerLapsed(runId: run.id) }
            case .running:
                let started = run.startedMs ?? nowMs
                let lastSign = max(lastHeartbeatMs[run.id] ?? started, started)
                if nowMs - lastSign > parameters.leaseTimeoutMs {
                    return .runLost(runId: run.id, reason: "no heartbeat for \((nowMs - lastSign) / 1000) s")
                }
                let maxDurationMs = Int64(state.jobs[run.jobId]?.spec.maxDurationS ?? 0) * 1000
                if nowMs - started > maxDurationMs + parameters.leaseGraceMs {
                    return .runLost(runId: run.id, reason: "ran past its time limit without reporting")
                }
            default:
                break
            }
        }
        // Then challenges: their time-outs and verdicts free or bar nodes before any matching.
        if let decision = nextChallengeDecision(in: state, using: &generator) { return decision }
        // Then governance and the epoch: a proposal whose vote is over is tallied before the epoch it may take
        // effect in begins.
        if let proposalId = state.governance.dueForTally(atMs: nowMs).first { return .proposalTallied(proposalId: proposalId) }
        if nowMs >= state.epochEndMs {
            return .epochClosed(EpochClose(epoch: state.epoch, endMs: state.epochEndMs, emission: state.expectedEmission()))
        }
        // Then verification and settlement of finished tasks, and closing finished jobs.
        for key in state.verifyingTasks.sorted() {
            guard let job = state.jobs[key.jobId] else { continue }
            if let due = state.reviewDueMs(job, job.tasks[key.index]), nowMs >= due { return .reviewLapsed(jobId: key.jobId, taskIndex: key.index) }
            if job.tasks[key.index].replicate == nil {
                let replicate = Replication.shouldReplicate(samplePpm: state.samplePpm(of: job, taskIndex: key.index), using: &generator)
                if replicate, let render = job.spec.render {
                    // A render task is checked on tiles of its frame, drawn now that the frame is in.
                    let crops = ProofOfRender.drawCrops(
                        frameWidth: render.width, frameHeight: render.height, areaPpm: Int(parameters.renderCropPpm),
                        tiles: Int(parameters.renderCropTiles), using: &generator
                    )
                    return .sampled(jobId: key.jobId, taskIndex: key.index, replicate: true, crops: crops)
                }
                guard replicate, job.spec.kind == .train else { return .sampled(jobId: key.jobId, taskIndex: key.index, replicate: replicate) }
                // A train task is checked on one segment drawn at random; with no resumable segment it cannot be.
                let segments = state.trainSegments(jobId: key.jobId, taskIndex: key.index)
                guard !segments.isEmpty else { return .sampled(jobId: key.jobId, taskIndex: key.index, replicate: false) }
                return .sampled(jobId: key.jobId, taskIndex: key.index, replicate: true, segment: segments.randomElement(using: &generator))
            }
            if let verdict = try? state.expectedVerdict(jobId: key.jobId, taskIndex: key.index) {
                return .verdict(verdict)
            }
            let task = job.tasks[key.index]
            if state.needsArbitration(task, of: job) { return .arbitrationOpened(jobId: key.jobId, taskIndex: key.index) }
            if state.replicaWaitingForNode(task) != nil, let sampled = task.sampledMs, nowMs - sampled > parameters.replicaWaitMs {
                return .replicaWaived(jobId: key.jobId, taskIndex: key.index)
            }
            if state.arbiterWaitingForNode(task) != nil, let opened = task.arbitrationMs, nowMs - opened > parameters.replicaWaitMs {
                return .arbiterWaived(jobId: key.jobId, taskIndex: key.index)
            }
        }
        if let jobId = state.closableJobs.min(by: { (state.jobs[$0]?.position ?? 0) < (state.jobs[$1]?.position ?? 0) }) {
            return .jobClosed(jobId: jobId, refundMicro: state.ledger.escrows[jobId]?.amountMicro ?? 0)
        }
        return searchesOffers ? nextOffer(in: state) : nil
    }

    /// The oldest queued run that some online node can take, offered where the engine ranks best: the cheapest
    /// asks, and among those the placement that leaves the network's capacity most usable.
    func nextOffer(in state: NetworkState) -> LogEvent? {
        guard !state.queuedRunIds.isEmpty, !onlineNodes.isEmpty else { return nil }
        // Sorted after the filter: most online nodes may be busy, unproven or unstaked, and sorting 20,000 ids for each
        // offer was a good part of a coordinator's time.
        let supply = onlineNodes.compactMap { state.supplyNode($0, atMs: nowMs) }.filter { $0.runSlotsFree > 0 }.sorted { $0.nodeId < $1.nodeId }
        guard !supply.isEmpty else { return nil }
        let engine = PlacementEngine(profile: state.openWorkload, priceBandBps: state.parameters.priceBandBps)
        let queued = state.queuedRunIds.compactMap { state.runs[$0] }.sorted { $0.ordinal < $1.ordinal }
        var gangsTried = Set<String>()
        for run in queued {
            guard let demand = state.demand(of: run, atMs: nowMs) else { continue }
            if run.rank != nil {
                // A gang is placed whole, once per pass, from its lowest-ordinal member.
                guard gangsTried.insert("\(run.jobId)/\(run.taskIndex)/\(run.attempt)").inserted else { continue }
                if let offer = gangOffer(for: run, demand: demand, in: state, supply: supply, engine: engine) { return .gangOffer(offer) }
                continue
            }
            if let best = engine.rank(demand, among: supply, atMs: nowMs).first {
                return .offer(
                    runId: run.id, nodeId: best.nodeId, priceMicroPerUnitHour: best.priceMicroPerUnitHour,
                    deadlineMs: nowMs + state.parameters.offerTimeoutMs, gpus: best.gpuIndices
                )
            }
        }
        return nil
    }

    /// Cluster-ready nodes for every member of `run`'s gang, each pair within the job's round trip by the agents'
    /// own measurements, kept off every node any member may not go to.
    func gangOffer(for run: RunRecord, demand: Demand, in state: NetworkState, supply: [SupplyNode], engine: PlacementEngine) -> GangOffer? {
        guard let cluster = state.jobs[run.jobId]?.spec.cluster else { return nil }
        let members = state.gang(of: run)
        guard members.count == cluster.nodes, members.allSatisfy({ $0.state == .queued }) else { return nil }
        var member = demand
        for other in members {
            member.excludedNodes.formUnion(other.excludedNodes(atMs: nowMs, cooldownMs: state.parameters.declineCooldownMs))
        }
        let now = nowMs
        guard let placed = engine.placeGang(
            member, members: cluster.nodes, maxRoundTripMs: Double(cluster.roundTripMsMax), among: supply, atMs: now,
            clusterReady: { state.isClusterReady($0.nodeId, atMs: now) },
            roundTripMs: { state.roundTripMs(between: $0.nodeId, and: $1.nodeId, atMs: now) }
        ) else { return nil }
        return GangOffer(
            members: zip(members, placed).map {
                GangOffer.Member(runId: $0.id, nodeId: $1.nodeId, priceMicroPerUnitHour: $1.priceMicroPerUnitHour, gpus: $1.gpuIndices)
            },
            deadlineMs: nowMs + state.parameters.offerTimeoutMs
        )
    }
}
