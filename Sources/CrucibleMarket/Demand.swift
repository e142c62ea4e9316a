import CrucibleCore

/// One run waiting for a node: its shape, its price limit, its placement rules and what a node's policy looks at.
public struct Demand: Sendable, Equatable {
    /// GPUs per run (0: CPU work) and each one's share in thousandths (1000: the whole GPU).
    public var gpus: Int
    public var gpuMilliEach: Int
    public var cpuCores: Int
    public var memoryMiB: Int
    public var maxPriceMicroPerUnitHour: Int64
    public var placement: JobPlacement
    public var kind: JobSpec.Kind
    public var requester: String
    public var maxDurationS: Int
    /// Nodes that already refused or lost this run.
    public var excludedNodes: Set<String>
    /// A replica must run under another operator than the run it checks.
    public var excludedOperators: Set<String>
    /// A render check must run on the renderer the frame it checks came from (nil: any).
    public var renderer: String?

    public init(
        gpus: Int = 0, gpuMilliEach: Int = 1000, cpuCores: Int, memoryMiB: Int, maxPriceMicroPerUnitHour: Int64,
        placement: JobPlacement = .init(), kind: JobSpec.Kind = .batch, requester: String = "", maxDurationS: Int = 60,
        excludedNodes: Set<String> = [], excludedOperators: Set<String> = []
    ) {
        self.gpus = gpus
        self.gpuMilliEach = gpus == 0 ? 0 : gpuMilliEach
        self.cpuCores = cpuCores
        self.memoryMiB = memoryMiB
        self.maxPriceMicroPerUnitHour = maxPriceMicroPerUnitHour
        self.placement = placement
        self.kind = kind
        self.requester = requester
        self.maxDurationS = maxDurationS
        self.excludedNodes = excludedNodes
        self.excludedOperators = excludedOperators
    }

    /// The demand of one run of a job.
    public init(spec: JobSpec, requester: String, excludedNodes: Set<String> = [], excludedOperators: Set<String> = []) {
        let shape = spec.gpuShape
        self.init(
            gpus: shape.gpus, gpuMilliEach: shape.milliEach, cpuCores: spec.resources.cpuCores, memoryMiB: spec.resources.memoryMiB,
            maxPriceMicroPerUnitHour: spec.maxPriceMicroPerUnitHour, placement: spec.placement, kind: spec.kind,
            requester: requester, maxDurationS: spec.maxDurationS, excludedNodes: excludedNodes, excludedOperators: excludedOperators
        )
    }

    /// GPU thousandths asked in all.
    public var gpuMilli: Int { gpus * gpuMilliEach }

    /// The same demand as the packing measure sees it.
    public var podDemand: PodDemand {
        PodDemand(cpuMilli: cpuCores * 1000, memoryMiB: memoryMiB, gpus: gpus, gpuMilli: gpuMilliEach, models: placement.gpuModels)
    }
}
