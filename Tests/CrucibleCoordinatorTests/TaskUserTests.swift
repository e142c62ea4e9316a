import CrucibleAgent
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// An agent that runs as root starts each task as an unprivileged user: the task works in its own folder and hands
/// back its outputs, and cannot read what the agent keeps, its node key file among it.
@Suite(.network) struct TaskUserTests {
    @Test(.enabled(if: getuid() == 0, "the agent drops to another user only when it runs as root, as under .ci/run"))
    func aTaskRunsAsTheTaskUserAndCannotReadTheAgentsFiles() async throws {
        let network = try await TestNetwork.start(parameters: MarketEndToEndTests.parameters)
        let nodeKey = SigningIdentity()
        let agent = network.agent(operatorKey: network.operatorA, nodeKey: nodeKey, taskUser: try TaskUser(name: "nobody"))
        // A file the agent keeps as it keeps its key file: its user's, mode 0600, beside the runs.
        let secret = network.directory.appendingPathComponent("agent-\(nodeKey.address.prefix(8))/node.key")
        try FileManager.default.createDirectory(at: secret.deletingLastPathComponent(), withIntermediateDirectories: true)
        try KeyFile.write(nodeKey, to: secret.path)
        #expect(FileManager.default.isReadableFile(atPath: secret.path), "the agent's own user reads it")
        let script = """
            id -un > "$CRUCIBLE_OUTPUT_DIR/who"
            if cat '\(secret.path)' > /dev/null 2>&1; then echo read; else echo refused; fi >> "$CRUCIBLE_OUTPUT_DIR/who"
            echo "$HOME" >> "$CRUCIBLE_OUTPUT_DIR/who"
            """
        let job = try await withAgents([agent]) {
            let submitted = try await network.client.submitJob(TestNetwork.shellSpec("who", script: script), by: network.requester)
            return try await network.settled(submitted.id)
        }
        let run = try #require(job.tasks[0].runs.first { $0.state == "completed" }, "\(job.tasks[0].runs.map(\.state))")
        let output = try #require(run.outputs.first { $0.path == "who" })
        let lines = String(decoding: try await network.client.blob(output.sha256), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && lines[0] == "nobody" && lines[1] == "refused", "\(lines)")
        #expect(lines.last?.hasSuffix(run.id) == true, "its home is its own run folder: \(lines)")
        await network.stop()
    }

    @Test func aTaskUserMustExistAndNotBeRoot() {
        #expect(throws: CrucibleError.self) { try TaskUser(name: "no-such-user-\(UUID().uuidString.prefix(8))") }
        #expect(throws: CrucibleError.self) { try TaskUser(name: "root") }
    }
}
