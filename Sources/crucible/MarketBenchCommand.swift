import ArgumentParser
import CrucibleCore
import CrucibleMarket
import CrucibleSim
import Foundation

/// `crucible bench market`: how fast the engines decide. First the packing engine alone (`GPUPacker`, as `sim pack`
/// uses it) on 8-GPU nodes; then the coordinator's engine (`MarketBook`) on the simulated network of `sim market` —
/// prices, regions, policies and rules — for single-GPU, 8-GPU and 4-node cluster jobs, held at a steady fill, beside
/// the full ranking it replaces. Figures, not assertions.
struct MarketBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market",
        abstract: "Measure packing decisions per second and their latency on a fleet of GPUs, per policy."
    )

    @Option(help: "GPUs in the fleet (8 per node).") var gpus: Int = 20_000
    @Option(help: "Decisions to time per policy.") var decisions: Int = 2_000
    @Option(help: "Seed of the task stream.") var seed: UInt64 = 1
    @Option(help: "Share of the fleet's GPUs kept busy while the coordinator's engine is timed.") var fill: Double = 0.75

    func validate() throws {
        guard (8...1_000_000).contains(gpus), (1...1_000_000).contains(decisions) else { throw ValidationError("--gpus 8…1000000, --decisions 1…1000000") }
        guard fill >= 0, fill < 1 else { throw ValidationError("--fill must be at least 0 and below 1") }
    }

    func run() async throws {
        benchPacker()
        print("")
        benchBook()
    }

    func benchPacker() {
        let nodes = (0..<gpus / 8).map { index in PackingNode(model: index % 3 == 0 ? "A100" : "H100", cpuMilli: 128_000, memoryMiB: 1_048_576, gpus: 8) }
        var random = SplitMix64(seed: seed)
        let shapes = [
            PodDemand(cpuMilli: 8_000, memoryMiB: 65_536, gpus: 1, gpuMilli: 1_000), PodDemand(cpuMilli: 4_000, memoryMiB: 32_768, gpus: 1, gpuMilli: 500),
            PodDemand(cpuMilli: 2_000, memoryMiB: 16_384, gpus: 1, gpuMilli: 250), PodDemand(cpuMilli: 64_000, memoryMiB: 524_288, gpus: 8, gpuMilli: 1_000),
        ]
        let stream = (0..<decisions).map { _ in shapes[Int.random(in: 0..<(shapes.count - 1), using: &random)] }
        print("bench market: \(nodes.count) nodes × 8 GPUs = \(nodes.count * 8) GPUs, \(decisions) single- and shared-GPU decisions per policy, one core")
        for policy in GPUPacker.Policy.allCases {
            var packer = GPUPacker(nodes: nodes, profile: WorkloadProfile(shapes))
            var latencies = [Double]()
            latencies.reserveCapacity(decisions)
            var generator = SplitMix64(seed: seed)
            let started = ContinuousClock.now
            for task in stream {
                let before = ContinuousClock.now
                packer.place(task, policy: policy, using: &generator)
                latencies.append((ContinuousClock.now - before).totalSeconds * 1_000_000)
            }
            let seconds = (ContinuousClock.now - started).totalSeconds
            latencies.sort()
            func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
            let name = policy.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
            print("  \(name)" + String(
                format: "%9.0f decisions/s  p50 %8.1f µs  p99 %8.1f µs  (%.1f%% of the fleet allocated)",
                Double(decisions) / seconds, percentile(0.5), percentile(0.99), packer.allocatedShare * 100
            ))
        }
    }

    func benchBook() {
        let residentBefore = Self.residentBytes()
        let fleet = SimulatedFleet(gpus: gpus, seed: seed)
        let single = Demand(gpus: 1, cpuCores: 4, memoryMiB: 16_384, maxPriceMicroPerUnitHour: 3_000_000, requester: "r", maxDurationS: 3_600)
        var shared = single
        shared.gpuMilliEach = 500
        var bigMemory = single
        bigMemory.placement.minGpuMemoryMiB = 40 * 1024
        var eight = Demand(gpus: 8, cpuCores: 32, memoryMiB: 131_072, maxPriceMicroPerUnitHour: 4_000_000, requester: "r", maxDurationS: 3_600)
        eight.placement.gpuModels = ["A100-80GB", "H100-SXM"]
        let profile = WorkloadProfile([single, shared, bigMemory, eight].map(\.podDemand))
        var book = MarketBook(nodes: fleet.nodes, engine: PlacementEngine(profile: profile))
        let perNode = Double(max(Self.residentBytes() - residentBefore, 0)) / Double(fleet.nodes.count)
        print("bench market (coordinator engine): \(fleet.nodes.count) nodes, \(fleet.gpuCount) GPUs over 6 sites, asks, policies and rules as in sim market; fill \(Int(fill * 100))%, one core")
        print(String(format: "  index: %d distinct node states; about %.1f KiB resident per node (fleet and index)", book.groupCount, perNode / 1024))
        let atMs: Int64 = 3 * 3_600_000
        var random = SplitMix64(seed: seed)
        var held = [(demand: Demand, nodes: [(Int, [Int])])]()
        var oldestHeld = 0
        var busy = 0
        // Work ends oldest first, keeping the fleet at the fill; untimed.
        func release(toFill target: Int) {
            while busy > target, oldestHeld < held.count {
                let oldest = held[oldestHeld]
                oldestHeld += 1
                for (node, gpus) in oldest.nodes { book.release(oldest.demand, on: node, gpus: gpus) }
                busy -= oldest.demand.gpuMilli * oldest.nodes.count
            }
        }
        let target = Int(Double(fleet.gpuCount * 1000) * fill)
        // Fill the fleet first with the single-GPU mix, untimed.
        while busy < target {
            let demand = [single, single, shared, bigMemory][Int.random(in: 0..<4, using: &random)]
            guard let placed = book.best(demand, atMs: atMs), let index = book.index(of: placed.nodeId) else { break }
            book.take(demand, on: index, gpus: placed.gpuIndices)
            held.append((demand, [(index, placed.gpuIndices)]))
            busy += demand.gpuMilli
        }
        // Each kind of job is timed from the same filled fleet (the book is a value: a copy is a snapshot).
        let filled = (book: book, held: held, oldestHeld: oldestHeld, busy: busy)
        func measure(_ label: String, count: Int, next: () -> Demand, members: Int = 1) {
            (book, held, oldestHeld, busy) = filled
            var latencies = [Double]()
            var placedCount = 0
            for _ in 0..<count {
                let demand = next()
                let before = ContinuousClock.now
                var placements = [(Int, [Int])]()
                if members == 1 {
                    if let placed = book.best(demand, atMs: atMs), let index = book.index(of: placed.nodeId) { placements = [(index, placed.gpuIndices)] }
                } else if let gang = book.placeGang(
                    demand, members: members, maxRoundTripMs: 10, atMs: atMs, clusterReady: { fleet.clusterReady[$0] }, roundTripMs: { fleet.roundTripMs($0, $1) }
                ) {
                    placements = gang.map { (book.index(of: $0.nodeId)!, $0.gpuIndices) }
                }
                for (index, gpus) in placements { book.take(demand, on: index, gpus: gpus) }
                latencies.append((ContinuousClock.now - before).totalSeconds * 1_000_000)
                if !placements.isEmpty {
                    placedCount += 1
                    held.append((demand, placements))
                    busy += demand.gpuMilli * placements.count
                    release(toFill: target)
                }
            }
            // Decisions per second of the engine's own time (choosing and recording), without the bookkeeping around it.
            let seconds = latencies.reduce(0, +) / 1_000_000
            latencies.sort()
            func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
            print("  \(label.padding(toLength: 26, withPad: " ", startingAt: 0))" + String(
                format: "%9.0f decisions/s  p50 %8.1f µs  p99 %8.1f µs  (%d of %d placed)", Double(count) / seconds, percentile(0.5), percentile(0.99), placedCount, count
            ))
        }
        measure("single GPU (mixed rules)", count: decisions) { [single, single, shared, bigMemory][Int.random(in: 0..<4, using: &random)] }
        measure("8 GPUs on one node", count: max(decisions / 4, 1)) { eight }
        measure("4 nodes × 8 GPUs, ≤ 10 ms", count: max(decisions / 20, 1), next: { eight }, members: 4)
        // The same single-GPU decisions by the full ranking over every node, which the index replaces.
        let baselineCount = max(decisions / 20, 1)
        var baselineLatencies = [Double]()
        for _ in 0..<baselineCount {
            let demand = [single, single, shared, bigMemory][Int.random(in: 0..<4, using: &random)]
            let before = ContinuousClock.now
            _ = book.engine.rank(demand, among: book.nodes, atMs: atMs).first
            baselineLatencies.append((ContinuousClock.now - before).totalSeconds * 1_000_000)
        }
        baselineLatencies.sort()
        print(String(format: "  full ranking (baseline)   p50 %8.1f µs over %d single-GPU decisions", baselineLatencies[baselineLatencies.count / 2], baselineCount))
    }

    /// Resident memory of this process, from /proc (Linux); 0 where unavailable.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}
