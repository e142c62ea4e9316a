import CrucibleClient
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// The agent as a separate process, killed mid-task: its task's processes would go on running without it, so the
/// agent started again over the same work folder stops them first; the coordinator declares the run lost when its
/// heartbeats stop, the task runs again, and the job settles with the audit passing.
@Suite(.serialized, .heavyProcesses) struct AgentFaultTests {
    typealias Background = SeparatePiecesTests.Background

    @Test func anAgentKilledMidTaskLeavesNothingRunningOnceRestartedAndTheJobSettles() async throws {
        let cli = DevnetCommandTests()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-agent-kill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func path(_ name: String) -> String { folder + "/" + name }
        let requester = SigningIdentity()
        let operatorKey = SigningIdentity()
        try KeyFile.write(requester, to: path("requester.key"))
        try KeyFile.write(operatorKey, to: path("operator.key"))
        try Self.shortLeaseParameters.write(toFile: path("parameters.yaml"), atomically: true, encoding: .utf8)
        let coordinator = try Background([
            "coordinator", "serve", "--data", path("coordinator"), "--listen", "127.0.0.1:0", "--parameters", path("parameters.yaml"),
            "--fund", "\(requester.address)=500", "--fund", "\(operatorKey.address)=100", "--log-level", "error",
        ])
        let url = try await coordinator.listeningURL()
        let client = try CoordinatorClient(url: url)
        _ = try await client.stake(.bond, amountMicro: 20 * Amount.microPerCRU, by: operatorKey)
        let agentArguments = [
            "node", "run", "--coordinator", url, "--key", path("node.key"), "--operator-key", path("operator.key"),
            "--work", path("work"), "--parent-pid", "\(getpid())", "--log-level", "warning",
        ]
        var agent = try Background(agentArguments)
        // A failure anywhere below stops both processes: a coordinator left behind outlives the test run.
        do {

            // The first attempt records its process ID and sleeps for ten minutes; a later attempt finishes in a second
            // (long enough to be paid something at the node's ask: a run of a few ms rounds to 0 µCRU).
            let pidFile = path("first-attempt.pid")
            let script = "if [ -e '\(pidFile)' ]; then sleep 1; echo again > \"$CRUCIBLE_OUTPUT_DIR/done.txt\"; else echo $$ > '\(pidFile)'; exec sleep 600; fi"
            let spec = JobSpec(
                name: "outlives", command: "sh", args: ["-c", script], taskCount: 1,
                resources: .init(cpuCores: 1), maxPriceMicroPerUnitHour: Amount.microPerCRU, maxDurationS: 900
            )
            let job = try await client.submitJob(spec, by: requester)
            var orphan: pid_t = 0
            // Whatever happens below, the ten-minute sleep does not outlive the test.
            defer { if orphan > 1 { kill(orphan, SIGKILL) } }
            try await waitUntil("the first attempt to start", timeoutS: 120) {
                guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
                orphan = pid
                return true
            }

            // The agent records the task's process group just after starting it; the task can write its PID first. A kill
            // in between leaves nothing to find (seen once under CI's load), so the kill comes once the record is there.
            try await waitUntil("the agent to record the task's process group", timeoutS: 60) {
                ((try? FileManager.default.subpathsOfDirectory(atPath: path("work"))) ?? []).contains { $0.hasSuffix("process-group") }
            }
            kill(agent.process.processIdentifier, SIGKILL)
            agent.process.waitUntilExit()
            // Killed, the agent could not stop its task: the task is still running.
            #expect(Self.isRunning(orphan), "the task died with its agent; nothing left to test")

            agent = try Background(agentArguments)
            // It does so before probing the machine (PyTorch, Blender, Ray), which takes a while on a loaded one.
            do {
                try await waitUntil("the restarted agent to stop the task its earlier life left running", timeoutS: 120) {
                    !Self.isRunning(orphan)
                }
            } catch {
                // What the restarted agent said, and what it had to go on, for whoever looks into a failure here.
                let records = (try? FileManager.default.subpathsOfDirectory(atPath: path("work"))) ?? []
                Issue.record("agent output:\n\(agent.output)\nwork folder: \(records.filter { $0.hasSuffix("process-group") })")
                throw error
            }
            var settled = try await client.job(job.id)
            try await waitUntil("the job to settle", timeoutS: 120) {
                settled = try await client.job(job.id)
                return settled.state == "settled"
            }
            let runs = settled.tasks[0].runs
            #expect(runs.first?.state == "lost", "\(runs.map(\.state))")
            #expect(runs.last?.state == "completed")
            #expect(runs.filter { $0.paidMicro > 0 }.map(\.id) == [runs.last?.id], "\(runs.map { "\($0.id) \($0.state) paid \($0.paidMicro)" })")
            #expect(agent.output.contains("stopped processes an earlier agent left running"), "\(agent.output)")

        } catch {
            await agent.stop()
            await coordinator.stop()
            throw error
        }
        await agent.stop()
        await coordinator.stop()
        let audit = try await cli.crucible(["audit", "--data", path("coordinator")])
        #expect(audit.status == 0, "\(audit.output)")
    }

    /// Short leases, so a run whose agent or coordinator was killed is declared lost within seconds; small CPU
    /// challenges with a low floor, for a debug build on a shared machine.
    static let shortLeaseParameters = """
        leaseTimeoutMs: 3000
        leaseGraceMs: 1000
        challenges:
          cpuN: 128
          targetMs: 50
          slackPercent: 20000
          floorBps: 10
        """

    /// Whether `pid` is a live process (a zombie waiting for its parent to reap it is not).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }
}
