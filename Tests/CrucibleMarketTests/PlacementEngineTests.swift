import CrucibleCore
import CrucibleMarket
import CrucibleTestSupport
import Testing

@Suite struct PlacementEngineTests {
    static let noon: Int64 = 12 * 3_600_000

    func node(
        _ id: String, op: String = "op", region: String = "eu", cpuAsk: Int64 = 100, gpuAsk: Int64 = 2_000_000, cores: Int = 4, slots: Int = 2,
        active: Int = 0, gpus: [SupplyNode.GPU] = [], policy: AgentPolicy? = nil
    ) -> SupplyNode {
        var rules = policy ?? AgentPolicy()
        rules.askMicroPerCpuCoreHour = cpuAsk
        rules.askMicroPerGpuHour = gpuAsk
        return SupplyNode(
            nodeId: id, operatorAddress: op, region: region, gpus: gpus, cpuCores: cores, cpuCoresFree: cores, memoryMiBFree: 8192,
            runSlotsFree: slots, runsActive: active, policy: rules
        )
    }

    func gpus(_ model: String, _ free: [Int], tops: Double = 600, memoryMiB: Int = 81_920) -> [SupplyNode.GPU] {
        free.map { SupplyNode.GPU(model: model, memoryMiB: memoryMiB, provenTops: tops, freeMilli: $0) }
    }

    func rank(_ demand: Demand, _ supply: [SupplyNode], workload: [Demand] = [], atMs: Int64 = noon) -> [PlacementEngine.Placement] {
        PlacementEngine(profile: WorkloadProfile(workload.map(\.podDemand))).rank(demand, among: supply, atMs: atMs)
    }

    func cpu(max: Int64 = 1_000, placement: JobPlacement = .init(), requester: String = "alice", duration: Int = 60) -> Demand {
        Demand(cpuCores: 1, memoryMiB: 512, maxPriceMicroPerUnitHour: max, placement: placement, requester: requester, maxDurationS: duration)
    }

    @Test func cheapestFeasibleNodeComesFirst() {
        let supply = [node("b", cpuAsk: 300), node("a", cpuAsk: 200), node("c", cpuAsk: 100, cores: 0)]
        let ranked = rank(cpu(), supply)
        #expect(ranked.map(\.nodeId) == ["a", "b"])
        #expect(ranked.first?.priceMicroPerUnitHour == 200)
    }

    @Test func asksAboveTheMaximumAreNeverOffered() {
        #expect(rank(cpu(max: 1_999), [node("a", cpuAsk: 2_000)]).isEmpty)
    }

    @Test func exclusionsAndCapacityAreRespected() {
        let supply = [node("a", op: "x"), node("b", op: "y", cpuAsk: 200), node("c", op: "z", cpuAsk: 50, slots: 0)]
        var demand = cpu()
        demand.excludedNodes = ["a"]
        demand.excludedOperators = ["y"]
        #expect(rank(demand, supply).isEmpty)
    }

    @Test func gpuWorkNeedsAFreeGPUAndUsesTheGPUAsk() {
        let supply = [node("cpu", cpuAsk: 1), node("gpu", cpuAsk: 1, gpus: gpus("A10", [1000]))]
        let demand = Demand(gpus: 1, gpuMilliEach: 500, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000)
        #expect(rank(demand, supply) == [.init(nodeId: "gpu", priceMicroPerUnitHour: 2_000_000, gpuIndices: [0], fragmentationDelta: 0)])
    }

    @Test func equalPricesAndEqualFitGoToTheLessBusyNode() {
        #expect(rank(cpu(max: 100), [node("a", active: 1), node("b", active: 0)]).map(\.nodeId) == ["b", "a"])
    }

    @Test func aHalfGPUJobFillsTheHalfUsedGPUAndKeepsWholeGPUsWhole() {
        // Node "half" has one GPU half used; a half-GPU task belongs there, leaving "whole" able to take 2-GPU work.
        let supply = [node("whole", gpus: gpus("A10", [1000, 1000])), node("half", gpus: gpus("A10", [1000, 500]))]
        let half = Demand(gpus: 1, gpuMilliEach: 500, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000)
        let pair = Demand(gpus: 2, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000)
        let best = rank(half, supply, workload: [half, pair]).first
        #expect(best?.nodeId == "half")
        #expect(best?.gpuIndices == [1])
        #expect(rank(pair, supply, workload: [half, pair]).map(\.nodeId) == ["whole"])
    }

    @Test func fitWinsOnlyWithinThePriceBand() {
        let supply = [node("whole", gpuAsk: 1_000_000, gpus: gpus("A10", [1000, 1000])), node("half", gpuAsk: 1_050_000, gpus: gpus("A10", [1000, 500]))]
        let half = Demand(gpus: 1, gpuMilliEach: 500, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000)
        let pair = Demand(gpus: 2, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000)
        // 5% dearer is inside the default 10% band: fit decides.
        #expect(rank(half, supply, workload: [half, pair]).first?.nodeId == "half")
        // 25% dearer is outside it: the cheaper node wins.
        var dear = supply
        dear[1].policy.askMicroPerGpuHour = 1_250_000
        #expect(rank(half, dear, workload: [half, pair]).first?.nodeId == "whole")
    }

