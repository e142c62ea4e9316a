import ArgumentParser
import CrucibleCore
import CrucibleMarket
import Foundation

/// `crucible bench market`: how fast the packing engine decides, on a synthetic fleet of 8-GPU nodes filled by a
/// stream of single-GPU and shared-GPU tasks. Figures, not assertions; medians of the per-decision latencies.
struct MarketBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market",
        abstract: "Measure packing decisions per second and their latency on a fleet of GPUs, per policy."
    )

    @Option(help: "GPUs in the fleet (8 per node).") var gpus: Int = 20_000
    @Option(help: "Decisions to time per policy.") var decisions: Int = 2_000
    @Option(help: "Seed of the task stream.") var seed: UInt64 = 1

    func validate() throws {
        guard (8...1_000_000).contains(gpus), (1...1_000_000).contains(decisions) else { throw ValidationError("--gpus 8…1000000, --decisions 1…1000000") }
    }

    func run() async throws {
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
}
