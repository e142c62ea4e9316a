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
        /// Whether the catalog knows the model: only such GPUs are ever placed on.
        public let known: Bool

        public init(model: String?, memoryMiB: Int, provenTops: Double, freeMilli: Int = 1000) {
            self.model = model
            self.memoryMiB = memoryMiB
            self.provenTops = provenTops
            self.freeMilli = freeMilli
            known = model.map(GPUCatalog.gpuIds.contains) ?? false
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
    /// What the node renders with, as it registered.
    public var renderer: String?

    public init(
        nodeId: String, operatorAddress: String, region: String = "local", gpus: [GPU] = [], cpuCores: Int, cpuCoresFree: Int,
        memoryMiBFree: Int, runSlotsFree: Int, runsActive: Int = 0, policy: AgentPolicy, renderer: String? = nil
    ) {
        self.renderer = renderer
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
        let restricted = demand.placement.restrictsGPUs
        func accepted(_ gpu: GPU) -> Bool {
            gpu.known && (!restricted || demand.placement.accepts(model: gpu.model, memoryMiB: gpu.memoryMiB, provenTops: gpu.provenTops))
        }
        if demand.gpuMilliEach < 1000 {
            var choices = [[Int]]()
            for index in gpus.indices where gpus[index].freeMilli >= demand.gpuMilliEach && accepted(gpus[index]) {
                // One choice per distinct free amount: GPUs with equal free capacity are interchangeable.
                if !choices.contains(where: { gpus[$0[0]].freeMilli == gpus[index].freeMilli }) { choices.append([index]) }
            }
            return choices.isEmpty ? nil : choices
        }
        var whole = [Int]()
        whole.reserveCapacity(demand.gpus)
        for index in gpus.indices where whole.count < demand.gpus && gpus[index].freeMilli == 1000 && accepted(gpus[index]) { whole.append(index) }
        return whole.count == demand.gpus ? [whole] : nil
    }

    /// Whether `gpuIndices` is a valid choice for `demand` here: distinct GPUs the job accepts, each with room.
    public func canHold(_ demand: Demand, on gpuIndices: [Int]) -> Bool {
        guard gpuIndices.count == demand.gpus, Set(gpuIndices).count == gpuIndices.count else { return false }
        return gpuIndices.allSatisfy { index in
            gpus.indices.contains(index) && gpus[index].freeMilli >= demand.gpuMilliEach && gpus[index].known
                && demand.placement.accepts(model: gpus[index].model, memoryMiB: gpus[index].memoryMiB, provenTops: gpus[index].provenTops)
        }
    }

    /// The price this node would be paid for `demand` (its ask, within the requester's maximum) and, when it may
    /// not take the demand at all, why not. Everything but the GPU choice: rules, capacity, price and policy.
    public func terms(for demand: Demand, atMs: Int64) -> Result<Int64, Refusal> {
        // Cheapest tests first: the engine asks this of every node state near the best price.
        if runSlotsFree <= 0 { return .failure(.noRunSlot) }
        if cpuCoresFree < demand.cpuCores || memoryMiBFree < demand.memoryMiB { return .failure(.hostCapacity) }
        let ask = policy.askMicroPerUnitHour(gpuMilli: demand.gpuMilli)
        if ask > demand.maxPriceMicroPerUnitHour { return .failure(.price(ask: ask)) }
        if !demand.excludedNodes.isEmpty, demand.excludedNodes.contains(nodeId) { return .failure(.excludedNode) }
        if !demand.excludedOperators.isEmpty, demand.excludedOperators.contains(operatorAddress) { return .failure(.excludedOperator) }
        if !demand.placement.allows(region: region) { return .failure(.region(region)) }
        if let wanted = demand.renderer, renderer != wanted { return .failure(.renderer(wanted)) }
        let terms = AgentPolicy.OfferTerms(
            kind: demand.kind, priceMicroPerUnitHour: ask, requester: demand.requester, maxDurationS: demand.maxDurationS,
            dataRegion: demand.placement.dataRegion, atMs: atMs
        )
        // The run slots are checked above; the policy's own concurrency rule is the same number.
        if let rejection = policy.rejection(terms, runningNow: 0) { return .failure(.policy(rejection)) }
        return .success(ask)
    }

    /// Why a node may not take a demand, as data; `reason` puts it in words.
    public enum Refusal: Error, Equatable, Sendable {
        case noRunSlot
        case hostCapacity
        case price(ask: Int64)
        case excludedNode
        case excludedOperator
        case region(String)
        /// The frame a render check compares with came from another renderer.
        case renderer(String)
        case policy(AgentPolicy.Rejection)

        public var reason: String {
            switch self {
            case .noRunSlot: "no run slot free"
            case .hostCapacity: "not enough CPU or memory free"
            case .price(let ask): "the node asks \(Amount.format(ask)), above the job's maximum"
            case .excludedNode: "the run already left this node"
            case .excludedOperator: "the run checks this operator's work"
            case .region(let region): "region \(region) is not allowed by the job"
            case .renderer(let renderer): "the frame it checks was rendered with \(renderer), which this node does not run"
            case .policy(let rejection): rejection.reason
            }
        }
    }

    /// The node as the fragmentation measure sees it.
    var packingState: (model: String, cpuFree: Int, memoryFree: Int, gpuFree: [Int]) {
        (gpus.first?.model ?? "", cpuCoresFree * 1000, memoryMiBFree, gpus.map(\.freeMilli))
    }
}
