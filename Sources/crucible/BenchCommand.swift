import ArgumentParser
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleStore
import Foundation
import Logging

/// Figures, not assertions: how fast one coordinator admits signed jobs over HTTP and how fast its log replays.
/// Run it on the machine you care about and compare runs made in the same session.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure job admission over loopback HTTP and log replay on a throwaway coordinator.",
        subcommands: [LedgerBenchCommand.self, MarketBenchCommand.self, RenderBenchCommand.self]
    )

    @Option(help: "Jobs to submit.")
    var jobs: Int = 2000

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 16

    @Option(help: "Tasks per job.")
    var tasks: Int = 4

    @Option(help: ArgumentHelp("An empty database to run on (a postgres:// URL); default: a throwaway SQLite file.", valueName: "url"))
    var database: String?

    func validate() throws {
        guard (1...1_000_000).contains(jobs), (1...1024).contains(concurrency), (1...JobSpec.taskCountMax).contains(tasks) else {
            throw ValidationError("--jobs 1…1000000, --concurrency 1…1024, --tasks 1…\(JobSpec.taskCountMax)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "crucible.bench")
        logger.logLevel = .error
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try await CrucibleStore.open(database ?? folder + "/crucible.sqlite", logger: logger)
        guard try await store.lastLogEntry() == nil else {
            try await store.close()
            throw ValidationError("the database given has a log already: bench needs an empty one")
        }
        let requesters = (0..<concurrency).map { _ in SigningIdentity() }
        let coordinator = try await Coordinator.open(
            store: store, identity: SigningIdentity(),
            genesisAllocations: requesters.map { .init(address: $0.address, amountMicro: 1_000_000 * Amount.microPerCRU) },
            // No per-key limit: the bench measures how fast the coordinator admits, not how it turns a flood away.
            rateLimit: nil, logger: logger
        )
        let server = try await CoordinatorServer.start(coordinator: coordinator, host: "127.0.0.1", port: 0, logger: logger)
        let client = CoordinatorClient(baseURL: URL(string: "http://127.0.0.1:\(server.port)")!)
        let spec = JobSpec(name: "bench", command: "true", taskCount: tasks, maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60)

        // Admission: each worker submits signed jobs back to back; latency is request to durable answer.
        let perWorker = (jobs + concurrency - 1) / concurrency
        let started = ContinuousClock.now
        let latenciesMs = try await withThrowingTaskGroup(of: [Double].self) { group in
            for requester in requesters {
                group.addTask {
                    var samples = [Double]()
                    for _ in 0..<perWorker {
                        let sent = ContinuousClock.now
                        _ = try await client.submitJob(spec, by: requester)
                        samples.append((ContinuousClock.now - sent).totalSeconds * 1000)
                    }
                    return samples
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }.sorted()
        let admissionS = (ContinuousClock.now - started).totalSeconds
        await server.stop()
        await coordinator.drain()
        let head = await coordinator.logHead

        // Replay: the audit reads, verifies and re-applies every entry, then compares every table.
        let replayStarted = ContinuousClock.now
        let report = try await Auditor.audit(store: store)
        let replayS = (ContinuousClock.now - replayStarted).totalSeconds
        try await store.close()

        func percentile(_ p: Double) -> Double { latenciesMs[min(latenciesMs.count - 1, Int(Double(latenciesMs.count) * p))] }
        print("admission: \(latenciesMs.count) signed jobs (\(tasks) tasks each) from \(concurrency) signers over loopback HTTP, \(store.kind), in \(String(format: "%.2f", admissionS)) s")
        print("  throughput \(String(format: "%.0f", Double(latenciesMs.count) / admissionS)) jobs/s; latency ms p50 \(String(format: "%.2f", percentile(0.5))), p90 \(String(format: "%.2f", percentile(0.9))), p99 \(String(format: "%.2f", percentile(0.99)))")
        print("replay: \(head) log entries audited in \(String(format: "%.2f", replayS)) s (\(String(format: "%.0f", Double(head) / replayS)) entries/s), \(report.jobs) jobs")
    }

}
