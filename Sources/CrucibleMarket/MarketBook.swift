import CrucibleCore

/// The engine's index over a large network: nodes grouped by everything that decides a placement except who they
/// are — ask, region, policy, hardware and what is free — and the groups kept in order of GPU ask. A decision scores
/// each group once, visits asks from the cheapest and stops past the price band, so its cost follows the number of
/// distinct node states near the best price, not the number of nodes. It answers exactly as `PlacementEngine.rank`
/// over the same nodes would (tests hold it to that); placements and releases keep the groups current.
public struct MarketBook: Sendable {
    public let engine: PlacementEngine
    public private(set) var nodes: [SupplyNode]
    private var indexOfNode: [String: Int] = [:]
    private var policies: [AgentPolicy] = []
    private var policyIds: [AgentPolicy: Int] = [:]
    private var hardware: [[HardwareKey]] = []
    private var hardwareIds: [[HardwareKey]: Int] = [:]
    private var regions: [String: Int] = [:]
    /// Groups by id: their key and members, in node-id order (the engine's last tie-break). Ids of emptied groups
    /// are reused.
    private var groupIds: [GroupKey: Int] = [:]
    private var groupKeys: [GroupKey?] = []
    private var groupMembers: [[Int]] = []
    private var unusedGroupIds: [Int] = []
    /// Group ids by GPU ask, and each group's position in its ask's list.
    private var groupsByAsk: [Int64: [Int]] = [:]
    private var positionInAsk: [Int] = []
    private var asks: [Int64] = []
    /// Nodes by how many whole GPUs they have free: a quick bound before any scoring.
    private var nodesByWholeFree: [Int] = []

    struct HardwareKey: Hashable {
        var model: String?
        var memoryMiB: Int
    }

    struct GroupKey: Hashable {
        var askGpu: Int64
        var askCpu: Int64
        var region: Int
        var policy: Int
        var hardware: Int
        var cpuCores: Int
        var gpuFree: [Int]
        var cpuCoresFree: Int
        var memoryMiBFree: Int
        var runSlotsFree: Int
        var runsActive: Int
    }

    public init(nodes: [SupplyNode], engine: PlacementEngine) {
        self.engine = engine
        self.nodes = []
        for node in nodes { insert(node) }
    }

    /// Distinct node states the index holds: what a decision's cost follows.
    public var groupCount: Int { groupIds.count }

    /// How many nodes have at least `gpus` whole GPUs free (of any model, at any price).
    public func nodesWithWholeGPUsFree(atLeast gpus: Int) -> Int {
        gpus < nodesByWholeFree.count ? nodesByWholeFree[max(gpus, 0)...].reduce(0, +) : 0
    }

    public func index(of nodeId: String) -> Int? { indexOfNode[nodeId] }

    /// Adds a node, or replaces the one with its id (a new registration, a new policy).
    public mutating func insert(_ node: SupplyNode) {
        if let index = indexOfNode[node.nodeId] {
            leave(index)
            nodes[index] = node
            join(index)
        } else {
            indexOfNode[node.nodeId] = nodes.count
            nodes.append(node)
            join(nodes.count - 1)
        }
    }

    /// Records that `demand` now holds `gpus` on the node at `index`.
    public mutating func take(_ demand: Demand, on index: Int, gpus: [Int]) {
        leave(index)
        for gpu in gpus { nodes[index].gpus[gpu].freeMilli -= demand.gpuMilliEach }
        nodes[index].cpuCoresFree -= demand.cpuCores
        nodes[index].memoryMiBFree -= demand.memoryMiB
        nodes[index].runSlotsFree -= 1
        nodes[index].runsActive += 1
        join(index)
    }

    /// Gives back what `take` took.
    public mutating func release(_ demand: Demand, on index: Int, gpus: [Int]) {
        leave(index)
        for gpu in gpus { nodes[index].gpus[gpu].freeMilli += demand.gpuMilliEach }
        nodes[index].cpuCoresFree += demand.cpuCores
        nodes[index].memoryMiBFree += demand.memoryMiB
        nodes[index].runSlotsFree += 1
        nodes[index].runsActive -= 1
        join(index)
    }

