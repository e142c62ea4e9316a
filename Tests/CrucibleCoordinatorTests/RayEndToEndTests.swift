import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// A Ray cluster for real: two agents form a 2-member gang; rank 0's agent starts a Ray head on the port it accepted
/// the offer with, rank 1's joins it as a worker node, and the job's driver runs on rank 0 against a cluster of both
/// nodes; the head stops when the driver ends and the worker leaves; the job settles. Needs Ray from PyPI in a virtual
/// environment (`.ci/run` makes `.ray-venv`; `ray` on PATH also serves).
@Suite(.serialized, .heavyProcesses) struct RayEndToEndTests {
    static let driver = """
    import json, os, ray
    ray.init()
    alive = [n for n in ray.nodes() if n["Alive"]]

    @ray.remote(num_cpus=1)
    def square(x):
        return x * x

    result = {"nodes": len(alive), "cpus": ray.cluster_resources().get("CPU", 0), "sum": sum(ray.get([square.remote(i) for i in range(8)]))}
    print(result)
    json.dump(result, open(os.path.join(os.environ["CRUCIBLE_OUTPUT_DIR"], "result.json"), "w"))
    """

    struct Result: Decodable {
        var nodes: Int
        var cpus: Double
        var sum: Int
    }

    /// `.ray-venv/bin/ray` at the package root (what `.ci/run` makes), then `ray` on PATH.
    static func findRay() async -> RayRuntime? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return await RayRuntime.find(candidates: [root.appendingPathComponent(".ray-venv/bin/ray").path, "ray"])
    }

    /// Slow by nature: about 45–50 s on a 2-core machine (measured 2026-12-04, debug build), most of it Ray's own
    /// start-up: a head node (GCS, raylet, dashboard agent) and a worker joining it take ~15 s each on two cores.
    @Test func twoAgentsFormARayClusterAndTheDriverRunsOnIt() async throws {
        let ray = try #require(await Self.findRay(), "no Ray: run .ci/run, or pip install ray into .ray-venv")
        let network = try await TestNetwork.start()
        let policy = AgentPolicy(askMicroPerCpuCoreHour: 1_000_000, maxConcurrentRuns: 1)
        let members = [network.operatorA, network.operatorB].map {
            network.agent(operatorKey: $0, policy: policy, peerHost: "127.0.0.1", ray: ray)
        }
        let script = Data(Self.driver.utf8)
        let sha256 = try await network.client.putBlob(script, by: network.requester)
        let spec = JobSpec(
            name: "ray", kind: .ray, command: "driver.py", inputs: [.init(name: "driver.py", sha256: sha256, sizeBytes: Int64(script.count))],
            resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 1024), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 300,
            cluster: .init(nodes: 2, roundTripMsMax: 500)
        )
        let job = try await withAgents(members) {
            try await network.waitUntilNodes(2, clusterReady: true, timeoutS: 90)
            let submitted = try await network.client.submitJob(spec, by: network.requester)
            return try await network.settled(submitted.id, timeoutS: 300)
        }
        let task = try #require(job.tasks.first)
        #expect(job.state == "settled" && task.state == "verified", "\(task.runs.map { "\($0.id) \($0.state) \($0.failure ?? "")" })")
        let runs = task.runs.filter { $0.state == "completed" }.sorted { ($0.rank ?? -1) < ($1.rank ?? -1) }
        #expect(runs.map(\.rank) == [0, 1] && Set(runs.compactMap(\.nodeId)).count == 2 && runs.allSatisfy { $0.paidMicro > 0 })
        // The driver saw both members' nodes and their CPUs, and its tasks ran.
        let output = try #require(runs.first?.outputs.first { $0.path == "result.json" })
        let result = try JSONDecoder().decode(Result.self, from: try await network.client.blob(output.sha256))
        #expect(result.nodes == 2 && result.cpus == 2 && result.sum == 140, "\(result)")
        print("ray: a 2-node cluster over 2 agents; driver saw \(result.nodes) nodes, \(result.cpus) CPUs; runs took \(runs.map { run in run.endedMs.flatMap { end in run.startedMs.map { end - $0 } } ?? 0 }) ms")
        await network.stop()
    }
}
