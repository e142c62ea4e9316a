import ArgumentParser
import CrucibleCore
import CrucibleMarket
import CrucibleSim
import Foundation

/// `crucible sim pack`: the openb packing benchmark, Crucible's engine beside the baselines and the paper's table.
struct PackSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Pack Alibaba's openb cluster as Weng et al. (ATC 2023) do: GPU share allocated at 100% of capacity arrived, per policy.",
        discussion: """
        Tasks are drawn at random with replacement from the task list and offered once each; one that fits nowhere is \
        dropped; arrivals stop when their GPU requests reach the cluster's capacity. Every policy sees the same arrivals \
        per seed. --mix reweights the draw (more fractional, multi-GPU, model-constrained or CPU-heavy tasks) to check that \
        the engine is not tuned to one task list.
        """
    )

    @Option(help: "The cluster's node list.") var nodes: String = "../shared/data/traces/alibaba-openb/openb_node_list_gpu_node.csv"
    @Option(help: "The task list.") var tasks: String = "../shared/data/traces/alibaba-openb/openb_pod_list_default.csv"
    @Option(help: "Seeds to average over (1, 2, …).") var seeds: Int = 10
    @Option(help: "Task mix: \(PackingSimulation.Mix.allCases.map(\.rawValue).joined(separator: ", ")), or all.") var mix: String = "trace"

    func validate() throws {
        guard (1...1_000).contains(seeds) else { throw ValidationError("--seeds 1…1000") }
        guard mix == "all" || PackingSimulation.Mix(rawValue: mix) != nil else {
            throw ValidationError("--mix must be one of \(PackingSimulation.Mix.allCases.map(\.rawValue).joined(separator: ", ")) or all")
        }
    }

    func run() async throws {
        let simulation = PackingSimulation(nodes: try Traces.packingNodes(path: nodes), tasks: try Traces.pods(path: tasks))
        let gpus = simulation.nodes.reduce(0) { $0 + $1.gpuFree.count }
        print("sim pack  \(simulation.nodes.count) nodes, \(gpus) GPUs, \(simulation.tasks.count) tasks, \(seeds) seeds, GPU share allocated at 100% arrived")
        let mixes = mix == "all" ? PackingSimulation.Mix.allCases : [PackingSimulation.Mix(rawValue: mix)!]
        for mix in mixes {
            let outcomes = simulation.run(policies: GPUPacker.Policy.allCases, seeds: (1...seeds).map(UInt64.init), mix: mix)
            print("\nmix: \(mix.rawValue)")
            var rows = outcomes.map { outcome in
                [
                    outcome.policy == .fragmentation ? "Crucible (fragmentation-aware)" : outcome.policy.rawValue,
                    String(format: "%.2f%%", outcome.mean * 100), String(format: "± %.2f", outcome.spread * 100),
                    String(format: "%.1f s", outcome.seconds), "",
                ]
            }
            if mix == .trace {
                rows += PackingSimulation.published.map { ["", "", "", "", "\($0.policy) \(String(format: "%.2f%%", $0.share * 100))"] }
            }
            print(TextTable.render(header: ["POLICY", "ALLOCATED", "SPREAD", "TIME", "PAPER (TRACE MIX)"], rows: rows))
        }
    }
}