    /// First fit, the baseline the engine is measured against: `members` nodes in index (registration) order, each
    /// the first that may take `demand` on its first free GPUs and that `joins` admits beside those already chosen.
    public func firstFit(
        _ demand: Demand, members: Int = 1, atMs: Int64, joins: (_ candidate: Int, _ chosen: [Int]) -> Bool = { _, _ in true }
    ) -> [(node: Int, gpus: [Int])]? {
        var chosen = [(node: Int, gpus: [Int])]()
        for index in nodes.indices where chosen.count < members {
            guard Self.mayHold(demand, nodes[index]), case .success = nodes[index].terms(for: demand, atMs: atMs), let gpus = nodes[index].gpuChoices(for: demand)?.first,
                  joins(index, chosen.map(\.node)) else { continue }
            chosen.append((index, gpus))
        }
        return chosen.count == members ? chosen : nil
    }

    /// What `PlacementEngine.rank(…).first` would answer over `nodes`.
    public func best(_ demand: Demand, atMs: Int64) -> PlacementEngine.Placement? {
        var best: PlacementEngine.Scored?
        var band = Int64.max
        func consider(_ group: Int) {
            guard let key = groupKeys[group], Self.mayHold(demand, key) else { return }
            for scored in scores(demand, in: group, atMs: atMs, firstOnly: true) where best == nil || PlacementEngine.fitsBetter(scored, best!) {
                if best == nil { band = engine.band(above: scored.placement.priceMicroPerUnitHour) }
                best = scored
            }
        }
        if demand.gpuMilli > 0 {
            for ask in asks {
                if ask > band || ask > demand.maxPriceMicroPerUnitHour { break }
                for group in groupsByAsk[ask] ?? [] { consider(group) }
            }
        } else {
            // CPU work is priced by the CPU ask, which the index is not ordered by: every group, cheapest first.
            for (group, key) in groupIds.map({ ($0.value, $0.key) }).sorted(by: { $0.1.askCpu < $1.1.askCpu }) {
                if key.askCpu > band || key.askCpu > demand.maxPriceMicroPerUnitHour { break }
                consider(group)
            }
        }
        return best?.placement
    }

    /// Every node that may take `demand`, in the engine's order.
    public func rank(_ demand: Demand, atMs: Int64) -> [PlacementEngine.Placement] {
        ranked(demand, atMs: atMs).map(\.placement)
    }

    func ranked(_ demand: Demand, atMs: Int64) -> [PlacementEngine.Scored] {
        engine.order(groupIds.compactMap { Self.mayHold(demand, $0.key) ? $0.value : nil }.flatMap { scores(demand, in: $0, atMs: atMs, firstOnly: false) })
    }

    /// Whether a node in the group's state could hold `demand` at all, from the key alone: slots, CPU, memory and
    /// free GPU capacity. Most groups fail here without a node being looked at.
    static func mayHold(_ demand: Demand, _ key: GroupKey) -> Bool {
        mayHold(demand, runSlotsFree: key.runSlotsFree, cpuCoresFree: key.cpuCoresFree, memoryMiBFree: key.memoryMiBFree, gpuFree: key.gpuFree)
    }

    static func mayHold(_ demand: Demand, _ node: SupplyNode) -> Bool {
        mayHold(demand, runSlotsFree: node.runSlotsFree, cpuCoresFree: node.cpuCoresFree, memoryMiBFree: node.memoryMiBFree, gpuFree: node.gpus.lazy.map(\.freeMilli))
    }

    static func mayHold(_ demand: Demand, runSlotsFree: Int, cpuCoresFree: Int, memoryMiBFree: Int, gpuFree: some Sequence<Int>) -> Bool {
        guard runSlotsFree > 0, cpuCoresFree >= demand.cpuCores, memoryMiBFree >= demand.memoryMiB else { return false }
        guard demand.gpus > 0 else { return true }
        var room = 0
        for free in gpuFree where free >= demand.gpuMilliEach { room += 1 }
        return room >= demand.gpus
    }

    /// `PlacementEngine.placeGang` over the index; nodes are named by their index in `nodes`.
    public func placeGang(
        _ member: Demand, members: Int, maxRoundTripMs: Double, atMs: Int64, seedsMax: Int = 16,
        clusterReady: (Int) -> Bool, roundTripMs: (Int, Int) -> Double?
    ) -> [PlacementEngine.Placement]? {
        engine.gang(
            from: ranked(member, atMs: atMs), members: members, maxRoundTripMs: maxRoundTripMs, seedsMax: seedsMax,
            roundTripMs: roundTripMs, clusterReady: clusterReady
        )
    }

