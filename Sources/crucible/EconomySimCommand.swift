import ArgumentParser
import CrucibleCore
import CrucibleLedger
import CrucibleSim
import Foundation

/// `crucible sim economy`: a year of burn-and-mint on real traces, with and without concentration damping.
struct EconomySimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "economy",
        abstract: "Simulate weekly epochs on real traces: minted, burned, operator income by GPU class, top-1% share of emissions.",
        discussion: """
        Supply is Alibaba's openb cluster (its nodes and GPU models) owned by Zipf-distributed operators; demand is \
        Microsoft Philly's jobs, cycled over the year and scaled. Jobs pay per-class prices with the fee burned; work and \
        availability are credited as the coordinator credits them, and each epoch mints with the default economy policy.
        """
    )

    @Option(help: "Weekly epochs to run.") var epochs: Int = 52
    @Option(help: "Seed; the same seed prints the same figures.") var seed: UInt64 = 1
    @Option(help: "The cluster's node list.") var nodes: String = "../shared/data/traces/alibaba-openb/openb_node_list_gpu_node.csv"
    @Option(help: "The job arrival trace.") var jobs: String = "../shared/data/traces/philly/philly.csv"
    @Option(help: "Operators owning the nodes.") var operators: Int = 300
    @Option(help: "Zipf exponent of how many nodes each operator owns.") var ownership: Double = 1.0
    @Option(help: "Copies of each trace job.") var demandScale: Int = 8

    func validate() throws {
        guard (1...520).contains(epochs), (1...100_000).contains(operators), (1...100).contains(demandScale), (0...4).contains(ownership) else {
            throw ValidationError("--epochs 1…520, --operators 1…100000, --demand-scale 1…100, --ownership 0…4")
        }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let configuration = EconomySimulation.Configuration(
            seed: seed, epochs: epochs, operators: operators, ownershipExponent: ownership, demandScale: demandScale
        )
        let report = try EconomySimulation(configuration: configuration, nodes: try Traces.nodes(path: nodes), jobs: try Traces.jobs(path: jobs)).run()
        let policy = configuration.policy
        print("sim economy  seed \(seed)  \(report.gpus) GPUs, \(report.operators) operators (Zipf \(ownership)), \(report.jobs) jobs (Philly ×\(demandScale) over \(epochs) weeks)")
        print("emission \(Amount.format(policy.emissionMicroPerEpoch)) CRU/epoch: work \(policy.workShareBps / 100)%, availability \(policy.availabilityShareBps / 100)%, treasury \(policy.treasuryShareBps / 100)%; damping above \(Double(policy.dampingThresholdBps) / 100)% of a pool at \(policy.dampingRateBps / 100)%")
        if !report.assumedModels.isEmpty {
            print("assumed scores for models outside the catalog: \(report.assumedModels.joined(separator: ", ")) (P100 at its FP16 rate; G1–G3 as A10-class)")
        }
        print("")
        func cru(_ micro: Int64) -> String { String(format: "%.0f", Double(micro) / Double(Amount.microPerCRU)) }
        func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }
        print(TextTable.render(
            header: ["EPOCH", "UTIL", "SERVED", "DROPPED", "REVENUE", "BURNED", "MINTED", "NET", "TOP 1% DAMPED", "TOP 1% UNDAMPED"],
            rows: report.epochs.map { epoch in
                [
                    "\(epoch.epoch)", percent(epoch.utilization), "\(epoch.jobsServed)", "\(epoch.jobsDropped)", cru(epoch.revenueMicro),
                    cru(epoch.burnedMicro), cru(epoch.mintedMicro), cru(epoch.netSupplyChangeMicro), percent(epoch.topShare), percent(epoch.topShareUndamped),
                ]
            }
        ))
        let minted = report.epochs.reduce(0) { $0 + $1.mintedMicro }
        let burned = report.epochs.reduce(0) { $0 + $1.burnedMicro }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print("\nyear: minted \(cru(minted)) CRU, burned \(cru(burned)) CRU, net supply change \(cru(minted - burned)) CRU")
        print("top 1% of operators' share of emissions, median epoch: \(percent(median(report.epochs.map(\.topShare)))) with damping, \(percent(median(report.epochs.map(\.topShareUndamped)))) without")
        print("\nincome per GPU per week (CRU), by stake class")
        print(TextTable.render(
            header: ["CLASS", "GPUS", "JOBS (AFTER FEE)", "EMISSION", "TOTAL"],
            rows: report.classes.map {
                [$0.stakeClass.rawValue, "\($0.gpus)", String(format: "%.2f", Double($0.revenueMicroPerGPUWeek) / 1e6),
                 String(format: "%.2f", Double($0.emissionMicroPerGPUWeek) / 1e6), String(format: "%.2f", Double($0.revenueMicroPerGPUWeek + $0.emissionMicroPerGPUWeek) / 1e6)]
            }
        ))
        print(String(format: "\nsimulated in %.1f s", (ContinuousClock.now - started).totalSeconds))
    }
}
