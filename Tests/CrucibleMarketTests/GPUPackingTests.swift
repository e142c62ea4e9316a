import CrucibleCore
import CrucibleMarket
import Testing

@Suite struct GPUPackingTests {
    func packer(_ nodes: [PackingNode], workload: [PodDemand]) -> GPUPacker {
        GPUPacker(nodes: nodes, profile: WorkloadProfile(workload))
    }

    @Test func placementsRespectEveryConstraintAndARefusalChangesNothing() {
        var random = SplitMix64(seed: 1)
        let t4 = PackingNode(model: "T4", cpuMilli: 8_000, memoryMiB: 16_384, gpus: 2)
        let a10 = PackingNode(model: "A10", cpuMilli: 8_000, memoryMiB: 16_384, gpus: 1)
        for policy in GPUPacker.Policy.allCases {
            var packing = packer([t4, a10], workload: [PodDemand(cpuMilli: 1_000, memoryMiB: 1_024, gpus: 1, gpuMilli: 1_000)])
            // Only an A10 will do: it goes to the A10 node whatever the policy.
            #expect(packing.place(PodDemand(cpuMilli: 1_000, memoryMiB: 1_024, gpus: 1, gpuMilli: 600, models: ["A10"]), policy: policy, using: &random))
            #expect(packing.nodes[1].gpuFree == [400])
            // 0.5 of a GPU no longer fits the A10's 0.4; two whole GPUs fit only the T4 node.
            #expect(packing.place(PodDemand(cpuMilli: 1_000, memoryMiB: 1_024, gpus: 2, gpuMilli: 1_000), policy: policy, using: &random))
            #expect(packing.nodes[0].gpuFree == [0, 0])
            let before = packing.nodes
            for refused in [
                PodDemand(cpuMilli: 1_000, memoryMiB: 1_024, gpus: 1, gpuMilli: 500),
                PodDemand(cpuMilli: 9_000, memoryMiB: 1, gpus: 0, gpuMilli: 0),
                PodDemand(cpuMilli: 1, memoryMiB: 1, gpus: 1, gpuMilli: 100, models: ["H100"]),
            ] {
                #expect(!packing.place(refused, policy: policy, using: &random), "\(policy) placed \(refused)")
                #expect(packing.nodes == before)
            }
            #expect(packing.allocatedGPUMilli == 2_600 && abs(packing.allocatedShare - 2_600.0 / 3_000) < 1e-12)
        }
    }

    @Test func aCPUOnlyTaskGoesWhereItStrandsNoGPU() {
        // Node 0 has little CPU left beside two free GPUs; node 1 has plenty. Best-fit fills the tighter node and
        // leaves its GPUs without CPU; the fragmentation-aware engine keeps them usable.
        var tight = PackingNode(model: "T4", cpuMilli: 16_000, memoryMiB: 65_536, gpus: 2)
        tight.cpuFree = 6_000
        let roomy = PackingNode(model: "T4", cpuMilli: 64_000, memoryMiB: 65_536, gpus: 2)
        let workload = [PodDemand(cpuMilli: 4_000, memoryMiB: 8_192, gpus: 1, gpuMilli: 1_000), PodDemand(cpuMilli: 4_000, memoryMiB: 8_192, gpus: 0, gpuMilli: 0)]
        let cpuTask = PodDemand(cpuMilli: 4_000, memoryMiB: 8_192, gpus: 0, gpuMilli: 0)
        var random = SplitMix64(seed: 2)
        var bestFit = packer([tight, roomy], workload: workload)
        bestFit.place(cpuTask, policy: .bestFit, using: &random)
        #expect(bestFit.nodes[0].cpuFree == 2_000)
        var engine = packer([tight, roomy], workload: workload)
        engine.place(cpuTask, policy: .fragmentation, using: &random)
        #expect(engine.nodes[0].cpuFree == 6_000 && engine.nodes[1].cpuFree == 60_000)
    }

    @Test func aSharedGPUTaskGoesToTheCardItLeastFragments() {
        // One card has 0.3 free, another 0.6: a 0.3 task that fills the first leaves the 0.6 whole for the workload's
        // 0.5 tasks.
        var node = PackingNode(model: "T4", cpuMilli: 32_000, memoryMiB: 65_536, gpus: 3)
        node.gpuFree = [300, 600, 1_000]
        let workload = [PodDemand(cpuMilli: 1_000, memoryMiB: 1_024, gpus: 1, gpuMilli: 500), PodDemand(cpuMilli: 1_000, memoryMiB: 1_024, gpus: 1, gpuMilli: 300)]
        var engine = packer([node], workload: workload)
        var random = SplitMix64(seed: 3)
        engine.place(PodDemand(cpuMilli: 1_000, memoryMiB: 1_024, gpus: 1, gpuMilli: 300), policy: .fragmentation, using: &random)
        #expect(engine.nodes[0].gpuFree == [0, 600, 1_000])
    }
}
