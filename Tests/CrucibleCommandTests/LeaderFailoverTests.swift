import CrucibleClient
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// Two coordinator processes over one PostgreSQL database: the first leads, the second follows (answers reads from
/// the log it tails, passes the rest on). The leader is killed mid-work; the follower takes the lead within seconds,
/// the agents and the requester carry on through it, the job settles with every run paid once, and the audit passes.
@Suite(.serialized, .heavyProcesses) struct LeaderFailoverTests {
    typealias Background = SeparatePiecesTests.Background

    @Test func aFollowerTakesOverFromAKilledLeaderAndNothingIsLostOrPaidTwice() async throws {
        try await ThrowawayPostgres.with { postgres in
            let database = try await postgres.createDatabase()
            let cli = DevnetCommandTests()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-failover-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            func path(_ name: String) -> String { folder + "/" + name }
            let requester = SigningIdentity(), operatorA = SigningIdentity(), operatorB = SigningIdentity()
            try KeyFile.write(operatorA, to: path("operator-a.key"))
            try KeyFile.write(operatorB, to: path("operator-b.key"))
            // The coordinators of one network sign its log with one key.
            let coordinatorKey = SigningIdentity()
            for name in ["first", "second"] {
                try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
                try KeyFile.write(coordinatorKey, to: path(name) + "/coordinator.key")
            }
            try AgentFaultTests.shortLeaseParameters.write(toFile: path("parameters.yaml"), atomically: true, encoding: .utf8)
            let funding: Int64 = 500, operatorFunding: Int64 = 100
            func serve(_ name: String) throws -> Background {
                try Background([
                    "coordinator", "serve", "--data", path(name), "--database", database, "--listen", "127.0.0.1:0",
                    "--parameters", path("parameters.yaml"), "--fund", "\(requester.address)=\(funding)",
                    "--fund", "\(operatorA.address)=\(operatorFunding)", "--fund", "\(operatorB.address)=\(operatorFunding)", "--log-level", "error",
                ])
            }
            let first = try serve("first")
            defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL) } }
            let firstURL = try await first.listeningURL()
            #expect(first.output.contains("leading"), "\(first.output)")
            let second = try serve("second")
            defer { if second.process.isRunning { kill(second.process.processIdentifier, SIGKILL) } }
            let secondURL = try await second.listeningURL()
            #expect(second.output.contains("following the leader at \(firstURL)"), "\(second.output)")
            var agents: [Background] = []
            defer { for agent in agents where agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL) } }

            // The follower passes a write on and then reads it back itself.
            let follower = try CoordinatorClient(url: secondURL)
            #expect(try await follower.health().leader == false)
            #expect(try await CoordinatorClient(url: firstURL).health().leader == true)
            for wallet in [operatorA, operatorB] {
                _ = try await follower.stake(.bond, amountMicro: 20 * Amount.microPerCRU, by: wallet)
                #expect(try await follower.stakeStatus(wallet.address).stakedMicro == 20 * Amount.microPerCRU)
            }

            // Everyone else is told of both coordinators, the leader first.
            let both = "\(firstURL),\(secondURL)"
            let client = try CoordinatorClient(url: both)
            for (name, wallet) in [("a", "operator-a.key"), ("b", "operator-b.key")] {
                agents.append(try Background([
                    "node", "run", "--coordinator", both, "--key", path("node-\(name).key"), "--operator-key", path(wallet),
                    "--work", path("work-\(name)"), "--parent-pid", "\(getpid())", "--log-level", "warning",
                ]))
            }
            let spec = JobSpec(
                name: "through-failover", command: "sh", args: ["-c", "sleep 1; echo {index} > \"$CRUCIBLE_OUTPUT_DIR/i.txt\""], taskCount: 6,
                resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 64), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 60,
                verification: .init(policy: .replicate, samplePpm: 500_000)
            )
            let submitted = try await client.submitJob(spec, by: requester)
            try await waitUntil("a run to complete", timeoutS: 120) {
                try await client.job(submitted.id).tasks.flatMap(\.runs).contains { $0.state == "completed" }
            }

            #expect(try await client.job(submitted.id).state != "settled", "the job was done before the leader could be killed mid-work")
            kill(first.process.processIdentifier, SIGKILL)
            first.process.waitUntilExit()
            let killed = ContinuousClock.now
            try await waitUntil("the follower to take the lead", timeoutS: 30) {
                (try? await follower.health().leader) == true
            }
            let takeover = ContinuousClock.now - killed
            #expect(takeover < .seconds(10), "the follower took \(takeover) to take the lead")
            #expect(second.process.isRunning)

            var job = try await client.job(submitted.id)
            try await waitUntil("the job to settle through the new leader", timeoutS: 120) {
                job = try await client.job(submitted.id)
                return job.state == "settled"
            }
            #expect(job.tasks.allSatisfy { $0.state == "verified" })
            let paidRuns = job.tasks.flatMap(\.runs).filter { $0.paidMicro > 0 }
            #expect(paidRuns.allSatisfy { $0.state == "completed" })
            #expect(paidRuns.reduce(0) { $0 + $1.paidMicro } == job.paidMicro)
            // Every run paid once: the operators gained exactly what the job paid, the requester lost exactly that and the fee.
            let stake = 20 * Amount.microPerCRU, operatorStart = operatorFunding * Amount.microPerCRU - stake
            let gained = try await client.account(operatorA.address).balanceMicro + client.account(operatorB.address).balanceMicro - 2 * operatorStart
            #expect(gained == job.paidMicro)
            #expect(try await client.account(requester.address).balanceMicro == funding * Amount.microPerCRU - job.paidMicro - job.burnedMicro)

            for agent in agents { await agent.stop() }
            await second.stop()
            let audit = try await cli.crucible(["audit", "--database", database])
            #expect(audit.status == 0, "\(audit.output)")
        }
    }
}
