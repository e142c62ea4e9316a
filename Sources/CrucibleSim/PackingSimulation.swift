import CrucibleCore
import CrucibleMarket
import Foundation

/// `crucible sim pack`: the packing benchmark of Weng et al. (ATC 2023) on Alibaba's openb cluster. Tasks are drawn
/// uniformly at random with replacement from a task list (seeded) and offered one by one; a task no node can take is
/// dropped; arrivals stop once the GPUs the arrived tasks asked for reach the cluster's capacity; the figure is the
/// share of GPU capacity allocated. Each policy sees the same arrivals for a seed.
public struct PackingSimulation: Sendable {
    /// Other task mixes than the trace's own, to check that the engine is not tuned to one file: each reweights how
    /// often tasks of a kind are drawn.
    public enum Mix: String, Sendable, CaseIterable {
        case trace
        /// Fractional (shared-GPU) tasks drawn three times as often.
        case fractional
        /// Multi-GPU tasks drawn ten times as often.
        case multiGPU = "multi-gpu"
        /// Every third GPU task restricted to one GPU model (the trace has no such restrictions), spread over the
        /// cluster's models in proportion to their GPUs.
        case constrained
        /// Every task asks for twice its CPU, and CPU-only tasks are drawn three times as often.
        case cpuHeavy = "cpu-heavy"

        func weight(of demand: PodDemand) -> Int {
            switch self {
            case .trace: 1
            case .fractional: demand.isFractional ? 3 : 1
            case .multiGPU: demand.gpus > 1 ? 10 : 1
            case .constrained: 1
            case .cpuHeavy: demand.gpus == 0 ? 3 : 1
            }
        }

        func adjust(_ demand: PodDemand) -> PodDemand {
            guard self == .cpuHeavy else { return demand }
            var heavier = demand
            heavier.cpuMilli *= 2
            return heavier
        }
    }

    /// The task list as `mix` draws it: each task as often as its weight, adjusted.
    func workload(_ mix: Mix) -> [PodDemand] {
        // The cluster's models, each once per GPU it has, to restrict tasks in proportion.
        let models = nodes.flatMap { node in Array(repeating: node.model, count: node.gpuFree.count) }.sorted()
        return tasks.enumerated().flatMap { index, task -> [PodDemand] in
            var adjusted = mix.adjust(task)
            if mix == .constrained, task.gpus > 0, index % 3 == 0, !models.isEmpty {
                adjusted = PodDemand(
                    cpuMilli: task.cpuMilli, memoryMiB: task.memoryMiB, gpus: task.gpus, gpuMilli: task.gpuMilli,
                    models: [models[(index / 3 * 7_919) % models.count]]
                )
            }
            return Array(repeating: adjusted, count: mix.weight(of: task))
        }
    }

    public struct Outcome: Sendable {
        public var policy: GPUPacker.Policy
        /// Share of GPU capacity allocated, per seed.
        public var shares: [Double]
        public var seconds: Double

        public var mean: Double { shares.reduce(0, +) / Double(max(shares.count, 1)) }
        public var spread: Double {
            let mean = mean
            return (shares.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(shares.count - 1, 1))).squareRoot()
        }
    }

    public let nodes: [PackingNode]
    public let tasks: [PodDemand]

    public init(nodes: [PackingNode], tasks: [PodDemand]) {
        self.nodes = nodes
        self.tasks = tasks
    }

    /// The arrivals of one seed under `mix`: drawn with replacement until their GPU requests reach the capacity.
    public func arrivals(seed: UInt64, mix: Mix) -> [PodDemand] {
        let capacity = nodes.reduce(0) { $0 + $1.gpuFree.count * 1000 }
        let pool = workload(mix)
        var random = SplitMix64(seed: seed)
        var requested = 0
        var drawn = [PodDemand]()
        while requested < capacity, !pool.isEmpty {
            let task = pool[Int.random(in: 0..<pool.count, using: &random)]
            drawn.append(task)
            requested += task.totalGPUMilli
        }
        return drawn
    }

    public func run(policies: [GPUPacker.Policy], seeds: [UInt64], mix: Mix) -> [Outcome] {
        // The engine learns the workload it packs for from the tasks it is offered, as the coordinator would from
        // recent jobs; the same profile serves every seed.
        let profile = WorkloadProfile(workload(mix))
        return policies.map { policy in
            let started = ContinuousClock.now
            let shares = seeds.map { seed -> Double in
                var packer = GPUPacker(nodes: nodes, profile: profile)
                var random = SplitMix64(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
                for task in arrivals(seed: seed, mix: mix) { packer.place(task, policy: policy, using: &random) }
                return packer.allocatedShare
            }
            let seconds = Double((ContinuousClock.now - started).components.seconds) + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            return Outcome(policy: policy, shares: shares, seconds: seconds)
        }
    }

    /// The paper's table (mean of 10 seeds, default task list, 100% arrived), for reference beside the run.
    public static let published: [(policy: String, share: Double)] = [
        ("Random", 0.8630), ("DotProd", 0.9062), ("GpuClustering", 0.9165), ("GpuPacking", 0.9178), ("BestFit", 0.9286), ("FGD (the paper)", 0.9523),
    ]
}