    /// The group's members that may take `demand`, scored. Members share everything a score depends on except who
    /// they are (exclusions) and, per GPU, proven speed: without a speed rule the first member that is not excluded
    /// stands for them all, and a state that fails fails for every member.
    private func scores(_ demand: Demand, in group: Int, atMs: Int64, firstOnly: Bool) -> [PlacementEngine.Scored] {
        let perMember = demand.placement.minTopsPerGpu > 0
        let excludes = !demand.excludedNodes.isEmpty || !demand.excludedOperators.isEmpty
        var shared: PlacementEngine.Scored?
        var result = [PlacementEngine.Scored]()
        for index in groupMembers[group] {
            if excludes, demand.excludedNodes.contains(nodes[index].nodeId) || demand.excludedOperators.contains(nodes[index].operatorAddress) { continue }
            if perMember || shared == nil {
                guard let scored = engine.score(demand, on: nodes[index], index: index, atMs: atMs) else {
                    if perMember { continue } else { return [] }
                }
                shared = scored
                result.append(scored)
            } else if var copy = shared {
                copy.placement.nodeId = nodes[index].nodeId
                copy.index = index
                result.append(copy)
            }
            if firstOnly, !perMember { break }
        }
        return result
    }

    private mutating func key(of index: Int) -> GroupKey {
        let node = nodes[index]
        let policy = policyIds[node.policy] ?? {
            policies.append(node.policy)
            policyIds[node.policy] = policies.count - 1
            return policies.count - 1
        }()
        let cards = node.gpus.map { HardwareKey(model: $0.model, memoryMiB: $0.memoryMiB) }
        let hardwareId = hardwareIds[cards] ?? {
            hardware.append(cards)
            hardwareIds[cards] = hardware.count - 1
            return hardware.count - 1
        }()
        let region = regions[node.region] ?? {
            regions[node.region] = regions.count
            return regions.count - 1
        }()
        return GroupKey(
            askGpu: node.policy.askMicroPerGpuHour, askCpu: node.policy.askMicroPerCpuCoreHour, region: region, policy: policy,
            hardware: hardwareId, cpuCores: node.cpuCores, gpuFree: node.gpus.map(\.freeMilli), cpuCoresFree: node.cpuCoresFree,
            memoryMiBFree: node.memoryMiBFree, runSlotsFree: node.runSlotsFree, runsActive: node.runsActive
        )
    }

    private mutating func join(_ index: Int) {
        let key = key(of: index)
        let whole = nodes[index].gpus.reduce(0) { $0 + ($1.freeMilli == 1000 ? 1 : 0) }
        if whole >= nodesByWholeFree.count { nodesByWholeFree += Array(repeating: 0, count: whole + 1 - nodesByWholeFree.count) }
        nodesByWholeFree[whole] += 1
        let group: Int
        if let existing = groupIds[key] {
            group = existing
        } else {
            if let reused = unusedGroupIds.popLast() {
                group = reused
                groupKeys[group] = key
            } else {
                group = groupKeys.count
                groupKeys.append(key)
                groupMembers.append([])
                positionInAsk.append(0)
            }
            groupIds[key] = group
            if groupsByAsk[key.askGpu] == nil { asks.insert(key.askGpu, at: asks.partitioningIndex { $0 > key.askGpu }) }
            positionInAsk[group] = groupsByAsk[key.askGpu, default: []].count
            groupsByAsk[key.askGpu, default: []].append(group)
        }
        let id = nodes[index].nodeId
        groupMembers[group].insert(index, at: groupMembers[group].partitioningIndex { nodes[$0].nodeId > id })
    }

    private mutating func leave(_ index: Int) {
        let key = key(of: index)
        guard let group = groupIds[key] else { return }
        let id = nodes[index].nodeId
        let position = groupMembers[group].partitioningIndex { nodes[$0].nodeId >= id }
        guard position < groupMembers[group].count, groupMembers[group][position] == index else { return }
        groupMembers[group].remove(at: position)
        nodesByWholeFree[nodes[index].gpus.reduce(0) { $0 + ($1.freeMilli == 1000 ? 1 : 0) }] -= 1
        guard groupMembers[group].isEmpty else { return }
        groupIds[key] = nil
        groupKeys[group] = nil
        unusedGroupIds.append(group)
        // Swap-remove the group from its ask's list.
        var list = groupsByAsk[key.askGpu] ?? []
        let at = positionInAsk[group]
        let last = list.removeLast()
        if last != group {
            list[at] = last
            positionInAsk[last] = at
        }
        if list.isEmpty {
            groupsByAsk[key.askGpu] = nil
            asks.remove(at: asks.partitioningIndex { $0 >= key.askGpu })
        } else {
            groupsByAsk[key.askGpu] = list
        }
    }
}

extension Array {
    /// The first index whose element satisfies `belongsAfter`, for an array partitioned by it (binary search).
    func partitioningIndex(where belongsAfter: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if belongsAfter(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
