import CrucibleAgent
import CrucibleAPI
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleStore
import CrucibleTestSupport
import Foundation
import SQLiteKit
import Testing

/// The whole path on loopback: a coordinator, real agents running real child processes, a signed job,
/// matching, replication, settlement, the log and its audit.
@Suite(.serialized, .network) struct EndToEndTests {
    func balance(_ network: TestNetwork, _ identity: SigningIdentity) async -> Int64 {
        await network.coordinator.state.ledger.balance(of: identity.address)
    }

    @Test func jobRunsOnTwoAgentsIsReplicatedAndSettles() async throws {
        let network = try await TestNetwork.start()
        let text = "proof of work\nfor crucible\n"
        let inputSha = try await network.client.putBlob(Data(text.utf8), by: network.requester)
        let spec = TestNetwork.shellSpec(
            "shout",
            script: "tr a-z A-Z < input.txt > \"$CRUCIBLE_OUTPUT_DIR/out-{index}.txt\"; echo task $CRUCIBLE_TASK_INDEX of $CRUCIBLE_TASK_COUNT done",
            tasks: 3, replicate: 1_000_000,
            inputs: [.init(name: "input.txt", sha256: inputSha, sizeBytes: Int64(text.utf8.count))]
        )
        let agentA = network.agent(operatorKey: network.operatorA)
        let agentB = network.agent(operatorKey: network.operatorB, policy: AgentPolicy(askMicroPerCpuCoreHour: 1_500_000))
        let job = try await withAgents([agentA, agentB]) {
            let submitted = try await network.client.submitJob(spec, by: network.requester)
            #expect(submitted.state == "queued" || submitted.state == "matched")
            #expect(await balance(network, network.requester) == TestNetwork.fundingMicro - submitted.escrowLockedMicro)
            return try await network.settled(submitted.id)
        }

        #expect(job.state == "settled")
        let nodeOperator = [await agentA.nodeId: network.operatorA.address, await agentB.nodeId: network.operatorB.address]
        for task in job.tasks {
            #expect(task.state == "verified")
            let completed = task.runs.filter { $0.state == "completed" }
            let primary = try #require(completed.first { $0.role == "primary" })
            let replica = try #require(completed.first { $0.role == "replica" })
            // The replica ran under the other operator, and both produced the same bytes.
            #expect(nodeOperator[primary.nodeId ?? ""] != nodeOperator[replica.nodeId ?? ""])
            #expect(primary.digest == replica.digest)
            #expect(primary.paidMicro > 0 && replica.paidMicro > 0)
            let output = try #require(primary.outputs.first)
            #expect(output.path == "out-\(task.index).txt")
            let content = try await network.client.blob(output.sha256)
            #expect(String(decoding: content, as: UTF8.self) == text.uppercased())
        }

        // Money: operators gained exactly what the job paid; the requester lost paid + burned; the fee is 5%.
        let gained = await balance(network, network.operatorA) + balance(network, network.operatorB) - 2 * TestNetwork.operatorBalanceMicro
        #expect(gained == job.paidMicro)
        #expect(await balance(network, network.requester) == TestNetwork.fundingMicro - job.paidMicro - job.burnedMicro)
        #expect(job.burnedMicro == job.tasks.flatMap(\.runs).reduce(0) { $0 + Pricing.feeMicro(on: $1.paidMicro, feeBps: 500) })
        #expect(job.refundedMicro == job.escrowLockedMicro - job.paidMicro - job.burnedMicro)
        #expect(await network.coordinator.state.ledger.escrows.isEmpty)

        // An outside auditor with only the public log agrees with every balance the coordinator reports,
        // and notices when one is misreported.
        let store = network.store
        let client = network.client
        let coordinatorKey = network.identity.address
        func source(misreport: String?) -> Auditor.PublicSource {
            Auditor.PublicSource(
                page: { after in
                    // Small pages, with the checkpoints that end inside each, as GET /v1/log serves them.
                    let entries = try await store.logEntries(afterSeq: after, limit: 7)
                    let last = entries.last?.seq ?? after
                    return (coordinatorKey, entries, try await store.checkpoints().filter { $0.lastSeq > after && $0.lastSeq <= last })
                },
                head: { try await client.health().logHead },
                account: { address in
                    let account = try await client.account(address)
                    return .init(
                        balanceMicro: account.balanceMicro, escrowMicro: account.escrowMicro,
                        stakedMicro: account.stakedMicro + (address == misreport ? 1 : 0), unbondingMicro: account.unbondingMicro
                    )
                }
            )
        }
        await network.coordinator.drain()
        let publicReport = try await Auditor.audit(source: source(misreport: nil))
        #expect(publicReport.burnedMicro == job.burnedMicro)
        await #expect(throws: CrucibleError.self) { try await Auditor.audit(source: source(misreport: network.operatorB.address)) }

        // Logs streamed from the agents.
        let logs = try await network.client.jobLogs(job.id)
        let text0 = logs.chunks.filter { $0.taskIndex == 0 }.map(\.text).joined()
        #expect(text0.contains("task 0 of 3 done"))

        await network.stop()
        let report = try await reopenAndAudit(network)
        #expect(report.jobs == 1)
        #expect(report.burnedMicro == job.burnedMicro)
    }

