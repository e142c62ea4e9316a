import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// schemathesis (PyPI) against `openapi.yaml` and a coordinator process: thousands of generated requests, valid and
/// not, through every operation. No answer may be a server error or stray from the schema, anything the schema rules out
/// must be refused, and since none of it is signed by a known key, nothing may reach the log.
@Suite(.heavyProcesses) struct SchemathesisTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.schemathesis-venv/bin/schemathesis` at the package root (what `.ci/run` makes), then `schemathesis` on PATH.
    static func findSchemathesis() -> String? {
        let venv = root.appendingPathComponent(".schemathesis-venv/bin/schemathesis").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        return ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/schemathesis" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func generatedRequestsGetNoServerErrorAndChangeNothing() async throws {
        let schemathesis = try #require(Self.findSchemathesis(), "no schemathesis: run .ci/run, or pip install schemathesis into .schemathesis-venv")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-schemathesis-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let coordinator = try SeparatePiecesTests.Background(["coordinator", "serve", "--data", data + "/coordinator", "--listen", "127.0.0.1:0"])
        do {
            let url = try await coordinator.listeningURL()
            let cli = DevnetCommandTests()
            let fuzz = try await cli.run(schemathesis, [
                "--config-file", Self.root.appendingPathComponent("schemathesis.toml").path,
                "run", Self.root.appendingPathComponent("openapi.yaml").path, "--url", url,
                // One worker: two threads parsing at once tripped a CPython 3.11 `ast` error inside hypothesis (not a finding).
                "--max-time", "60", "--workers", "1", "--no-color", "--seed", "1",
            ], in: data, timeoutS: 300)  // its caches (.hypothesis, .schemathesis) go with the data folder
            let summary = fuzz.output.split(separator: "\n").suffix(30).joined(separator: "\n")
            #expect(fuzz.status == 0, "schemathesis found failures:\n\(fuzz.output.suffix(6_000))")
            #expect(fuzz.output.contains(" passed") && !fuzz.output.contains("not_a_server_error"), "\(summary)")
            // Nothing it sent was signed by a key the network knows: the log holds the genesis and nothing else.
            let audit = try await cli.crucible(["audit", "--coordinator", url])
            #expect(audit.status == 0 && audit.output.contains("audit OK: 1 log entries (0 signed inputs"), "\(audit.output)")
            #expect(coordinator.process.isRunning, "the coordinator died under the generated requests:\n\(coordinator.output.suffix(4_000))")
        } catch {
            await coordinator.stop()
            throw error
        }
        await coordinator.stop()
    }
}
