import CrucibleCore
import Testing

@Suite struct AgentPolicyAndCatalogTests {
    func terms(price: Int64 = 600_000, requester: String = "good", duration: Int = 60, data: String? = nil, hour: Int64 = 12) -> AgentPolicy.OfferTerms {
        AgentPolicy.OfferTerms(kind: .batch, priceMicroPerUnitHour: price, requester: requester, maxDurationS: duration, dataRegion: data, atMs: hour * 3_600_000)
    }

    @Test func policyDecidesByItsRules() {
        let policy = AgentPolicy(minPriceMicroPerUnitHour: 500_000, allowedKinds: [.batch], maxConcurrentRuns: 2, blockedRequesters: ["bad"])
        #expect(policy.decide(terms(), runningNow: 0) == .accept)
        guard case .reject(let price) = policy.decide(terms(price: 400_000), runningNow: 0) else {
            Issue.record("accepted below the minimum price"); return
        }
        #expect(price.contains("below the minimum"))
        #expect(policy.decide(terms(requester: "bad"), runningNow: 0) != .accept)
        #expect(policy.decide(terms(), runningNow: 2) != .accept)
    }

    @Test func laterRulesDecideToo() {
        var policy = AgentPolicy(minPriceMicroPerUnitHourByKind: ["batch": 700_000])
        #expect(policy.decide(terms(price: 650_000), runningNow: 0) != .accept)
        #expect(policy.decide(terms(price: 700_000), runningNow: 0) == .accept)
        policy = AgentPolicy(availableHoursUTC: [.init(fromHour: 22, toHour: 6), .init(fromHour: 12, toHour: 13)])
        #expect([23, 0, 5, 12].allSatisfy { policy.decide(terms(hour: $0), runningNow: 0) == .accept })
        #expect([6, 11, 13, 21].allSatisfy { policy.decide(terms(hour: $0), runningNow: 0) != .accept })
        policy = AgentPolicy(maxJobDurationS: 3_600)
        #expect(policy.decide(terms(duration: 3_600), runningNow: 0) == .accept)
        #expect(policy.decide(terms(duration: 3_601), runningNow: 0) != .accept)
        policy = AgentPolicy(allowedRequesters: ["friend"])
        #expect(policy.decide(terms(requester: "friend"), runningNow: 0) == .accept)
        #expect(policy.decide(terms(), runningNow: 0) != .accept)
        policy = AgentPolicy(refuseDataFrom: ["xx"])
        #expect(policy.decide(terms(data: "eu"), runningNow: 0) == .accept)
        #expect(policy.decide(terms(data: "xx"), runningNow: 0) != .accept)
        // A node that rules on data origin takes no job that keeps quiet about its own.
        #expect(policy.decide(terms(), runningNow: 0) != .accept)
    }

    @Test(arguments: [
        AgentPolicy(minPriceMicroPerUnitHourByKind: ["render-farm": 1]),
        AgentPolicy(minPriceMicroPerUnitHourByKind: ["batch": -1]),
        AgentPolicy(blockedRequesters: ["a"], allowedRequesters: ["a"]),
        AgentPolicy(availableHoursUTC: [.init(fromHour: 5, toHour: 5)]),
        AgentPolicy(availableHoursUTC: [.init(fromHour: 24, toHour: 3)]),
        AgentPolicy(maxJobDurationS: -1),
        AgentPolicy(acceptDataFrom: ["eu"], refuseDataFrom: ["eu"]),
    ])
    func badPoliciesAreRefused(_ policy: AgentPolicy) {
        #expect(throws: CrucibleError.self) { try policy.validate() }
    }

    @Test func askFollowsWorkloadUnit() {
        let policy = AgentPolicy(askMicroPerGpuHour: 2_000_000, askMicroPerCpuCoreHour: 50_000)
        #expect(policy.askMicroPerUnitHour(gpuMilli: 500) == 2_000_000)
        #expect(policy.askMicroPerUnitHour(gpuMilli: 0) == 50_000)
    }

    @Test(arguments: [
        ("NVIDIA H100 80GB HBM3", "H100-SXM"),
        ("NVIDIA H100 PCIe", "H100-PCIe"),
        ("NVIDIA H200", "H200"),
        ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
        ("NVIDIA A100-PCIE-40GB", "A100-40GB"),
        ("NVIDIA A10", "A10"),
        ("NVIDIA H100 NVL", "H100-NVL"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA L40S", "L40S"),
        ("Tesla T4", "T4"),
        ("NVIDIA GeForce RTX 4090", "RTX-4090"),
        ("NVIDIA GeForce RTX 5090", "RTX-5090"),
        ("NVIDIA GeForce RTX 3090", "RTX-3090"),
        ("Tesla V100-SXM2-32GB", "V100"),
    ])
    func catalogRecognisesNvidiaSmiNames(name: String, model: String) {
        #expect(GPUCatalog.model(forName: name)?.id == model)
    }

    @Test func catalogCarriesDatasheetFiguresAndACPUEntry() {
        let h100 = GPUCatalog.model(id: "H100-SXM")!
        #expect(h100.denseInt8Tops == 1979 && h100.bf16Tflops == 989 && h100.memoryBandwidthGBs == 3350)
        #expect(GPUCatalog.model(id: "A100-80GB")?.denseInt8Tops == 624)
        #expect(GPUCatalog.model(id: "RTX-4090")?.denseInt8Tops == 660.6)
        #expect(GPUCatalog.model(id: "T4")?.bf16Tflops == nil)
        // A CPU's claim scales with its cores; a GPU's does not.
        #expect(GPUCatalog.cpu.claimedInt8Tops(cpuCores: 8) == 8 * GPUCatalog.cpu.denseInt8Tops)
        #expect(h100.claimedInt8Tops(cpuCores: 8) == 1979)
        #expect(GPUCatalog.model(id: "cpu") == GPUCatalog.cpu)
        #expect(GPUCatalog.model(id: "H300") == nil)
        #expect(Set(GPUCatalog.models.map(\.id)).count == GPUCatalog.models.count)
    }

    @Test func unknownGPUIsNotGuessed() {
        #expect(GPUCatalog.model(forName: "Matrox G200eR2") == nil)
    }
}
