@testable import CrucibleAgent
import CrucibleClient
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Logging
import Testing

/// A run the agent stops ends, whatever its process does with SIGTERM: stopped before its process began (its lease
/// lost while its inputs downloaded), or while it runs; and a task that handles SIGTERM gets it.
@Suite(.network) struct RunControlTests {
    /// A task that ignores SIGTERM, as a torchrun waiting for a gang member did (a child inherits the agent's blocked
    /// signals): only SIGKILL ends it.
    static let stubborn = RunOrder(
        runId: "job-stop.0.p1", jobId: "job-stop", taskIndex: 0, taskCount: 1, role: "primary", command: "sh",
        args: ["-c", "trap '' TERM; sleep 600 & wait; sleep 600"], inputs: [], maxDurationS: 3_600
    )

    func runner() -> TaskRunner {
        TaskRunner(
            client: CoordinatorClient(baseURL: URL(string: "http://127.0.0.1:9")!), node: SigningIdentity(),
            workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("crucible-runcontrol-\(UUID().uuidString)"),
            logger: Logger(label: "crucible.test.runcontrol")
        )
    }

    @Test(.timeLimit(.minutes(1))) func aRunStoppedBeforeItsProcessStartsIsKilledAtOnce() async throws {
        let control = RunControl()
        await control.stop("the coordinator withdrew the lease")
        let report = await runner().execute(Self.stubborn, control: control)
        #expect(report.failure == "stopped: the coordinator withdrew the lease" && report.exitCode == 128 + SIGKILL, "\(report)")
    }

    @Test(.timeLimit(.minutes(1))) func aRunningTaskThatIgnoresSIGTERMIsKilledAfterTheGrace() async throws {
        let control = RunControl()
        let run = Task { await runner().execute(Self.stubborn, control: control) }
        try await waitUntil("the task runs") { await control.processGroup != nil }
        await control.stop("agent shutting down", graceS: 1)
        let report = await run.value
        #expect(report.failure == "stopped: agent shutting down" && report.exitCode == 128 + SIGKILL, "\(report)")
    }

    /// The task gets SIGTERM first and may finish on its own (save a checkpoint) within the grace: its handler runs
    /// although the thread that spawned it blocks signals (a dispatch worker's mask; `node run` also ignores SIGTERM,
    /// which is not set here: other tests in this process start processes they stop with it).
    @Test(.timeLimit(.minutes(1))) func aTaskThatHandlesSIGTERMGetsItAndFinishesOnItsOwn() async throws {
        #expect(TaskRunner.envResetsSignals, "Debian's coreutils env has --default-signal")
        let polite = RunOrder(
            runId: "job-polite.0.p1", jobId: "job-polite", taskIndex: 0, taskCount: 1, role: "primary", command: "sh",
            args: ["-c", "trap 'echo saved > \"$CRUCIBLE_OUTPUT_DIR/checkpoint\"; exit 7' TERM; sleep 600 & wait"], inputs: [], maxDurationS: 3_600
        )
        let control = RunControl()
        let run = Task { await runner().execute(polite, control: control) }
        try await waitUntil("the task runs") { await control.processGroup != nil }
        await control.stop("agent shutting down", graceS: 30)
        let report = await run.value
        #expect(report.exitCode == 7 && report.failure == "stopped: agent shutting down", "\(report)")
    }
}
