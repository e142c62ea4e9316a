import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Testing

/// The matching engine inside the state machine: per-GPU placement, job rules and node policies, each checked
/// again when a decision is applied, so no logged offer can cross them. Hardware proof and stake are other suites'.
@Suite struct MarketStateTests {
    let requester = SigningIdentity()
    let operatorA = SigningIdentity()
    let gpuNode = SigningIdentity()
    let cpuNode = SigningIdentity()
    let parameters = NetworkParameters(challenges: ChallengePolicy(required: false), economy: .none)

    /// A node with two A10s that `nvidia-smi` numbers 3 and 5, in region "eu-west", and a CPU node in "us-east".
    func genesis(gpuPolicy: AgentPolicy = AgentPolicy(maxConcurrentRuns: 8)) throws -> NetworkState {
        var state = NetworkState()
        try state.apply(.genesis(.init(coordinator: SigningIdentity().address, parameters: parameters, allocations: [
            .init(address: requester.address, amountMicro: 1_000_000_000),
        ])), atMs: 0)
        let a10s = [3, 5].map { HardwareProfile.GPU(index: $0, uuid: "GPU-\($0)", name: "NVIDIA A10", memoryMiB: 24_576, driverVersion: "550", model: "A10") }
        let nodes: [(SigningIdentity, HardwareProfile, AgentPolicy, String)] = [
            (gpuNode, HardwareProfile(gpus: a10s, cpuModel: "c", cpuCores: 16, memoryMiB: 65_536, os: "l"), gpuPolicy, "eu-west"),
            (cpuNode, HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 8_192, os: "l"), AgentPolicy(), "us-east"),
        ]
        for (node, hardware, policy, region) in nodes {
            let registration = NodeRegistration.authorized(node: node.address, by: operatorA, hardware: hardware, policy: policy, region: region, agentVersion: "t")
            try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: 0)
        }
        return state
    }

    func submit(_ state: inout NetworkState, tasks: Int = 1, gpuMilli: Int, placement: JobPlacement = .init()) throws -> String {
        let spec = JobSpec(name: "t", command: "true", taskCount: tasks, resources: .init(gpuMilli: gpuMilli, cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000,
                           maxDurationS: 3600, placement: placement)
        return try #require(try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: 1).jobId)
    }

    func decide(_ state: NetworkState, atMs: Int64 = 10) -> LogEvent? {
        var generator = SystemRandomNumberGenerator()
        return Scheduler(nowMs: atMs, onlineNodes: [gpuNode.address, cpuNode.address], lastHeartbeatMs: [:]).nextDecision(in: state, using: &generator)
    }

    func expectRefused(_ event: LogEvent, _ state: NetworkState, sourceLocation: SourceLocation = #_sourceLocation) {
        var copy = state
        #expect(sourceLocation: sourceLocation) { try copy.apply(event, atMs: 10) } throws: { ($0 as? CrucibleError)?.code == .conflict }
        #expect(copy.projectionSnapshot() == state.projectionSnapshot(), sourceLocation: sourceLocation)
        #expect(copy.runs == state.runs, sourceLocation: sourceLocation)
    }

    @Test func wholeGPURunsGetDistinctGPUsAndSeeOnlyThem() throws {
        var state = try genesis()
        let jobId = try submit(&state, tasks: 3, gpuMilli: 1000)
        var held = [[Int]]()
        while let decision = decide(state) {
            guard case .offer(let runId, let nodeId, _, _, let gpus) = decision else { Issue.record("expected offers, got \(decision)"); return }
            #expect(nodeId == gpuNode.address)
            try state.apply(decision, atMs: 10)
            let run = try #require(state.runs[runId])
            held.append(try #require(state.gpuDevices(of: run, on: nodeId)))
            #expect(gpus.count == 1)
        }
        // Two A10s, three one-GPU tasks: two offers on different GPUs, and the third waits.
        #expect(held.sorted { $0[0] < $1[0] } == [[3], [5]])
        #expect(state.queuedRunIds == ["\(jobId).2.p1"])
    }

    @Test func sharesOfAGPUFillOneGPUBeforeTheNext() throws {
        var state = try genesis()
        _ = try submit(&state, tasks: 3, gpuMilli: 400)
        var gpus = [Int]()
        while let decision = decide(state), case .offer(_, _, _, _, let held) = decision {
            try state.apply(decision, atMs: 10)
            gpus += held
        }
        // 0.4 + 0.4 share the first GPU; the third share no longer fits there and takes the second.
        #expect(gpus.sorted() == [0, 0, 1])
    }

    @Test func aTwoGPUTaskWaitsForTwoWholeGPUs() throws {
        var state = try genesis()
        _ = try submit(&state, gpuMilli: 500)
        let first = try #require(decide(state))
        try state.apply(first, atMs: 10)
        let pair = try submit(&state, gpuMilli: 2000)
        #expect(decide(state) == nil, "one GPU is half used, so two whole ones are not free")
        guard case .offer(let runId, _, _, _, _) = first else { Issue.record("expected an offer"); return }
        try state.apply(.offerLapsed(runId: runId), atMs: parameters.offerTimeoutMs + 20)
        guard case .offer(let pairRun, _, _, _, let gpus) = decide(state, atMs: parameters.offerTimeoutMs + 20) else { Issue.record("expected an offer"); return }
        #expect(pairRun == "\(pair).0.p1")
        #expect(gpus == [0, 1])
    }

    @Test func offersAcrossAnyRuleAreRefusedAndChangeNothing() throws {
        var state = try genesis(gpuPolicy: AgentPolicy(maxConcurrentRuns: 8, maxJobDurationS: 7_200))
        let job = try submit(&state, gpuMilli: 1000, placement: .init(denyRegions: ["eu-west"]))
        let run = "\(job).0.p1"
        #expect(decide(state) == nil, "the only GPU node is in a denied region")
        expectRefused(.offer(runId: run, nodeId: gpuNode.address, priceMicroPerUnitHour: 1_500_000, deadlineMs: 100, gpus: [0]), state)

        let fits = try submit(&state, gpuMilli: 1000, placement: .init(gpuModels: ["A10"], minGpuMemoryMiB: 24_000))
        let fitsRun = "\(fits).0.p1"
        // Not the node's ask; a GPU it does not have; the same GPU twice; the CPU node, which has none.
        expectRefused(.offer(runId: fitsRun, nodeId: gpuNode.address, priceMicroPerUnitHour: 1_400_000, deadlineMs: 100, gpus: [0]), state)
        expectRefused(.offer(runId: fitsRun, nodeId: gpuNode.address, priceMicroPerUnitHour: 1_500_000, deadlineMs: 100, gpus: [2]), state)
        expectRefused(.offer(runId: fitsRun, nodeId: cpuNode.address, priceMicroPerUnitHour: 1_500_000, deadlineMs: 100, gpus: []), state)
        try state.apply(.offer(runId: fitsRun, nodeId: gpuNode.address, priceMicroPerUnitHour: 1_500_000, deadlineMs: 100, gpus: [1]), atMs: 10)
        let second = try submit(&state, gpuMilli: 1000)
        expectRefused(.offer(runId: "\(second).0.p1", nodeId: gpuNode.address, priceMicroPerUnitHour: 1_500_000, deadlineMs: 100, gpus: [1]), state)

        // The node's policy: it takes jobs of up to two hours only.
        let long = JobSpec(name: "t", command: "true", resources: .init(gpuMilli: 1000, cpuCores: 1), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 7_201)
        let longJob = try #require(try state.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: long), kind: .submitJob, by: requester)), atMs: 2).jobId)
        expectRefused(.offer(runId: "\(longJob).0.p1", nodeId: gpuNode.address, priceMicroPerUnitHour: 1_500_000, deadlineMs: 100, gpus: [0]), state)
    }

    @Test func anOfferLoggedBeforePerGPUPlacementTakesTheFirstFreeGPUs() throws {
        var state = try genesis()
        let first = try submit(&state, gpuMilli: 1000)
        let second = try submit(&state, gpuMilli: 1000)
        try state.apply(.offer(runId: "\(first).0.p1", nodeId: gpuNode.address, priceMicroPerUnitHour: 1_500_000, deadlineMs: 100), atMs: 10)
        try state.apply(.offer(runId: "\(second).0.p1", nodeId: gpuNode.address, priceMicroPerUnitHour: 1_500_000, deadlineMs: 100), atMs: 10)
        #expect(state.runs["\(first).0.p1"]?.gpuIndices == [0])
        #expect(state.runs["\(second).0.p1"]?.gpuIndices == [1])
    }

    @Test(arguments: [
        (JobSpec.Resources(gpuMilli: 1500, cpuCores: 1), JobPlacement()),
        (JobSpec.Resources(gpuMilli: 1000, cpuCores: 1), JobPlacement(gpuModels: ["GTX-480"])),
        (JobSpec.Resources(gpuMilli: 0, cpuCores: 1), JobPlacement(minGpuMemoryMiB: 1)),
        (JobSpec.Resources(gpuMilli: 0, cpuCores: 1), JobPlacement(allowRegions: ["eu"], denyRegions: ["eu"])),
        (JobSpec.Resources(gpuMilli: 0, cpuCores: 1), JobPlacement(denyRegions: [""])),
        (JobSpec.Resources(gpuMilli: 1000, cpuCores: 1), JobPlacement(minTopsPerGpu: -1)),
    ])
    func specsWithBadPlacementAreRefused(_ resources: JobSpec.Resources, _ placement: JobPlacement) throws {
        let state = try genesis()
        let spec = JobSpec(name: "t", command: "true", resources: resources, maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 60, placement: placement)
        var copy = state
        #expect { try copy.apply(.envelope(try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: requester)), atMs: 1) } throws: {
            ($0 as? CrucibleError)?.code == .invalidSpec
        }
        #expect(copy.ledger == state.ledger)
        #expect(copy.jobs.isEmpty)
    }

    @Test func aWaitingJobSaysWhyCountedOverTheNodesOnline() throws {
        var state = try genesis()
        let online: Set<String> = [gpuNode.address, cpuNode.address]
        let denied = try submit(&state, gpuMilli: 1000, placement: .init(denyRegions: ["eu-west"]))
        let why = try #require(state.whyWaiting(jobId: denied, onlineNodes: online, atMs: 10))
        #expect(why.contains("region eu-west is not allowed by the job (1 of 2 online nodes)"))
        #expect(why.contains("the node has no GPU that the job accepts (1 of 2 online nodes)"))
        #expect(state.whyWaiting(jobId: denied, onlineNodes: [], atMs: 10) == "no node is online")
        let fine = try submit(&state, gpuMilli: 1000)
        #expect(state.whyWaiting(jobId: fine, onlineNodes: online, atMs: 10)?.hasPrefix("a node can take it") == true)
        // Once offered, nothing of the job waits; a third job finds both A10s held and says so.
        try state.apply(try #require(decide(state)), atMs: 10)
        #expect(state.whyWaiting(jobId: fine, onlineNodes: online, atMs: 10) == nil)
        _ = try submit(&state, gpuMilli: 1000)
        try state.apply(try #require(decide(state)), atMs: 10)
        let third = try submit(&state, gpuMilli: 1000)
        #expect(state.whyWaiting(jobId: third, onlineNodes: [gpuNode.address], atMs: 10) == "its GPUs are busy (1 of 1 online nodes)")
    }

    @Test func thePriceBandIsAGovernedParameterTheSchedulerUses() throws {
        // A one-GPU task: the 5%-dearer single-A10 node fits it best (the two-A10 node stays whole for the
        // two-GPU task behind it); with no band, price alone decides.
        func firstOffer(bandBps: Int64) throws -> String? {
            var parameters = self.parameters
            parameters.priceBandBps = bandBps
            var state = NetworkState()
            try state.apply(.genesis(.init(coordinator: SigningIdentity().address, parameters: parameters, allocations: [
                .init(address: requester.address, amountMicro: 1_000_000_000),
            ])), atMs: 0)
            func a10s(_ count: Int) -> [HardwareProfile.GPU] {
                (0..<count).map { HardwareProfile.GPU(index: $0, uuid: "GPU-\($0)", name: "NVIDIA A10", memoryMiB: 24_576, driverVersion: "550", model: "A10") }
            }
            for (node, cards, ask) in [(gpuNode, 2, Int64(1_000_000)), (cpuNode, 1, Int64(1_050_000))] {
                let registration = NodeRegistration.authorized(
                    node: node.address, by: operatorA, hardware: HardwareProfile(gpus: a10s(cards), cpuModel: "c", cpuCores: 16, memoryMiB: 65_536, os: "l"),
                    policy: AgentPolicy(askMicroPerGpuHour: ask), region: "eu", agentVersion: "t"
                )
                try state.apply(.envelope(try SignedEnvelope.sign(registration, kind: .registerNode, by: node)), atMs: 0)
            }
            _ = try submit(&state, gpuMilli: 1000)
            _ = try submit(&state, gpuMilli: 2000)
            guard case .offer(_, let nodeId, _, _, _) = decide(state) else { return nil }
            return nodeId
        }
        #expect(try firstOffer(bandBps: 1_000) == cpuNode.address)
        #expect(try firstOffer(bandBps: 0) == gpuNode.address)
        #expect(try parameters.applying([.init(name: "priceBandBps", value: 2_500)]).priceBandBps == 2_500)
        #expect(throws: CrucibleError.self) { try parameters.applying([.init(name: "priceBandBps", value: 10_001)]) }
    }
}
