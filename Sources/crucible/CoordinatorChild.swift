import CrucibleCore
import Foundation

/// A `crucible coordinator serve` started by this process as a child of its own, so that what it costs — CPU time and
/// memory, read from /proc — is the coordinator's alone and not the load generator's beside it.
final class CoordinatorChild: Sendable {
    let child: ChildProcess

    init(arguments: [String], folder: String) throws {
        child = try ChildProcess(
            name: "coordinator", executable: ChildProcess.currentExecutable(), arguments: ["coordinator", "serve"] + arguments,
            logPath: folder + "/coordinator.out"
        )
    }

    var output: String { (try? String(contentsOfFile: child.logPath, encoding: .utf8)) ?? "" }

    /// Waits for the coordinator's "listening on http://…" line and returns that URL.
    func listeningURL(timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.contains("listening on http") }), let url = line.split(separator: " ").last {
                return String(url)
            }
            guard child.isRunning else { throw CrucibleError(.unavailable, "the coordinator exited: \(output)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CrucibleError(.unavailable, "the coordinator did not start listening within \(timeout): \(output)")
    }

    /// User plus system CPU seconds the coordinator has used so far.
    func cpuSeconds() -> Double { child.cpuSeconds() }

    /// Resident memory now and at its peak, in MiB.
    func memoryMiB() -> (resident: Double, peak: Double) {
        let bytes = ProcessUsage.memoryBytes(of: child.pid)
        return (bytes.resident / 1_048_576, bytes.peak / 1_048_576)
    }

    func stop() async {
        await child.stop()
    }
}
