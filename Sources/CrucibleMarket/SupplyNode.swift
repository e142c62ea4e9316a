import CrucibleCore

/// A node as the engine sees it: each GPU with what is free on it, CPU and memory left, its region, its asks and
/// the policy it registered.
public struct SupplyNode: Sendable, Equatable {
    public struct GPU: Sendable, Equatable {
        /// Catalog model id; nil for a model the catalog does not know (never matched).
        public var model: String?
        public var memoryMiB: Int
        /// Proven dense INT8 TOPS of this GPU (the node's challenge result shared over its GPUs).
        public var provenTops: Double
        /// Thousandths of the GPU not held by offered or running work.
        public var freeMilli: Int

        public init(model: String?, memoryMiB: Int, provenTops: Double, freeMilli: Int = 1000) {
            self.model = model
            self.memoryMiB = memoryMiB
            self.provenTops = provenTops
            self.freeMilli = freeMilli
        }
    }

    public var nodeId: String
    public var operatorAddress: String
    public var region: String
    public var gpus: [GPU]
    public var cpuCores: Int
    public var cpuCoresFree: Int
    public var memoryMiBFree: Int
    public var runSlotsFree: Int
    /// Runs on the node now; the last tie-breaker, which spreads otherwise equal work.
    public var runsActive: Int
    public var policy: AgentPolicy

    public init(
        nodeId: String, operatorAddress: String, region: String = "local", gpus: [GPU] = [], cpuCores: Int, cpuCoresFree: Int,
        memoryMiBFree: Int, runSlotsFree: Int, runsActive: Int = 0, policy: AgentPolicy
    ) {
        self.nodeId = nodeId
        self.operatorAddress = operatorAddress
        self.region = region
        self.gpus = gpus
        self.cpuCores = cpuCores
        self.cpuCoresFree = cpuCoresFree
        self.memoryMiBFree = memoryMiBFree
        self.runSlotsFree = runSlotsFree
        self.runsActive = runsActive
        self.policy = policy
    }

    /// The GPU choices that could hold `demand` here, or nil when none can: for a share of a GPU, one choice per
    /// distinct free amount among the GPUs the job accepts (equal ones are interchangeable); for whole GPUs, the
    /// first free ones it accepts.
    public func gpuChoices(for demand: Demand) -> [[Int]]? {
        guard demand.gpus > 0 else { return [[]] }
        let accepted = gpus.indices.filter { index in
            demand.placement.accepts(model: gpus[index].model, memoryMiB: gpus[index].memoryMiB, provenTops: gpus[index].provenTops)
        }
        if demand.gpuMilliEach < 1000 {
            var seen = Set<Int>()
            let choices = accepted.filter { gpus[$0].freeMilli >= demand.gpuMilliEach && seen.insert(gpus[$0].freeMilli).inserted }
            return choices.isEmpty ? nil : choices.map { [$0] }
        }
        let whole = accepted.filter { gpus[$0].freeMilli == 1000 }
        return whole.count >= demand.gpus ? [Array(whole.prefix(demand.gpus))] : nil
    }

    /// Whether `gpuIndices` is a valid choice for `demand` here: distinct GPUs the job accepts, each with room.
    public func canHold(_ demand: Demand, on gpuIndices: [Int]) -> Bool {
        guard gpuIndices.count == demand.gpus, Set(gpuIndices).count == gpuIndices.count else { return false }
        return gpuIndices.allSatisfy { index in
            gpus.indices.contains(index) && gpus[index].freeMilli >= demand.gpuMilliEach
                && demand.placement.accepts(model: gpus[index].model, memoryMiB: gpus[index].memoryMiB, provenTops: gpus[index].provenTops)
        }
    }

    /// The price this node would be paid for `demand` (its ask, within the requester's maximum) and, when it may
    /// not take the demand at all, why not. Everything but the GPU choice: rules, capacity, price and policy.
    public func terms(for demand: Demand, atMs: Int64) -> Result<Int64, Refusal> {
        if demand.excludedNodes.contains(nodeId) { return .failure(.excluded("the run already left this node")) }
        if demand.excludedOperators.contains(operatorAddress) { return .failure(.excluded("the run checks this operator's work")) }
        if !demand.placement.allows(region: region) { return .failure(.placement("region \(region) is not allowed by the job")) }
        if runSlotsFree <= 0 { return .failure(.capacity("no run slot free")) }
        if cpuCoresFree < demand.cpuCores || memoryMiBFree < demand.memoryMiB { return .failure(.capacity("not enough CPU or memory free")) }
        let ask = policy.askMicroPerUnitHour(gpuMilli: demand.gpuMilli)
        if ask > demand.maxPriceMicroPerUnitHour { return .failure(.price("the node asks \(Amount.format(ask)), above the job's maximum")) }
        let terms = AgentPolicy.OfferTerms(
            kind: demand.kind, priceMicroPerUnitHour: ask, requester: demand.requester, maxDurationS: demand.maxDurationS,
            dataRegion: demand.placement.dataRegion, atMs: atMs
        )
        // The run slots are checked above; the policy's own concurrency rule is the same number.
        if case .reject(let reason) = policy.decide(terms, runningNow: 0) { return .failure(.policy(reason)) }
        return .success(ask)
    }

    public enum Refusal: Error, Equatable, Sendable {
        case excluded(String)
        case placement(String)
        case capacity(String)
        case price(String)
        case policy(String)

        public var reason: String {
            switch self {
            case .excluded(let reason), .placement(let reason), .capacity(let reason), .price(let reason), .policy(let reason): reason
            }
        }
    }

    /// The node as the fragmentation measure sees it.
    var packingState: (model: String, cpuFree: Int, memoryFree: Int, gpuFree: [Int]) {
        (gpus.first?.model ?? "", cpuCoresFree * 1000, memoryMiBFree, gpus.map(\.freeMilli))
    }
}