    @Test func modelMemoryAndProvenSpeedRulesChooseTheGPUs() {
        let supply = [
            node("t4", gpuAsk: 500_000, gpus: gpus("T4", [1000], tops: 120, memoryMiB: 16_384)),
            node("mixed", gpus: gpus("A10", [1000], tops: 240, memoryMiB: 24_576) + gpus("A100-80GB", [1000], tops: 600)),
            node("slow-h100", gpus: gpus("H100-SXM", [1000], tops: 300)),
        ]
        func demand(_ placement: JobPlacement) -> Demand {
            Demand(gpus: 1, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000, placement: placement)
        }
        #expect(rank(demand(.init()), supply).first?.nodeId == "t4")
        let big = rank(demand(.init(minGpuMemoryMiB: 40_000)), supply)
        // Equal fit and price: the fuller node first, so the node with a second GPU keeps it free.
        #expect(big.map(\.nodeId) == ["slow-h100", "mixed"])
        #expect(big.last?.gpuIndices == [1])
        // Proven throughput, not the model's name: the H100 that proved only 300 TOPS is not fast enough.
        #expect(rank(demand(.init(minTopsPerGpu: 500)), supply).map(\.nodeId) == ["mixed"])
        #expect(rank(demand(.init(gpuModels: ["H100-SXM", "T4"])), supply).map(\.nodeId) == ["t4", "slow-h100"])
        // A GPU of a model the catalog does not know is never placed on.
        let unknown = [node("x", gpus: [SupplyNode.GPU(model: nil, memoryMiB: 99_999, provenTops: 9_999)])]
        #expect(rank(demand(.init()), unknown).isEmpty)
    }

    @Test func jobsNeverCrossTheirRegionRules() {
        let supply = [node("eu", region: "eu-west", cpuAsk: 300), node("us", region: "us-east", cpuAsk: 100), node("cn", region: "cn-north", cpuAsk: 50)]
        #expect(rank(cpu(), supply).map(\.nodeId) == ["cn", "us", "eu"])
        #expect(rank(cpu(placement: .init(denyRegions: ["cn-north"])), supply).map(\.nodeId) == ["us", "eu"])
        #expect(rank(cpu(placement: .init(allowRegions: ["eu-west"])), supply).map(\.nodeId) == ["eu"])
        #expect(rank(cpu(placement: .init(allowRegions: ["ap-south"])), supply).isEmpty)
    }

    @Test func nodePoliciesAreAskedBeforeAnyOffer() {
        let nights = AgentPolicy(availableHoursUTC: [.init(fromHour: 22, toHour: 6)])
        let short = AgentPolicy(maxJobDurationS: 600)
        let friends = AgentPolicy(allowedRequesters: ["alice"])
        let residency = AgentPolicy(acceptDataFrom: ["eu"])
        let supply = [node("nights", policy: nights), node("short", policy: short), node("friends", policy: friends), node("residency", policy: residency)]
        #expect(Set(rank(cpu(), supply).map(\.nodeId)) == ["short", "friends"])
        #expect(Set(rank(cpu(), supply, atMs: 23 * 3_600_000).map(\.nodeId)) == ["nights", "short", "friends"])
        #expect(Set(rank(cpu(requester: "bob", duration: 3_600), supply).map(\.nodeId)).isEmpty)
        #expect(Set(rank(cpu(placement: .init(dataRegion: "eu")), supply).map(\.nodeId)) == ["short", "friends", "residency"])
        #expect(Set(rank(cpu(placement: .init(dataRegion: "us")), supply).map(\.nodeId)) == ["short", "friends"])
    }

    @Test func cpuWorkKeepsOffGPUNodesThatItWouldStarve() {
        // A GPU node whose 4 cores feed its GPUs and a CPU-only node at the same price: CPU work goes to the CPU node.
        let gpuTask = Demand(gpus: 1, cpuCores: 2, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000)
        let supply = [node("gpu", gpus: gpus("A10", [1000, 1000])), node("cpu")]
        #expect(rank(cpu(max: 100), supply, workload: [gpuTask, cpu()]).map(\.nodeId) == ["cpu", "gpu"])
    }

