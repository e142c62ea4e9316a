import CrucibleCore
import CrucibleMarket

extension NetworkState {
    /// A node as the matching engine sees it at `nowMs`: per GPU what its offered and running runs leave free — and
    /// the runs the network ended that it may still be running, until it reports them gone — CPU, memory and run slots
    /// left, region, asks and policy (with `idle`, as if it ran nothing). Nil when the node may not be matched at all.
    public func supplyNode(_ nodeId: String, idle: Bool = false, atMs nowMs: Int64) -> SupplyNode? {
        guard let index = nodes.index(forKey: nodeId), isMatchable(nodes.values[index]) else { return nil }
        let node = nodes.values[index]
        let registration = node.registration
        let hardware = registration.hardware
        // Challenges prove one figure per device, in the registration's GPU order.
        let tops = node.proof.deviceTops.count == hardware.gpus.count ? node.proof.deviceTops : Array(repeating: 0, count: hardware.gpus.count)
        var gpus = hardware.gpus.enumerated().map { index, gpu in
            SupplyNode.GPU(model: gpu.model, memoryMiB: gpu.memoryMiB, provenTops: tops[index])
        }
        let active = idle ? [] : (activeRunIdsByNode[nodeId] ?? []).compactMap { runs[$0] } + unreleasedRuns(on: nodeId, atMs: nowMs)
        var cpuCores = hardware.cpuCores
        var memoryMiB = hardware.memoryMiB
        for run in active {
            guard let spec = jobs[run.jobId]?.spec else { continue }
            cpuCores -= spec.resources.cpuCores
            memoryMiB -= spec.resources.memoryMiB
            let milliEach = spec.gpuShape.milliEach
            for index in run.gpuIndices where gpus.indices.contains(index) { gpus[index].freeMilli -= milliEach }
        }
        return SupplyNode(
            nodeId: nodeId, operatorAddress: registration.operatorAddress, region: registration.region, gpus: gpus,
            cpuCores: hardware.cpuCores, cpuCoresFree: cpuCores, memoryMiBFree: memoryMiB,
            runSlotsFree: registration.policy.maxConcurrentRuns - active.count, runsActive: active.count, policy: registration.policy,
            renderer: registration.renderer
        )
    }

    /// What `run` asks of a node at `nowMs`: its job's shape, price limit and rules, less the nodes and operators
    /// it may not go to.
    func demand(of run: RunRecord, atMs nowMs: Int64) -> Demand? {
        guard let job = jobs[run.jobId] else { return nil }
        var demand = Demand(
            spec: job.spec, requester: job.requester,
            excludedNodes: run.excludedNodes(atMs: nowMs, cooldownMs: parameters.declineCooldownMs), excludedOperators: Set(run.excludedOperators)
        )
        demand.renderer = rendererToMatch(for: run)
        return demand
    }

    /// The renderer a render run must use to be compared pixel for pixel: a check's, that of the frame it checks; a
    /// re-render after a rejection's, that of the rejected frame. Nil for anything else.
    func rendererToMatch(for run: RunRecord) -> String? {
        guard let job = jobs[run.jobId], job.spec.kind == .render, job.tasks.indices.contains(run.taskIndex) else { return nil }
        let task = job.tasks[run.taskIndex]
        let reference = run.role == .primary ? task.rejections.last.flatMap { runs[$0.runId] } : completedRun(of: task, role: .primary)
        return reference?.nodeId.flatMap { nodes[$0]?.registration.renderer }
    }

    /// The work the network sees now, one entry per open run, for the engine's fragmentation measure.
    var openWorkload: WorkloadProfile {
        let open = (Array(queuedRunIds) + activeRunIdsByNode.values.flatMap { $0 }).compactMap { runs[$0] }
        return WorkloadProfile(open.compactMap { run in jobs[run.jobId].map { Demand(spec: $0.spec, requester: $0.requester).podDemand } })
    }

