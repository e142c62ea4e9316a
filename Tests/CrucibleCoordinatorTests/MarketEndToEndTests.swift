import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Logging
import Testing

/// The engine's placement seen from the agent's side: real agents, real processes, over HTTP.
@Suite(.serialized, .network) struct MarketEndToEndTests {
    /// Proof of GPU and stake are other suites' subjects: these nodes claim GPUs this machine does not have.
    static var parameters: NetworkParameters {
        var parameters = TestNetwork.fastParameters
        parameters.challenges.required = false
        parameters.economy = .none
        return parameters
    }

    @Test func eachRunSeesExactlyTheGPUsItWasGiven() async throws {
        let network = try await TestNetwork.start(parameters: Self.parameters)
        let gpus = [2, 7].map { HardwareProfile.GPU(index: $0, uuid: "GPU-\($0)", name: "NVIDIA A10", memoryMiB: 24_576, driverVersion: "550", model: "A10") }
        let agent = network.agent(
            operatorKey: network.operatorA, policy: AgentPolicy(askMicroPerGpuHour: 1_000_000, askMicroPerCpuCoreHour: 1_000_000, maxConcurrentRuns: 3),
            hardware: HardwareProfile(gpus: gpus, cpuModel: "test CPU", cpuCores: 8, memoryMiB: 16_384, os: "test")
        )
        let script = "printf '%s' \"$CUDA_VISIBLE_DEVICES\" > \"$CRUCIBLE_OUTPUT_DIR/gpus.txt\""
        var gpuSpec = TestNetwork.shellSpec("gpus", script: script, tasks: 2)
        gpuSpec.resources.gpuMilli = 1000
        gpuSpec.placement = JobPlacement(gpuModels: ["A10"], allowRegions: ["local"])
        let cpuSpec = TestNetwork.shellSpec("cpu", script: script)
        var elsewhere = cpuSpec
        elsewhere.placement.denyRegions = ["local"]
        let (gpuJob, cpuJob) = try await withAgents([agent]) {
            let gpu = try await network.client.submitJob(gpuSpec, by: network.requester)
            let cpu = try await network.client.submitJob(cpuSpec, by: network.requester)
            // A job that no online node may take says why, and waits.
            let stuck = try await network.client.submitJob(elsewhere, by: network.requester)
            try await waitUntil("the agent is online") { try await network.client.nodes().contains(where: \.online) }
            #expect(try await network.client.network().nodesOnline == 1)
            let waiting = try await network.client.job(stuck.id)
            #expect(waiting.state == "queued")
            #expect(waiting.waiting == "region local is not allowed by the job (1 of 1 online nodes)")
            return (try await network.settled(gpu.id), try await network.settled(cpu.id))
        }
        #expect(gpuJob.placement?.gpuModels == ["A10"])
        // Completed runs: on a loaded machine a run may lose its lease and leave no outputs; its task ran again.
        for run in (gpuJob.tasks + cpuJob.tasks).flatMap(\.runs) where run.state == "completed" {
            let held = try #require(run.gpuDevices)
            let output = try #require(run.outputs.first)
            let seen = String(decoding: try await network.client.blob(output.sha256), as: UTF8.self)
            // What the process saw is what the log says it held: one of the two GPUs, or none for CPU work.
            #expect(seen == held.map(String.init).joined(separator: ","))
        }
        #expect(gpuJob.tasks.flatMap(\.runs).allSatisfy { [[2], [7]].contains($0.gpuDevices ?? []) })
        #expect(cpuJob.tasks.flatMap(\.runs).allSatisfy { $0.gpuDevices == [] })
        await network.stop()
    }

    @Test func anEditedPolicyFileIsRegisteredWithoutARestartAndABadEditIsRefused() async throws {
        let network = try await TestNetwork.start(parameters: Self.parameters)
        let path = network.directory.appendingPathComponent("policy.yaml").path
        try FileManager.default.createDirectory(at: network.directory, withIntermediateDirectories: true)
        func write(_ text: String, second: TimeInterval) throws {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            // Distinct modification times, whatever the file system's resolution.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_800_000_000 + second)], ofItemAtPath: path)
        }
        try write("askPerCpuCoreHour: 1.0\nmaxConcurrentRuns: 2\n", second: 0)
        let node = SigningIdentity()
        let agent = NodeAgent(configuration: .init(
            coordinatorURL: network.url, nodeKey: node, operatorKey: network.operatorA, policy: try AgentPolicyFile.load(path: path),
            hardware: HardwareProfile(gpus: [], cpuModel: "test CPU", cpuCores: 4, memoryMiB: 8192, os: "test"),
            workDirectory: network.directory.appendingPathComponent("agent"), pollWaitMs: 1_000, heartbeatIntervalMs: 300,
            policyPath: path, policyCheckIntervalMs: 3_600_000
        ), logger: Logger(label: "crucible.test.quiet") { _ in SwiftLogNoOpLogHandler() })
        try await agent.register()
        func ask() async throws -> Int64 { try #require(try await network.client.nodes().first { $0.id == node.address }).askMicroPerCpuCoreHour }
        #expect(try await ask() == 1_000_000)
        #expect(await agent.reloadPolicyIfEdited() == false, "an unchanged file changes nothing")

        try write("askPerCpuCoreHour: 3.0\nmaxConcurrentRuns: 4\n", second: 1)
        #expect(await agent.reloadPolicyIfEdited())
        #expect(try await ask() == 3_000_000)
        #expect(try await network.client.nodes().first { $0.id == node.address }?.maxConcurrentRuns == 4)

        try write("askPerCpuCoreHour: lots\n", second: 2)
        #expect(await agent.reloadPolicyIfEdited() == false)
        #expect(try await ask() == 3_000_000, "a bad edit keeps the running policy")
        #expect(await agent.policy.askMicroPerCpuCoreHour == 3_000_000)
        await network.stop()
    }
}
