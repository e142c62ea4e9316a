/// Continuous matching, first version: cheapest feasible node first (ARCHITECTURE §6). The node is paid its
/// ask, and the ask never exceeds the requester's maximum.
public enum Matcher {
    public struct Candidate: Sendable, Equatable {
        public var nodeId: String
        public var priceMicroPerUnitHour: Int64

        public init(nodeId: String, priceMicroPerUnitHour: Int64) {
            self.nodeId = nodeId
            self.priceMicroPerUnitHour = priceMicroPerUnitHour
        }
    }

    /// The price `node` asks for `demand`, or nil when the node cannot take it at all.
    public static func price(of demand: Demand, on node: SupplyNode) -> Int64? {
        guard !demand.excludedNodes.contains(node.nodeId),
              !demand.excludedOperators.contains(node.operatorAddress),
              node.runSlotsFree > 0,
              node.gpuMilliFree >= demand.gpuMilli,
              node.cpuCoresFree >= demand.cpuCores,
              node.memoryMiBFree >= demand.memoryMiB
        else { return nil }
        let ask = demand.gpuMilli > 0 ? node.askMicroPerGpuHour : node.askMicroPerCpuCoreHour
        return ask <= demand.maxPriceMicroPerUnitHour ? ask : nil
    }

    /// Feasible nodes in the order they are offered the run: price, then fewest active runs, then id for determinism.
    public static func rank(_ demand: Demand, among supply: [SupplyNode]) -> [Candidate] {
        supply.compactMap { node -> (Candidate, Int)? in
            guard let price = price(of: demand, on: node) else { return nil }
            return (Candidate(nodeId: node.nodeId, priceMicroPerUnitHour: price), node.runsActive)
        }
        .sorted { lhs, rhs in
            if lhs.0.priceMicroPerUnitHour != rhs.0.priceMicroPerUnitHour { return lhs.0.priceMicroPerUnitHour < rhs.0.priceMicroPerUnitHour }
            if lhs.1 != rhs.1 { return lhs.1 < rhs.1 }
            return lhs.0.nodeId < rhs.0.nodeId
        }
        .map(\.0)
    }
}
