import CrucibleCore

/// The coordinator's matching engine (ARCHITECTURE §6): every node that may take a run — placement rules, capacity,
/// price within the requester's maximum, the node's own policy — ranked by price first and, among asks close to the
/// cheapest, by how little the placement fragments the network's capacity for the work it sees (FGD's measure with
/// Crucible's CPU and memory stranding term, as `GPUPacker` uses on the traces). The node is paid its ask.
public struct PlacementEngine: Sendable {
    public struct Placement: Sendable, Equatable {
        public var nodeId: String
        public var priceMicroPerUnitHour: Int64
        /// Indices into the node's GPU list; empty for CPU work.
        public var gpuIndices: [Int]
        /// Expected GPU thousandths the placement makes unusable for the next task; lower is better.
        public var fragmentationDelta: Double

        public init(nodeId: String, priceMicroPerUnitHour: Int64, gpuIndices: [Int], fragmentationDelta: Double = 0) {
            self.nodeId = nodeId
            self.priceMicroPerUnitHour = priceMicroPerUnitHour
            self.gpuIndices = gpuIndices
            self.fragmentationDelta = fragmentationDelta
        }
    }

    /// The work the network expects, by shape: what fragmentation is measured against.
    public var profile: WorkloadProfile
    /// Asks within this share above the cheapest feasible ask compete on fit rather than price, in basis points.
    /// A requester pays at most this much more than the cheapest node to keep big holes free for the next job.
    public var priceBandBps: Int64

    public init(profile: WorkloadProfile, priceBandBps: Int64 = 1_000) {
        self.profile = profile
        self.priceBandBps = priceBandBps
    }

    /// A feasible placement with what orders it against others.
    struct Scored {
        var placement: Placement
        /// GPU thousandths the node has left afterwards: on equal fit the fuller node goes first.
        var leftOver: Int
        var runsActive: Int
        /// Position in the supply, for gangs' round trips.
        var index: Int
    }

    /// Where `demand` would go on `node` (its best GPU choice and what that costs in fragmentation), or nil when it
    /// may not go there.
    func score(_ demand: Demand, on node: SupplyNode, index: Int, atMs: Int64) -> Scored? {
        guard case .success(let price) = node.terms(for: demand, atMs: atMs), let choices = node.gpuChoices(for: demand) else { return nil }
        let state = node.packingState
        let before = profile.fragmentation(model: state.model, cpuFree: state.cpuFree, memoryFree: state.memoryFree, gpuFree: state.gpuFree)
        var best: (gpus: [Int], delta: Double, free: Int)?
        for choice in choices {
            // On equal fit, the fullest GPU that fits: the emptier ones stay whole.
            let free = choice.reduce(0) { $0 + state.gpuFree[$1] }
            var gpuFree = state.gpuFree
            for gpu in choice { gpuFree[gpu] -= demand.gpuMilliEach }
            let after = profile.fragmentation(
                model: state.model, cpuFree: state.cpuFree - demand.cpuCores * 1000, memoryFree: state.memoryFree - demand.memoryMiB, gpuFree: gpuFree
            )
            let delta = after - before
            if best == nil || delta < best!.delta - 1e-9 || (abs(delta - best!.delta) <= 1e-9 && free < best!.free) { best = (choice, delta, free) }
        }
        guard let best else { return nil }
        return Scored(
            placement: Placement(nodeId: node.nodeId, priceMicroPerUnitHour: price, gpuIndices: best.gpus, fragmentationDelta: best.delta),
            leftOver: state.gpuFree.reduce(0, +) - demand.gpuMilli, runsActive: node.runsActive, index: index
        )
    }

    /// The order of placements whose asks are all within the band: fit, then the fuller node, the cheaper, the less
    /// busy, the id.
    static func fitsBetter(_ lhs: Scored, _ rhs: Scored) -> Bool {
        let delta = lhs.placement.fragmentationDelta - rhs.placement.fragmentationDelta
        if abs(delta) > 1e-9 { return delta < 0 }
        if lhs.leftOver != rhs.leftOver { return lhs.leftOver < rhs.leftOver }
        if lhs.placement.priceMicroPerUnitHour != rhs.placement.priceMicroPerUnitHour {
            return lhs.placement.priceMicroPerUnitHour < rhs.placement.priceMicroPerUnitHour
        }
        if lhs.runsActive != rhs.runsActive { return lhs.runsActive < rhs.runsActive }
        return lhs.placement.nodeId < rhs.placement.nodeId
    }