    @Test func aGangIsPlacedWholeWithinItsRoundTripOrNotAtAll() {
        // Three sites: two 2 ms apart, one 80 ms from both. The cheapest nodes sit at the far site, alone.
        let site = ["a": 0.0, "b": 2.0, "far": 80.0]
        let supply = [
            node("far-1", region: "far", gpuAsk: 500_000, gpus: gpus("A100-80GB", [1000, 1000])),
            node("a-1", region: "a", gpuAsk: 1_000_000, gpus: gpus("A100-80GB", [1000, 1000])),
            node("a-2", region: "a", gpuAsk: 1_100_000, gpus: gpus("A100-80GB", [1000, 1000])),
            node("b-1", region: "b", gpuAsk: 1_050_000, gpus: gpus("A100-80GB", [1000, 1000])),
            node("b-busy", region: "b", gpuAsk: 900_000, gpus: gpus("A100-80GB", [1000, 0])),
        ]
        func rtt(_ x: SupplyNode, _ y: SupplyNode) -> Double? { abs(site[x.region]! - site[y.region]!) + 0.1 }
        let engine = PlacementEngine(profile: WorkloadProfile([]))
        let member = Demand(gpus: 2, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 5_000_000)
        let gang = engine.placeGang(member, members: 3, maxRoundTripMs: 10, among: supply, atMs: Self.noon, roundTripMs: rtt)
        #expect(gang?.map(\.nodeId).sorted() == ["a-1", "a-2", "b-1"])
        #expect(gang?.allSatisfy { $0.gpuIndices == [0, 1] } == true)
        // Four members cannot be found within 10 ms, so none is placed; a looser bound takes the far node too.
        #expect(engine.placeGang(member, members: 4, maxRoundTripMs: 10, among: supply, atMs: Self.noon, roundTripMs: rtt) == nil)
        #expect(engine.placeGang(member, members: 4, maxRoundTripMs: 100, among: supply, atMs: Self.noon, roundTripMs: rtt)?.count == 4)
        // Nodes that are not cluster-ready, or whose round trips were never measured, never join.
        #expect(engine.placeGang(member, members: 3, maxRoundTripMs: 10, among: supply, atMs: Self.noon, clusterReady: { $0.nodeId != "a-2" }, roundTripMs: rtt) == nil)
        #expect(engine.placeGang(member, members: 2, maxRoundTripMs: 10, among: supply, atMs: Self.noon, roundTripMs: { _, _ in nil }) == nil)
        #expect(engine.placeGang(member, members: 1, maxRoundTripMs: 10, among: supply, atMs: Self.noon, roundTripMs: { _, _ in nil })?.map(\.nodeId) == ["far-1"])
    }

    @Test(.compute) func theIndexAnswersAsTheFullRankingThroughPlacementsAndReleases() async {
        var random = SplitMix64(seed: 11)
        let models = ["A10", "A100-80GB"]
        let shapes: [(Int, Int)] = [(1, 250), (1, 500), (1, 1000), (2, 1000), (4, 1000)]
        let engine = PlacementEngine(profile: WorkloadProfile(shapes.map { PodDemand(cpuMilli: 1_000, memoryMiB: 1, gpus: $0.0, gpuMilli: $0.1) }))
        // Few distinct asks, regions and sizes, so that many nodes share a state, as in a real network.
        let supply = (0..<120).map { index in
            node(
                "n\(index)", op: "op\(index % 7)", region: ["eu", "us"][Int.random(in: 0...1, using: &random)],
                gpuAsk: Int64(Int.random(in: 10...12, using: &random)) * 100_000, cores: 16, slots: 8,
                gpus: gpus(models[Int.random(in: 0...1, using: &random)], Array(repeating: 1000, count: [1, 4, 8][Int.random(in: 0...2, using: &random)]),
                           tops: Double(Int.random(in: 2...6, using: &random)) * 100)
            )
        }
        var book = MarketBook(nodes: supply, engine: engine)
        #expect(book.groupCount < supply.count / 2)
        var held = [(demand: Demand, node: Int, gpus: [Int])]()
        for step in 0..<600 {
            if !held.isEmpty, Int.random(in: 0..<3, using: &random) == 0 {
                let release = held.remove(at: Int.random(in: 0..<held.count, using: &random))
                book.release(release.demand, on: release.node, gpus: release.gpus)
                continue
            }
            let shape = shapes[Int.random(in: 0..<shapes.count, using: &random)]
            var demand = Demand(gpus: shape.0, gpuMilliEach: shape.1, cpuCores: 1, memoryMiB: 1, maxPriceMicroPerUnitHour: 1_150_000)
            switch step % 5 {
            case 1: demand.placement.minTopsPerGpu = 400
            case 2: demand.excludedOperators = ["op\(step % 7)"]
            case 3: demand.placement.denyRegions = ["us"]
            default: break
            }
            let expected = engine.rank(demand, among: book.nodes, atMs: Self.noon)
            #expect(book.rank(demand, atMs: Self.noon) == expected, "step \(step)")
            let best = book.best(demand, atMs: Self.noon)
            #expect(best == expected.first, "step \(step)")
            if let best, let index = book.index(of: best.nodeId) {
                book.take(demand, on: index, gpus: best.gpuIndices)
                held.append((demand, index, best.gpuIndices))
            }
        }
        #expect(held.count > 100)
    }
}
