import CrucibleAgent
import CrucibleCoordinator
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// An agent that loses its network to the coordinator while it works, through a relay the test cuts and heals.
@Suite(.network) struct NetworkCutTests {
    /// A cut shorter than the lease: the run goes on, its report gets through once the link heals, and it is paid once.
    @Test func aShortCutDelaysTheReportAndNothingElse() async throws {
        let network = try await TestNetwork.start()
        let link = try await CuttableLink.start(to: network.port)
        let agent = network.agent(operatorKey: network.operatorA, through: link)
        let spec = TestNetwork.shellSpec("short-cut", script: "sleep 2; echo {index} > \"$CRUCIBLE_OUTPUT_DIR/i.txt\"")
        let job = try await withAgents([agent]) {
            let submitted = try await network.submitAndWaitForARunningRun(spec)
            link.cut()
            // Cut for a tenth of the lease (15 s): the coordinator must not give the run up.
            try await Task.sleep(for: .milliseconds(1_500))
            link.heal()
            return try await network.settled(submitted.id)
        }
        let runs = job.tasks[0].runs
        #expect(job.state == "settled" && runs.count == 1 && runs[0].state == "completed" && runs[0].paidMicro > 0, "\(runs.map { "\($0.state) \($0.failure ?? "")" })")
        await link.close()
        await network.stop()
        _ = try await reopenAndAudit(network)
    }

    /// A cut longer than the lease: the run is declared lost and the task runs on another operator's node; when the
    /// link heals, the cut-off agent's late report only says the run is gone (its node's capacity no longer counts
    /// it), it is not paid for that run, and it is online again.
    @Test func aLongCutLosesTheRunWhichRunsElsewhereAndTheLateReportIsNotPaid() async throws {
        let network = try await TestNetwork.start()
        let link = try await CuttableLink.start(to: network.port)
        // A is cheaper, so it is offered the task first; B is reached directly.
        let agentA = network.agent(operatorKey: network.operatorA, policy: AgentPolicy(askMicroPerCpuCoreHour: 500_000), through: link)
        let agentB = network.agent(operatorKey: network.operatorB, policy: AgentPolicy(askMicroPerCpuCoreHour: 900_000))
        let spec = TestNetwork.shellSpec("long-cut", script: "sleep 3; echo {index} > \"$CRUCIBLE_OUTPUT_DIR/i.txt\"")
        let job = try await withAgents([agentA, agentB]) {
            // Both proven first: otherwise B, proven sooner, may be offered the task before A.
            try await network.waitUntilNodes(2)
            let submitted = try await network.submitAndWaitForARunningRun(spec)
            let first = try #require(try await network.client.job(submitted.id).tasks[0].runs.first)
            let nodeA = await agentA.nodeId
            #expect(first.nodeId == nodeA)
            link.cut()
            try await waitUntil("A's run is declared lost") {
                try await network.client.job(submitted.id).tasks[0].runs.first?.state == "lost"
            }
            let settled = try await network.settled(submitted.id)
            link.heal()
            try await waitUntil("A is online again") {
                try await network.client.nodes().first { $0.id == nodeA }?.online == true
            }
            try await waitUntil("A reported its lost run gone") { await network.coordinator.state.unreleasedRunIdsByNode[nodeA] == nil }
            return settled
        }
        let runs = job.tasks[0].runs
        let nodeB = await agentB.nodeId
        #expect(job.state == "settled")
        #expect(runs.first?.state == "lost" && runs.first?.paidMicro == 0, "\(runs.map(\.state))")
        #expect(runs.last?.state == "completed" && runs.last?.nodeId == nodeB && (runs.last?.paidMicro ?? 0) > 0)
        #expect(await network.coordinator.state.ledger.balance(of: network.operatorA.address) == TestNetwork.operatorBalanceMicro)
        await link.close()
        await network.stop()
        _ = try await reopenAndAudit(network)
    }
}
