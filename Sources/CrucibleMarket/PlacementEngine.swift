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

    /// Every node that may take `demand` at `atMs`, best first.
    public func rank(_ demand: Demand, among supply: [SupplyNode], atMs: Int64) -> [Placement] {
        var feasible = [(placement: Placement, leftOver: Int, runsActive: Int)]()
        for node in supply {
            guard case .success(let price) = node.terms(for: demand, atMs: atMs), let choices = node.gpuChoices(for: demand) else { continue }
            let state = node.packingState
            let before = profile.fragmentation(model: state.model, cpuFree: state.cpuFree, memoryFree: state.memoryFree, gpuFree: state.gpuFree)
            var best: (gpus: [Int], delta: Double, free: Int)?
            for choice in choices {
                // On equal fit, the fullest GPU that fits: the emptier ones stay whole.
                let free = choice.reduce(0) { $0 + state.gpuFree[$1] }
                var gpuFree = state.gpuFree
                for index in choice { gpuFree[index] -= demand.gpuMilliEach }
                let after = profile.fragmentation(
                    model: state.model, cpuFree: state.cpuFree - demand.cpuCores * 1000, memoryFree: state.memoryFree - demand.memoryMiB, gpuFree: gpuFree
                )
                let delta = after - before
                if best == nil || delta < best!.delta - 1e-9 || (abs(delta - best!.delta) <= 1e-9 && free < best!.free) { best = (choice, delta, free) }
            }
            guard let best else { continue }
            let leftOver = state.gpuFree.reduce(0, +) - demand.gpuMilli
            feasible.append((Placement(nodeId: node.nodeId, priceMicroPerUnitHour: price, gpuIndices: best.gpus, fragmentationDelta: best.delta), leftOver, node.runsActive))
        }
        guard let cheapest = feasible.map(\.placement.priceMicroPerUnitHour).min() else { return [] }
        let band = cheapest + cheapest * priceBandBps / 10_000
        return feasible.sorted { lhs, rhs in
            let lhsInBand = lhs.placement.priceMicroPerUnitHour <= band, rhsInBand = rhs.placement.priceMicroPerUnitHour <= band
            if lhsInBand != rhsInBand { return lhsInBand }
            if !lhsInBand, lhs.placement.priceMicroPerUnitHour != rhs.placement.priceMicroPerUnitHour {
                return lhs.placement.priceMicroPerUnitHour < rhs.placement.priceMicroPerUnitHour
            }
            let delta = lhs.placement.fragmentationDelta - rhs.placement.fragmentationDelta
            if abs(delta) > 1e-9 { return delta < 0 }
            // Equal fit: the fuller node, so emptier ones stay whole; then the cheaper, the less busy, the id.
            if lhs.leftOver != rhs.leftOver { return lhs.leftOver < rhs.leftOver }
            if lhs.placement.priceMicroPerUnitHour != rhs.placement.priceMicroPerUnitHour {
                return lhs.placement.priceMicroPerUnitHour < rhs.placement.priceMicroPerUnitHour
            }
            if lhs.runsActive != rhs.runsActive { return lhs.runsActive < rhs.runsActive }
            return lhs.placement.nodeId < rhs.placement.nodeId
        }
        .map(\.placement)
    }
}