    /// Checks an offer of `run` to `nodeId` at `price` on `gpuIndices` against every rule the engine applies,
    /// so a decision in the log can never place across the job's rules, the node's policy or its capacity.
    func checkOffer(of run: RunRecord, to nodeId: String, price: Int64, gpuIndices: [Int], atMs nowMs: Int64) throws {
        guard let node = nodes[nodeId] else { throw CrucibleError(.notFound, "no node \(nodeId)") }
        guard isMatchable(node) else { throw CrucibleError(.conflict, "node \(nodeId) has not proven its hardware") }
        guard let supply = supplyNode(nodeId, atMs: nowMs), let demand = demand(of: run, atMs: nowMs) else { throw CrucibleError(.notFound, "no job \(run.jobId)") }
        switch supply.terms(for: demand, atMs: nowMs) {
        case .failure(let refusal): throw CrucibleError(.conflict, "run \(run.id) may not go to node \(nodeId): \(refusal.reason)")
        case .success(let ask):
            guard price == ask else { throw CrucibleError(.conflict, "offer price \(price) is not the node's ask \(ask) within the job's maximum") }
        }
        guard supply.canHold(demand, on: gpuIndices) else {
            throw CrucibleError(.conflict, "GPUs \(gpuIndices) of node \(nodeId) cannot hold run \(run.id)")
        }
    }
}

extension NetworkState {
    /// The GPUs `run` holds on `nodeId`, as the node's `nvidia-smi` numbers them.
    public func gpuDevices(of run: RunRecord, on nodeId: String) -> [Int]? {
        guard let gpus = nodes[nodeId]?.registration.hardware.gpus else { return nil }
        return run.gpuIndices.compactMap { gpus.indices.contains($0) ? gpus[$0].index : nil }
    }
}

extension NetworkState {
    /// Why the job's oldest queued run has no node at `nowMs`, counted over the nodes online then, most common reason
    /// first — what a requester whose job waits needs to change (price, rules) or to wait for. Nil when the job has
    /// no queued run.
    public func whyWaiting(jobId: String, onlineNodes: Set<String>, atMs nowMs: Int64) -> String? {
        guard let run = queuedRunIds.compactMap({ runs[$0] }).filter({ $0.jobId == jobId }).min(by: { $0.ordinal < $1.ordinal }),
              let demand = demand(of: run, atMs: nowMs)
        else { return nil }
        guard !onlineNodes.isEmpty else { return "no node is online" }
        var reasons = [String: Int]()
        var clusterNote = ""
        if let cluster = jobs[jobId]?.spec.cluster {
            let ready = onlineNodes.filter { isClusterReady($0, atMs: nowMs) }.count
            clusterNote = "needs \(cluster.nodes) cluster-ready nodes within \(cluster.roundTripMsMax) ms of each other; \(ready) of \(onlineNodes.count) online nodes are cluster-ready (peer endpoint, proof, links measured both ways). Per node: "
        }
        for nodeId in onlineNodes {
            guard let node = nodes[nodeId] else { continue }
            guard let supply = supplyNode(nodeId, atMs: nowMs), let idle = supplyNode(nodeId, idle: true, atMs: nowMs) else {
                reasons[isStaked(node) ? "the node has not proven its hardware" : "the operator's stake does not cover the node", default: 0] += 1
                continue
            }
            // A rule that refuses even the idle node comes first: waiting will not help there.
            let reason: String
            if case .failure(let refusal) = idle.terms(for: demand, atMs: nowMs) {
                reason = refusal.reason
            } else if idle.gpuChoices(for: demand) == nil {
                reason = "the node has no GPU that the job accepts"
            } else if case .failure(let refusal) = supply.terms(for: demand, atMs: nowMs) {
                reason = refusal.reason
            } else {
                reason = supply.gpuChoices(for: demand) == nil ? "its GPUs are busy" : "a node can take it: it is offered next"
            }
            reasons[reason, default: 0] += 1
        }
        return clusterNote + reasons.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            .map { "\($0.key) (\($0.value) of \(onlineNodes.count) online nodes)" }
            .joined(separator: "; ")
    }
}