    @Test func outputsThatDisagreeAreDisputedAndNobodyIsPaid() async throws {
        // Two operators only: no third can arbitrate, so after a short wait the dispute stands.
        var parameters = TestNetwork.fastParameters
        parameters.replicaWaitMs = 1_500
        let network = try await TestNetwork.start(parameters: parameters)
        // Each run writes its own run id: the replica cannot match the primary.
        let spec = TestNetwork.shellSpec("unstable", script: "echo $CRUCIBLE_RUN_ID > \"$CRUCIBLE_OUTPUT_DIR/id.txt\"", tasks: 2, replicate: 1_000_000)
        let job = try await withAgents([network.agent(operatorKey: network.operatorA), network.agent(operatorKey: network.operatorB)]) {
            try await network.settled(try await network.client.submitJob(spec, by: network.requester).id)
        }
        #expect(job.tasks.allSatisfy { $0.state == "disputed" })
        #expect(job.paidMicro == 0 && job.burnedMicro == 0)
        #expect(job.refundedMicro == job.escrowLockedMicro)
        // The evidence stays: both digests are on record and differ.
        for task in job.tasks {
            let digests = Set(task.runs.filter { $0.state == "completed" }.compactMap(\.digest))
            #expect(digests.count == 2)
        }
        #expect(await balance(network, network.operatorA) == TestNetwork.operatorBalanceMicro)
        #expect(await balance(network, network.requester) == TestNetwork.fundingMicro)
        await network.stop()
        _ = try await reopenAndAudit(network)
    }

    @Test func auditCatchesATamperedRowAndATamperedEntry() async throws {
        let network = try await TestNetwork.start()
        _ = try await network.client.submitJob(TestNetwork.shellSpec("t", script: "true"), by: network.requester)
        await network.stop()
        _ = try await reopenAndAudit(network)

        let connection = try await SQLiteConnection.open(storage: .file(path: network.databasePath))
        let db = connection.sql()
        // Give the requester one µCRU more than the log says.
        try await db.raw("UPDATE accounts SET balance_micro = balance_micro + 1 WHERE address = \(bind: network.requester.address)").run()
        do {
            _ = try await reopenAndAudit(network)
            Issue.record("the audit passed over a tampered balance")
        } catch let error as CrucibleError {
            #expect(error.code == .auditFailed)
            #expect(error.message.contains("accounts \(network.requester.address)"))
        }
        try await db.raw("UPDATE accounts SET balance_micro = balance_micro - 1 WHERE address = \(bind: network.requester.address)").run()
        _ = try await reopenAndAudit(network)

        // Rewrite history: change the genesis allocation in the log itself.
        try await db.raw("UPDATE log_entries SET content = replace(content, '\"amountMicro\":1000000000', '\"amountMicro\":2000000000') WHERE seq = 1").run()
        do {
            _ = try await reopenAndAudit(network)
            Issue.record("the audit passed over a rewritten log entry")
        } catch let error as CrucibleError {
            #expect(error.message.contains("log entry 1"))
        }
        try await connection.close()
    }

    @Test func coordinatorRestartMidRunLosesAndDoublesNothing() async throws {
        var network = try await TestNetwork.start()
        let spec = TestNetwork.shellSpec("slow", script: "sleep 1; echo {index} > \"$CRUCIBLE_OUTPUT_DIR/i.txt\"", tasks: 4, replicate: 500_000)
        let agentA = network.agent(operatorKey: network.operatorA)
        let agentB = network.agent(operatorKey: network.operatorB)
        let job = try await withAgents([agentA, agentB]) {
            let submitted = try await network.submitAndWaitForARunningRun(spec)
            // Stop the coordinator while runs are in flight; the agents keep working and retry their reports.
            await network.stop()
            network = try await TestNetwork.start(reusing: network)
            return try await network.settled(submitted.id)
        }
        await network.expectSettledOnceBetweenAAndB(job)
        await network.stop()
        _ = try await reopenAndAudit(network)
    }

    @Test func silentNodeLosesItsLeaseAndTheTaskMovesOn() async throws {
        let network = try await TestNetwork.start()
        // A cheap node that takes the offer and then never heartbeats.
        let silent = SigningIdentity()
        _ = try await network.client.registerNode(NodeRegistration.authorized(
            node: silent.address, by: network.operatorB,
            hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 4, memoryMiB: 4096, os: "l"),
            policy: AgentPolicy(askMicroPerCpuCoreHour: 100_000), region: "r", agentVersion: "t"
        ), by: silent)
        #expect(try await network.prove(silent).state == .passed)
        let submitted = try await network.client.submitJob(TestNetwork.shellSpec("moves", script: "echo ok > \"$CRUCIBLE_OUTPUT_DIR/ok\""), by: network.requester)
        let offers = try await network.client.pollOffers(waitMs: 5_000, by: silent)
        let offer = try #require(offers.first)
        #expect(offer.priceMicroPerUnitHour == 100_000)
        _ = try await network.client.respondOffer(OfferResponse(runId: offer.runId, accept: true), by: silent)