    func band(above cheapest: Int64) -> Int64 { cheapest + cheapest * priceBandBps / 10_000 }

    func ranked(_ demand: Demand, among supply: [SupplyNode], atMs: Int64) -> [Scored] {
        order(supply.enumerated().compactMap { score(demand, on: $1, index: $0, atMs: atMs) })
    }

    /// Feasible placements in the engine's order: asks within the band of the cheapest by fit, then the rest by price.
    func order(_ feasible: [Scored]) -> [Scored] {
        guard let cheapest = feasible.map(\.placement.priceMicroPerUnitHour).min() else { return [] }
        let band = band(above: cheapest)
        return feasible.sorted { lhs, rhs in
            let lhsInBand = lhs.placement.priceMicroPerUnitHour <= band, rhsInBand = rhs.placement.priceMicroPerUnitHour <= band
            if lhsInBand != rhsInBand { return lhsInBand }
            if !lhsInBand, lhs.placement.priceMicroPerUnitHour != rhs.placement.priceMicroPerUnitHour {
                return lhs.placement.priceMicroPerUnitHour < rhs.placement.priceMicroPerUnitHour
            }
            return Self.fitsBetter(lhs, rhs)
        }
    }

    /// Every node that may take `demand` at `atMs`, best first.
    public func rank(_ demand: Demand, among supply: [SupplyNode], atMs: Int64) -> [Placement] {
        ranked(demand, among: supply, atMs: atMs).map(\.placement)
    }

    /// Places a job of `members` equal parts, one per node, all at once or not at all: each part where `rank` would
    /// put it, every pair of members within `maxRoundTripMs` of each other by `roundTripMs` (nil: never measured, so
    /// never together), on nodes that `clusterReady` admits. Tries groups grown from each of the best `seedsMax`
    /// candidates and keeps the cheapest complete one (then the least fragmenting). The result's order is the
    /// members' ranks; rank 0 hosts the rendezvous.
    public func placeGang(
        _ member: Demand, members: Int, maxRoundTripMs: Double, among supply: [SupplyNode], atMs: Int64, seedsMax: Int = 16,
        clusterReady: (SupplyNode) -> Bool = { _ in true }, roundTripMs: (SupplyNode, SupplyNode) -> Double?
    ) -> [Placement]? {
        gang(from: ranked(member, among: supply, atMs: atMs), members: members, maxRoundTripMs: maxRoundTripMs, seedsMax: seedsMax) { lhs, rhs in
            roundTripMs(supply[lhs], supply[rhs])
        } clusterReady: { clusterReady(supply[$0]) }
    }

    /// The gang search over candidates in ranked order; nodes are named by their index in whatever holds them.
    func gang(
        from ranked: [Scored], members: Int, maxRoundTripMs: Double, seedsMax: Int, roundTripMs: (Int, Int) -> Double?, clusterReady: (Int) -> Bool
    ) -> [Placement]? {
        guard members >= 1 else { return nil }
        let candidates = ranked.filter { clusterReady($0.index) }
        guard candidates.count >= members else { return nil }
        var chosen: (group: [Scored], price: Int64, delta: Double)?
        for seed in candidates.prefix(seedsMax) {
            var group = [seed]
            for candidate in candidates where group.count < members && candidate.index != seed.index {
                let fits = group.allSatisfy { peer in
                    guard let rtt = roundTripMs(peer.index, candidate.index) else { return false }
                    return rtt <= maxRoundTripMs
                }
                if fits { group.append(candidate) }
            }
            guard group.count == members else { continue }
            let price = group.reduce(0) { $0 + $1.placement.priceMicroPerUnitHour }
            let delta = group.reduce(0) { $0 + $1.placement.fragmentationDelta }
            if chosen == nil || price < chosen!.price || (price == chosen!.price && delta < chosen!.delta - 1e-9) {
                chosen = (group, price, delta)
            }
        }
        return chosen?.group.map(\.placement)
    }
}
