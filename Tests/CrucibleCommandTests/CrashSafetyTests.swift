import CrucibleClient
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// The coordinator killed with SIGKILL at random moments while jobs settle and one-second epochs close, restarted
/// on the same data folder each time: every job it acknowledged is still there and settles, nothing is paid or
/// minted twice, and the audit of the whole log passes.
@Suite(.serialized, .heavyProcesses) struct CrashSafetyTests {
    typealias Background = SeparatePiecesTests.Background

    @Test func killingTheCoordinatorMidSettlementAndEpochCloseLosesAndDoublesNothing() async throws {
        let cli = DevnetCommandTests()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-crash-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func path(_ name: String) -> String { folder + "/" + name }
        let requester = SigningIdentity()
        let operatorKey = SigningIdentity()
        try KeyFile.write(requester, to: path("requester.key"))
        try KeyFile.write(operatorKey, to: path("operator.key"))
        try """
        challenges:
          cpuN: 128
          targetMs: 50
          slackPercent: 20000
          floorBps: 10
        economy:
          epochMs: 1000
          emissionMicroPerEpoch: 10000000
        """.write(toFile: path("parameters.yaml"), atomically: true, encoding: .utf8)

        var listen = "127.0.0.1:0"
        func startCoordinator() async throws -> (Background, String) {
            let process = try Background([
                "coordinator", "serve", "--data", path("coordinator"), "--listen", listen, "--parameters", path("parameters.yaml"),
                "--fund", "\(requester.address)=500", "--fund", "\(operatorKey.address)=100", "--log-level", "error",
            ])
            let url = try await process.listeningURL()
            listen = String(url.dropFirst("http://".count))
            return (process, url)
        }

        var (coordinator, url) = try await startCoordinator()
        let client = try CoordinatorClient(url: url)
        _ = try await client.stake(.bond, amountMicro: 20 * Amount.microPerCRU, by: operatorKey)
        let agent = try Background([
            "node", "run", "--coordinator", url, "--key", path("node.key"), "--operator-key", path("operator.key"),
            "--work", path("work"), "--parent-pid", "\(getpid())", "--log-level", "error",
        ])
        let spec = JobSpec(
            name: "crash", command: "sh", args: ["-c", "sleep 0.2; echo {index} > \"$CRUCIBLE_OUTPUT_DIR/o.txt\""], taskCount: 3,
            resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: Amount.microPerCRU, maxDurationS: 30
        )
        var acknowledged = Set<String>()
        var generator = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
        var kills = 0
        for _ in 0..<8 {
            // Submit a few jobs; the ones the coordinator answered are durable and must survive what follows.
            for _ in 0..<2 {
                if let job = try? await client.submitJob(spec, by: requester) { acknowledged.insert(job.id) }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...1_500, using: &generator)))
            kill(coordinator.process.processIdentifier, SIGKILL)
            coordinator.process.waitUntilExit()
            kills += 1
            (coordinator, url) = try await startCoordinator()
        }
        #expect(kills == 8 && acknowledged.count >= 8)

        do {
            try await waitUntil("every acknowledged job to settle", timeoutS: 120) {
                let states = try await acknowledged.asyncMap { try await client.job($0).state }
                return states.allSatisfy { $0 == "settled" }
            }
        } catch {
            let nodes = try await client.nodes().map { "\($0.id.prefix(8)) online \($0.online) proof \($0.proof)" }
            let jobs = try await acknowledged.asyncMap { id in
                let job = try await client.job(id)
                return "\(id) \(job.state) " + job.tasks.map { task in "\(task.state):" + task.runs.map { "\($0.state)" }.joined(separator: ",") }.joined(separator: " ")
            }
            Issue.record("not settled:\n\(nodes.joined(separator: "\n"))\n\(jobs.joined(separator: "\n"))\nagent:\n\(agent.output.suffix(3000))\ncoordinator:\n\(coordinator.output.suffix(3000))")
            throw error
        }
        for id in acknowledged {
            let job = try await client.job(id)
            // Every µCRU of the escrow is accounted for exactly once: paid, burned as fee, or refunded.
            #expect(job.paidMicro + job.burnedMicro + job.refundedMicro == job.escrowLockedMicro, "\(id)")
            #expect(job.tasks.allSatisfy { $0.state == "verified" }, "\(id)")
        }
        // Epochs closed one after another, none twice, through every restart: the latest (at most 100, newest first)
        // count down to the one before the open epoch. A loaded machine runs this test past 100 one-second epochs.
        let economy = try await client.economy()
        let closed = economy.epochs.map(\.epoch)
        #expect(closed == Array((economy.epoch - closed.count)..<economy.epoch).reversed(), "open epoch \(economy.epoch)")
        #expect(closed.last == 0 || closed.count == 100)
        #expect(closed.count >= 3)

        await agent.stop()
        await coordinator.stop()
        let audit = try await cli.crucible(["audit", "--data", path("coordinator")])
        #expect(audit.status == 0, "\(audit.output)")
        #expect(audit.output.contains("audit OK"))
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results = [T]()
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
