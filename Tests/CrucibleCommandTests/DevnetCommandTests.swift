import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// Runs the built `crucible` binary the way a newcomer does: devnet with agents as separate processes,
/// then an audit of the data folder it leaves.
@Suite(.serialized, .heavyProcesses) struct DevnetCommandTests {
    /// The `crucible` binary built next to this test bundle.
    static var executable: String {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: runner).deletingLastPathComponent()
        // On Linux the test runner is <build>/debug/<Package>PackageTests.xctest; elsewhere it may sit deeper.
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("crucible").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("crucible").path
    }

    struct Outcome {
        var status: Int32
        var output: String
    }

    func crucible(_ arguments: [String], timeoutS: Int = 240) async throws -> Outcome {
        try await run(Self.executable, arguments, timeoutS: timeoutS)
    }

    /// Runs a program to its end (stopped after `timeoutS`), with its output collected through a file.
    func run(_ executable: String, _ arguments: [String], in directory: String? = nil, timeoutS: Int = 240) async throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-cli-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let (exits, continuation) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { continuation.yield($0.terminationStatus); continuation.finish() }
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeoutS))
            process.terminate()
        }
        var status: Int32 = -1
        for await value in exits { status = value }
        watchdog.cancel()
        try output.close()
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        return Outcome(status: status, output: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    /// Slow by nature: devnet as a newcomer runs it, with real agents as child processes proving their hardware by
    /// challenge and settling eight demo jobs (ten with Blender's renders), then the same again on the data folder it
    /// left; 2–3 minutes on a 2-core machine (measured 2026-12-04, debug build).
    @Test func devnetSettlesItsDemoJobsAndTheAuditAgrees() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.executable), "no crucible binary at \(Self.executable)")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-devnet-\(UUID().uuidString)").path
        let run = try await crucible(["devnet", "--once", "--fresh", "--port", "0", "--nodes", "2", "--data", data])
        #expect(run.status == 0, "devnet failed:\n\(run.output)")
        // With Blender installed (`.ci/run` installs it) the demo renders three frames too, each checked by a crop.
        let renders = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/blender")
        } ?? false
        for name in ["gang", "hash-chain", "word-count", "primes"] + (renders ? ["turntable"] : []) {
            #expect(run.output.contains { _ in true } && run.output.split(separator: "\n").contains { $0.contains("  \(name) ") && $0.contains("settled") },
                    "\(name) did not settle:\n\(run.output)")
        }
        #expect(run.output.contains("audit OK"))
        #expect(run.output.contains("2 node agents online"))

        // Keys were written owner-only.
        let mode = try FileManager.default.attributesOfItem(atPath: data + "/keys/requester.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // The data folder audits on its own, and a second run reuses it.
        let audit = try await crucible(["audit", "--data", data])
        #expect(audit.status == 0, "\(audit.output)")
        #expect(audit.output.contains("ledger OK"))
        let again = try await crucible(["devnet", "--once", "--port", "0", "--nodes", "2", "--data", data])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("reusing the data folder"))
        #expect(again.output.contains("\(renders ? 10 : 8) jobs recomputed"))
        if renders { #expect(again.output.contains("proof of render OK: 6 tile checks recomputed")) }
    }

    @Test func badArgumentsAreRefusedClearly() async throws {
        let nodes = try await crucible(["devnet", "--nodes", "0"])
        #expect(nodes.status != 0)
        #expect(nodes.output.contains("--nodes must be between 1 and 16"))
        let missing = try await crucible(["audit", "--data", "/nonexistent/crucible"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("no database"))
    }
}