        let agent = network.agent(operatorKey: network.operatorA)
        let job = try await withAgents([agent]) { try await network.settled(submitted.id) }
        let runs = job.tasks[0].runs
        #expect(runs.first?.state == "lost")
        #expect(runs.first?.failure?.contains("heartbeat") == true)
        #expect(runs.last?.state == "completed")
        #expect(runs.last?.nodeId == (await agent.nodeId))
        #expect(job.tasks[0].state == "verified")
        await network.stop()
    }

    @Test func aNodesPolicyIsHonouredAndTheWorkGoesToTheNextCandidate() async throws {
        let network = try await TestNetwork.start()
        // The cheaper node refuses this requester by policy, which it registered: the coordinator never offers it the
        // work, and the dearer node takes it. (Offers an agent declines anyway are NetworkStateTests' subject.)
        let picky = network.agent(operatorKey: network.operatorA, policy: AgentPolicy(askMicroPerCpuCoreHour: 200_000, blockedRequesters: [network.requester.address]))
        let willing = network.agent(operatorKey: network.operatorB, policy: AgentPolicy(askMicroPerCpuCoreHour: 900_000))
        let job = try await withAgents([picky, willing]) {
            try await waitUntil("both agents are online") { try await network.client.nodes().filter(\.online).count == 2 }
            let submitted = try await network.client.submitJob(TestNetwork.shellSpec("next", script: "true"), by: network.requester)
            return try await network.settled(submitted.id)
        }
        let runs = job.tasks[0].runs
        #expect(runs.count == 1)
        #expect(runs[0].nodeId == (await willing.nodeId))
        #expect(runs[0].priceMicroPerUnitHour == 900_000)
        #expect(job.tasks[0].state == "verified")
        await network.stop()
    }

    @Test func runawayTaskIsKilledAtItsLimitAndTheJobRefunded() async throws {
        let network = try await TestNetwork.start()
        let agent = network.agent(operatorKey: network.operatorA)
        let job = try await withAgents([agent]) {
            let submitted = try await network.client.submitJob(TestNetwork.shellSpec("runaway", script: "sleep 60", maxDurationS: 1), by: network.requester)
            return try await network.settled(submitted.id)
        }
        #expect(job.tasks[0].state == "failed")
        #expect(job.tasks[0].runs.count == TestNetwork.fastParameters.attemptsMax)
        #expect(job.tasks[0].runs.allSatisfy { $0.state == "failed" && ($0.failure ?? "").contains("time limit") })
        #expect(job.paidMicro == 0)
        #expect(job.refundedMicro == job.escrowLockedMicro)
        #expect(await balance(network, network.requester) == TestNetwork.fundingMicro)
        await network.stop()
    }

    /// A cancelled job's running task is stopped at the agent's next poll — not its next heartbeat, a minute apart here
    /// under a lease long enough for that — and the agent reports it gone, which frees the node's capacity.
    @Test func cancellingStopsTheRunAtOnceAndRefunds() async throws {
        var parameters = TestNetwork.fastParameters
        parameters.leaseTimeoutMs = 180_000
        let network = try await TestNetwork.start(parameters: parameters)
        let agent = network.agent(operatorKey: network.operatorA, heartbeatIntervalMs: 60_000)
        let nodeId = await agent.nodeId
        let job = try await withAgents([agent]) {
            let submitted = try await network.client.submitJob(TestNetwork.shellSpec("long", script: "sleep 600", maxDurationS: 600), by: network.requester)
            try await waitUntil("the run is working on the agent") { !(await agent.activeRunIds.isEmpty) }
            let cancelled = try await network.client.cancelJob(submitted.id, by: network.requester)
            #expect(cancelled.state == "cancelled")
            #expect(await network.coordinator.state.unreleasedRunIdsByNode[nodeId]?.count == 1, "the node's capacity counts the run until it is gone")
            try await waitUntil("the agent stopped the run and reported it gone", timeoutS: 30) {
                let released = await network.coordinator.state.unreleasedRunIdsByNode[nodeId] == nil
                let idle = await agent.activeRunIds.isEmpty
                return released && idle
            }
            return cancelled
        }
        #expect(job.refundedMicro == job.escrowLockedMicro)
        #expect(await balance(network, network.requester) == TestNetwork.fundingMicro)
        await network.stop()
        _ = try await reopenAndAudit(network)
    }
}
