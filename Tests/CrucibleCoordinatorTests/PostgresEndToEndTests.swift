import CrucibleAgent
import CrucibleCoordinator
import CrucibleCore
import CrucibleStore
import CrucibleTestSupport
import Foundation
import Testing

/// The coordinator over PostgreSQL instead of SQLite: the same network, the same log, the same audit, on a throwaway
/// server started on loopback.
@Suite(.heavyProcesses) struct PostgresEndToEndTests {
    /// Two agents run a replicated job while the coordinator is stopped and started again over the same database;
    /// the job settles once, the money adds up, and the audit of the PostgreSQL log passes.
    @Test func aJobSettlesAcrossACoordinatorRestartAndTheAuditPasses() async throws {
        try await ThrowawayPostgres.with { server in
            var network = try await TestNetwork.start(database: try await server.createDatabase())
            #expect(network.store.kind == "postgresql")
            let text = "proof of work\n"
            let inputSha = try await network.client.putBlob(Data(text.utf8), by: network.requester)
            let spec = TestNetwork.shellSpec(
                "shout", script: "sleep 1; tr a-z A-Z < input.txt > \"$CRUCIBLE_OUTPUT_DIR/out-{index}.txt\"; echo task {index} done",
                tasks: 3, replicate: 1_000_000, inputs: [.init(name: "input.txt", sha256: inputSha, sizeBytes: Int64(text.utf8.count))]
            )
            let agentA = network.agent(operatorKey: network.operatorA)
            let agentB = network.agent(operatorKey: network.operatorB)
            let job = try await withAgents([agentA, agentB]) {
                let submitted = try await network.submitAndWaitForARunningRun(spec)
                await network.stop()
                network = try await TestNetwork.start(reusing: network)
                return try await network.settled(submitted.id)
            }
            for task in job.tasks {
                let output = try #require(task.runs.first { $0.state == "completed" }?.outputs.first)
                #expect(String(decoding: try await network.client.blob(output.sha256), as: UTF8.self) == text.uppercased())
            }
            await network.expectSettledOnceBetweenAAndB(job)
            // Task logs streamed into PostgreSQL and read back in order.
            let logs = try await network.client.jobLogs(job.id)
            #expect(logs.chunks.filter { $0.taskIndex == 1 }.map(\.text).joined().contains("task 1 done"))
            await network.stop()
            let report = try await reopenAndAudit(network)
            #expect(report.jobs == 1)
            #expect(report.burnedMicro == job.burnedMicro)
        }
    }

    /// PostgreSQL crashes (immediate shutdown) while runs are in flight and comes back two seconds later: the
    /// coordinator holds its commits and writes them on a new connection, the agents retry what was refused, and the
    /// job settles with every run paid once; the audit of the log passes.
    @Test func theDatabaseCrashesMidJobAndNothingIsLostOrPaidTwice() async throws {
        try await ThrowawayPostgres.with { server in
            let network = try await TestNetwork.start(database: try await server.createDatabase())
            let spec = TestNetwork.shellSpec("through", script: "sleep 1; echo {index} > \"$CRUCIBLE_OUTPUT_DIR/i.txt\"", tasks: 4, replicate: 500_000)
            let agentA = network.agent(operatorKey: network.operatorA)
            let agentB = network.agent(operatorKey: network.operatorB)
            let job = try await withAgents([agentA, agentB]) {
                let submitted = try await network.submitAndWaitForARunningRun(spec)
                try await server.kill()
                // The outage: reads that need the database are refused as unavailable (503, try again), and nothing crashes.
                await #expect { try await network.client.jobLogs(submitted.id) } throws: { ($0 as? CrucibleError)?.code == .unavailable }
                try await Task.sleep(for: .seconds(2))
                try await server.startServer()
                return try await network.settled(submitted.id)
            }
            await network.expectSettledOnceBetweenAAndB(job)
            await network.stop()
            let report = try await reopenAndAudit(network)
            #expect(report.jobs == 1)
        }
    }
}
