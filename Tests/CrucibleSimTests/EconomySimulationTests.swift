import CrucibleCore
import CrucibleLedger
import CrucibleSim
import CrucibleMarket
import CrucibleTestSupport
import Foundation
import Testing

/// The economy simulation on the real traces in ../shared/data: figures that must hold whatever the seed.
@Suite struct EconomySimulationTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data/traces").standardized.path

    func run(seed: UInt64, policy: EconomyPolicy = EconomyPolicy()) throws -> EconomySimulation.Report {
        let nodes = try Traces.nodes(path: Self.data + "/alibaba-openb/openb_node_list_gpu_node.csv")
        let jobs = try Traces.jobs(path: Self.data + "/philly/philly.csv")
        let configuration = EconomySimulation.Configuration(seed: seed, epochs: 3, operators: 60, demandScale: 2, policy: policy)
        return try EconomySimulation(configuration: configuration, nodes: nodes, jobs: jobs).run()
    }

    @Test(.compute) func aSimulatedYearMintsNoMoreThanTheEmissionAndDampingShrinksTheTopShare() async throws {
        let report = try await onOwnThread { try run(seed: 3) }
        #expect(report.gpus == 6_212 && report.epochs.count == 3)
        let emission = EconomyPolicy().emissionMicroPerEpoch
        for epoch in report.epochs {
            #expect((0...1).contains(epoch.utilization))
            #expect(epoch.mintedMicro <= emission && epoch.mintedMicro >= EconomyPolicy.portion(emission, bps: EconomyPolicy().treasuryShareBps))
            // The fee burned is the policy's share of what jobs paid.
            #expect(abs(epoch.burnedMicro - EconomyPolicy.portion(epoch.revenueMicro, bps: 500)) <= 6_212)
            #expect(epoch.topShare <= epoch.topShareUndamped + 1e-9)
        }
        #expect(report.epochs.contains { $0.topShare < $0.topShareUndamped })
        #expect(report.classes.allSatisfy { $0.emissionMicroPerGPUWeek >= 0 && $0.revenueMicroPerGPUWeek >= 0 })
        // The same seed gives the same year.
        let again = try run(seed: 3)
        #expect(again.epochs.map(\.mintedMicro) == report.epochs.map(\.mintedMicro) && again.epochs.map(\.topShare) == report.epochs.map(\.topShare))
    }

    @Test func aTraceThatIsNotTheDocumentedOneIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID().uuidString).csv").path
        try "sn,gpu,model\nx,2,T4\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try Traces.nodes(path: path) } throws: { ($0 as? CrucibleError)?.message.contains("header") == true }
        try "timestamp,duration,num_gpus,gpu_time,cluster\nyesterday,5,1,5,c\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try Traces.jobs(path: path) } throws: { ($0 as? CrucibleError)?.message.contains(":2:") == true }
        #expect { try Traces.jobs(path: path + ".missing") } throws: { ($0 as? CrucibleError)?.code == .notFound }
    }
}

/// The packing benchmark on an eighth of the real openb cluster (every eighth node, so every model is there).
@Suite struct PackingSimulationTests {
    @Test(.compute) func onTheRealTraceTheEngineOutpacksBestFitWhichOutpacksRandom() async throws {
        let data = EconomySimulationTests.data + "/alibaba-openb"
        let nodes = try Traces.packingNodes(path: data + "/openb_node_list_gpu_node.csv").enumerated().filter { $0.offset % 8 == 0 }.map(\.element)
        let simulation = PackingSimulation(nodes: nodes, tasks: try Traces.pods(path: data + "/openb_pod_list_default.csv"))
        #expect(simulation.tasks.count == 8_152)
        let outcomes = await onOwnThread { simulation.run(policies: GPUPacker.Policy.allCases, seeds: [1, 2], mix: .trace) }
        let share = Dictionary(uniqueKeysWithValues: outcomes.map { ($0.policy, $0.mean) })
        #expect(share[.fragmentation]! > share[.bestFit]! && share[.bestFit]! > share[.random]!, "\(share)")
        #expect(outcomes.allSatisfy { $0.shares.allSatisfy { (0.5...1).contains($0) } })
        // The same seed draws the same arrivals.
        #expect(simulation.arrivals(seed: 5, mix: .trace) == simulation.arrivals(seed: 5, mix: .trace))
    }
}
