/// A node as the matcher sees it: what it has free right now and what it asks.
public struct SupplyNode: Sendable, Equatable {
    public var nodeId: String
    public var operatorAddress: String
    public var gpuMilliFree: Int
    public var cpuCoresFree: Int
    public var memoryMiBFree: Int
    public var runSlotsFree: Int
    public var askMicroPerGpuHour: Int64
    public var askMicroPerCpuCoreHour: Int64
    /// Runs on the node now; the tie-breaker that spreads equal-priced work.
    public var runsActive: Int

    public init(
        nodeId: String, operatorAddress: String, gpuMilliFree: Int, cpuCoresFree: Int, memoryMiBFree: Int,
        runSlotsFree: Int, askMicroPerGpuHour: Int64, askMicroPerCpuCoreHour: Int64, runsActive: Int
    ) {
        self.nodeId = nodeId
        self.operatorAddress = operatorAddress
        self.gpuMilliFree = gpuMilliFree
        self.cpuCoresFree = cpuCoresFree
        self.memoryMiBFree = memoryMiBFree
        self.runSlotsFree = runSlotsFree
        self.askMicroPerGpuHour = askMicroPerGpuHour
        self.askMicroPerCpuCoreHour = askMicroPerCpuCoreHour
        self.runsActive = runsActive
    }
}
