@testable import CrucibleAgent
import CrucibleTestSupport
import Foundation
import Testing

/// What an agent starting over its work folder stops: tasks an earlier life of it left running, recorded or not.
@Suite(.network) struct LeftoverRunsTests {
    func start(_ script: String, runId: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.environment = ["CRUCIBLE_RUN_ID": runId, "PATH": "/usr/bin:/bin"]
        // Nothing of the test's own: a leftover must not hold the test runner's output open.
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func processes(of runId: String) -> [pid_t] {
        LeftoverRuns.liveProcesses().map(\.pid).filter { LeftoverRuns.environment(of: $0).contains("CRUCIBLE_RUN_ID=\(runId)") }
    }

    @Test func anUnrecordedTaskAndItsChildrenAreStoppedAndOthersAreLeftAlone() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-leftovers-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let mine = "run-\(UUID().uuidString)", elsewhere = "run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(at: root.appendingPathComponent(mine), withIntermediateDirectories: true)
        // The task started a child of its own before the agent died; neither was recorded.
        let task = try start("sleep 600 & wait", runId: mine)
        // Another agent's task (its run has no folder here).
        let other = try start("exec sleep 600", runId: elsewhere)
        defer { kill(-other.processIdentifier, SIGKILL) }
        // Until a child has exec'd, /proc shows it with this process's environment.
        try await waitUntil("the tasks are running") { processes(of: mine).count == 2 && processes(of: elsewhere).count == 1 }

        #expect(LeftoverRuns.stopAll(under: root) == [mine])
        try await waitUntil("the task and its child are gone") { processes(of: mine).isEmpty }
        #expect(!task.isRunning || processes(of: mine).isEmpty)
        #expect(other.isRunning && processes(of: elsewhere).count == 1)
        // Nothing left to stop the second time.
        #expect(LeftoverRuns.stopAll(under: root).isEmpty)
    }
}
