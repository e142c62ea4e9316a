/// One run waiting for a node.
public struct Demand: Sendable, Equatable {
    public var gpuMilli: Int
    public var cpuCores: Int
    public var memoryMiB: Int
    public var maxPriceMicroPerUnitHour: Int64
    /// Nodes that already refused or lost this run.
    public var excludedNodes: Set<String>
    /// A replica must run under another operator than the run it checks.
    public var excludedOperators: Set<String>

    public init(
        gpuMilli: Int, cpuCores: Int, memoryMiB: Int, maxPriceMicroPerUnitHour: Int64,
        excludedNodes: Set<String> = [], excludedOperators: Set<String> = []
    ) {
        self.gpuMilli = gpuMilli
        self.cpuCores = cpuCores
        self.memoryMiB = memoryMiB
        self.maxPriceMicroPerUnitHour = maxPriceMicroPerUnitHour
        self.excludedNodes = excludedNodes
        self.excludedOperators = excludedOperators
    }
}
