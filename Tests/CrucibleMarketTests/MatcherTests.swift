import CrucibleMarket
import Testing

@Suite struct MatcherTests {
    func node(_ id: String, op: String = "op", cpuAsk: Int64, cores: Int = 4, slots: Int = 2, active: Int = 0, gpuMilli: Int = 0) -> SupplyNode {
        SupplyNode(nodeId: id, operatorAddress: op, gpuMilliFree: gpuMilli, cpuCoresFree: cores, memoryMiBFree: 8192, runSlotsFree: slots,
                   askMicroPerGpuHour: 2_000_000, askMicroPerCpuCoreHour: cpuAsk, runsActive: active)
    }

    @Test func cheapestFeasibleNodeComesFirst() {
        let supply = [node("b", cpuAsk: 300), node("a", cpuAsk: 200), node("c", cpuAsk: 100, cores: 0)]
        let ranked = Matcher.rank(Demand(gpuMilli: 0, cpuCores: 1, memoryMiB: 512, maxPriceMicroPerUnitHour: 1_000), among: supply)
        #expect(ranked.map(\.nodeId) == ["a", "b"])
        #expect(ranked.first?.priceMicroPerUnitHour == 200)
    }

    @Test func asksAboveTheMaximumAreNeverOffered() {
        let supply = [node("a", cpuAsk: 2_000)]
        #expect(Matcher.rank(Demand(gpuMilli: 0, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 1_999), among: supply).isEmpty)
    }

    @Test func exclusionsAndCapacityAreRespected() {
        let supply = [node("a", op: "x", cpuAsk: 100), node("b", op: "y", cpuAsk: 200), node("c", op: "z", cpuAsk: 50, slots: 0)]
        let demand = Demand(gpuMilli: 0, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 1_000, excludedNodes: ["a"], excludedOperators: ["y"])
        #expect(Matcher.rank(demand, among: supply).isEmpty)
    }

    @Test func gpuWorkNeedsFreeGPUAndUsesTheGPUAsk() {
        let supply = [node("cpu", cpuAsk: 1), node("gpu", cpuAsk: 1, gpuMilli: 1000)]
        let ranked = Matcher.rank(Demand(gpuMilli: 500, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000), among: supply)
        #expect(ranked == [Matcher.Candidate(nodeId: "gpu", priceMicroPerUnitHour: 2_000_000)])
    }

    @Test func equalPricesGoToTheLessBusyNode() {
        let supply = [node("a", cpuAsk: 100, active: 1), node("b", cpuAsk: 100, active: 0)]
        #expect(Matcher.rank(Demand(gpuMilli: 0, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 100), among: supply).map(\.nodeId) == ["b", "a"])
    }
}
