import ArgumentParser
import AsyncHTTPClient
import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation
import Logging
import Synchronization

/// Figures, not assertions: a coordinator process under the load of a large network. Thousands of simulated nodes with
/// real keys register and send signed heartbeats on schedule, a requester submits jobs at a fixed rate, and a few real
/// in-process agents prove their hardware, take the offers and report results. Prints sustained requests/s, latency
/// percentiles, and the coordinator's CPU and memory.
struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Load a throwaway coordinator with many simulated nodes and a job stream; print rates, latencies, CPU and memory."
    )

    @Option(help: "Simulated nodes: each registers, then sends a signed heartbeat every --heartbeat seconds.")
    var nodes: Int = 20_000

    @Option(help: "Seconds between one node's heartbeats.")
    var heartbeat: Double = 10

    @Option(help: "Jobs submitted per second (one task each), run by the working agents.")
    var jobsPerS: Double = 2

    @Option(help: "Real in-process agents that prove their hardware, take offers and report results.")
    var workers: Int = 4

    @Option(help: "Seconds of steady load measured after every node registered.")
    var duration: Double = 60

    @Option(help: "Requests in flight at once while nodes register.")
    var concurrency: Int = 64

    @Option(help: ArgumentHelp("An empty database for the coordinator (a postgres:// URL); default: a throwaway SQLite file.", valueName: "url"))
    var database: String?

    func validate() throws {
        guard (1...1_000_000).contains(nodes), heartbeat >= 0.1, jobsPerS >= 0, (0...64).contains(workers), duration >= 1,
              (1...1024).contains(concurrency) else {
            throw ValidationError("--nodes 1…1000000, --heartbeat ≥ 0.1, --jobs-per-s ≥ 0, --workers 0…64, --duration ≥ 1, --concurrency 1…1024")
        }
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-loadgen-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The working agents' operator stakes for them; the simulated nodes belong to another that stakes nothing (an
        // operator's stake covers its nodes in the order they registered).
        let operatorKey = SigningIdentity(), requester = SigningIdentity()
        // Small CPU challenges with a low floor: the working agents prove themselves in a debug build on a shared machine.
        try "challenges:\n  cpuN: 128\n  targetMs: 50\n  slackPercent: 20000\n  floorBps: 10\n"
            .write(toFile: folder + "/parameters.yaml", atomically: true, encoding: .utf8)
        var arguments = [
            "--data", folder + "/coordinator", "--listen", "127.0.0.1:0", "--parameters", folder + "/parameters.yaml",
            "--fund", "\(operatorKey.address)=\(20 * (workers + 1) + 1)", "--fund", "\(requester.address)=1000000",
            // Measuring the coordinator's capacity, not the per-key limit: the simulated nodes each send little anyway.
            "--requests-per-second", "1000000", "--request-burst", "1000000", "--log-level", "error",
        ]
        if let database { arguments += ["--database", database] }
        let coordinator = try CoordinatorChild(arguments: arguments, folder: folder)
        let url = try await coordinator.listeningURL()
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = CoordinatorClient(baseURL: URL(string: url)!, httpClient: httpClient)
        do {
            try await measure(client: client, url: url, coordinator: coordinator, operatorKey: operatorKey, requester: requester, folder: folder)
        } catch {
            await coordinator.stop()
            try? await httpClient.shutdown()
            throw error
        }
        await coordinator.stop()
        try await httpClient.shutdown()
    }

    private func measure(
        client: CoordinatorClient, url: String, coordinator: CoordinatorChild, operatorKey: SigningIdentity, requester: SigningIdentity, folder: String
    ) async throws {
        Self.report("loadgen: \(nodes) nodes, a heartbeat each every \(heartbeat) s (\(Self.format(Double(nodes) / heartbeat)) /s), \(Self.format(jobsPerS)) jobs/s run by \(workers) agents, \(Self.format(duration)) s, coordinator at \(url)")
        // The simulated nodes report a GPU the catalog does not know: they are listed unverified and never challenged, as
        // they could not answer. Their load is what 20,000 proven nodes between their rare unannounced challenges send:
        // heartbeats. (Left to fail challenge after challenge, they made the coordinator judge and retry all of them.)
        func hardware(_ index: Int) -> HardwareProfile {
            HardwareProfile(
                gpus: [.init(index: 0, uuid: "GPU-loadgen-\(index)", name: "loadgen GPU", memoryMiB: 24_576, driverVersion: "0", model: nil)],
                cpuModel: "loadgen CPU", cpuCores: 4, memoryMiB: 8192, os: "linux"
            )
        }
        _ = try await client.stake(.bond, amountMicro: Int64(20 * (workers + 1)) * Amount.microPerCRU, by: operatorKey)

        // The working agents: real agents, each a `crucible node run` process of its own (so that their work does not
        // slow the load generator), running each offered task (`true`). They start first and prove their hardware while
        // the simulated nodes register; their keys are made here to know whom to wait for.
        try KeyFile.write(operatorKey, to: folder + "/operator.key")
        let workerKeys = (0..<workers).map { _ in SigningIdentity() }
        let agents = try workerKeys.enumerated().map { index, key in
            try KeyFile.write(key, to: folder + "/node-\(index).key")
            return try ChildProcess(
                name: "agent-\(index)", executable: ChildProcess.currentExecutable(),
                arguments: [
                    "node", "run", "--coordinator", url, "--key", folder + "/node-\(index).key", "--operator-key", folder + "/operator.key", "--status", "0",
                    "--work", folder + "/agent-\(index)", "--parent-pid", "\(getpid())", "--log-level", "error",
                ],
                logPath: folder + "/agent-\(index).log"
            )
        }

        // Registration: every simulated node, `concurrency` at a time.
        let keys = (0..<nodes).map { _ in SigningIdentity() }
        let simulatedOperator = SigningIdentity()
        let registrations = Samples()
        let registrationCPU = coordinator.cpuSeconds()
        let registrationStarted = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, key) in keys.enumerated() {
                if index >= concurrency { try await group.next() }
                group.addTask {
                    let registration = NodeRegistration.authorized(
                        node: key.address, by: simulatedOperator, hardware: hardware(index), policy: AgentPolicy(), region: "loadgen", agentVersion: "loadgen"
                    )
                    let sent = ContinuousClock.now
                    _ = try await client.registerNode(registration, by: key)
                    registrations.add(sent)
                }
            }
            try await group.waitForAll()
        }
        let registrationS = (ContinuousClock.now - registrationStarted).totalSeconds
        Self.report("registration: \(nodes) nodes in \(Self.format(registrationS)) s (\(Self.format(Double(nodes) / registrationS)) /s); \(registrations.summary); coordinator CPU \(Self.format((coordinator.cpuSeconds() - registrationCPU) / registrationS)) cores")
        // The steady phase measures a network whose working agents are proven and idle, not their start.
        let waitStarted = ContinuousClock.now
        while true {
            let proven = Set(try await client.nodes().filter { $0.proof.status == .proven }.map(\.id))
            if workerKeys.allSatisfy({ proven.contains($0.address) }) { break }
            guard ContinuousClock.now - waitStarted < .seconds(180) else {
                throw ValidationError("the working agents were not proven within 180 s; their logs are in \(folder)")
            }
            try await Task.sleep(for: .seconds(2))
        }

        // Steady load, open loop: each request is sent at its scheduled time whether or not earlier ones were answered,
        // and its latency counts from that time, so a coordinator falling behind shows in the figures.
        let heartbeats = Samples(), submissions = Samples()
        let failures = Failures()
        let spec = JobSpec(
            name: "loadgen", command: "true", taskCount: 1, resources: .init(gpuMilli: 0, cpuCores: 1, memoryMiB: 64),
            maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 60
        )
        let submitted = SubmittedJobs()
        let cpuBefore = coordinator.cpuSeconds()
        let ownCPUBefore = ChildProcess.cpuSeconds(of: getpid())
        let agentsCPUBefore = agents.map { $0.cpuSeconds() }.reduce(0, +)
        let started = ContinuousClock.now
        let end = started + .milliseconds(Int(duration * 1000))
        let heartbeatPeriod = heartbeat / Double(nodes), jobPeriod = jobsPerS > 0 ? 1 / jobsPerS : .infinity
        var nextHeartbeat = 0, nextJob = 0
        await withTaskGroup(of: Void.self) { group in
            while ContinuousClock.now < end {
                let elapsed = (ContinuousClock.now - started).totalSeconds
                while Double(nextHeartbeat) * heartbeatPeriod <= elapsed {
                    let key = keys[nextHeartbeat % nodes]
                    let scheduled = started + .milliseconds(Int(Double(nextHeartbeat) * heartbeatPeriod * 1000))
                    nextHeartbeat += 1
                    group.addTask {
                        do {
                            _ = try await client.heartbeat(runIds: [], by: key)
                            heartbeats.add(scheduled)
                        } catch {
                            failures.add(error)
                        }
                    }
                }
                while Double(nextJob) * jobPeriod <= elapsed {
                    let scheduled = started + .milliseconds(Int(Double(nextJob) * jobPeriod * 1000))
                    nextJob += 1
                    group.addTask {
                        do {
                            let job = try await client.submitJob(spec, by: requester)
                            submissions.add(scheduled)
                            submitted.add(job.id)
                        } catch {
                            failures.add(error)
                        }
                    }
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
            await group.waitForAll()
        }
        let steadyS = (ContinuousClock.now - started).totalSeconds
        let cores = (coordinator.cpuSeconds() - cpuBefore) / steadyS
        let ownCores = (ChildProcess.cpuSeconds(of: getpid()) - ownCPUBefore) / steadyS
        let agentsCores = (agents.map { $0.cpuSeconds() }.reduce(0, +) - agentsCPUBefore) / steadyS
        let memory = coordinator.memoryMiB()
        let answered = heartbeats.count + submissions.count
        Self.report("steady: \(answered) requests answered in \(Self.format(steadyS)) s = \(Self.format(Double(answered) / steadyS)) /s sustained (\(failures.count) failed\(failures.first.map { ", first: \($0)" } ?? ""))")
        Self.report("  heartbeats: \(heartbeats.summary)")
        Self.report("  job submissions: \(submissions.summary)")
        var settled = 0
        for id in submitted.all where (try? await client.job(id).state) == "settled" { settled += 1 }
        Self.report("  jobs settled by the end: \(settled) of \(submissions.count)")
        for agent in agents { await agent.stop() }
        Self.report("CPU of \(ProcessInfo.processInfo.activeProcessorCount) cores here: load generator \(Self.format(ownCores)), working agents \(Self.format(agentsCores))")
        Self.report("coordinator: CPU \(Self.format(cores)) cores, memory \(Self.format(memory.resident)) MiB resident, \(Self.format(memory.peak)) MiB at peak")

        // What signature checks cost: one Ed25519 verification per signed request, timed here on this machine.
        let envelopes = (0..<2_000).map { _ in try! SignedEnvelope.sign(Heartbeat(runIds: []), kind: .heartbeat, by: keys[0]) }
        let verifyStarted = ContinuousClock.now
        for envelope in envelopes { try envelope.verifySignature() }
        let verifyUs = (ContinuousClock.now - verifyStarted).totalSeconds * 1e6 / Double(envelopes.count)
        let verifyCores = Double(answered) / steadyS * verifyUs / 1e6
        Self.report("signatures: \(Self.format(verifyUs)) µs per Ed25519 verification → \(Self.format(verifyCores)) cores at this rate, \(Self.format(100 * verifyCores / max(cores, 0.001)))% of the coordinator's CPU")
    }

    /// A line of figures, out at once: the registration of many nodes takes minutes, and the output may be a file.
    static func report(_ line: String) {
        print(line)
        fflush(nil)
    }

    static func format(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
    }
}

/// Latencies of answered requests, from when each was due.
final class Samples: Sendable {
    private let latenciesMs = Mutex<[Double]>([])

    func add(_ scheduled: ContinuousClock.Instant) {
        let ms = (ContinuousClock.now - scheduled).totalSeconds * 1000
        latenciesMs.withLock { $0.append(ms) }
    }

    var count: Int { latenciesMs.withLock { $0.count } }

    var summary: String {
        let sorted = latenciesMs.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { return "none answered" }
        func percentile(_ p: Double) -> String { LoadgenCommand.format(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) }
        return "\(sorted.count) answered, latency ms p50 \(percentile(0.5)), p90 \(percentile(0.9)), p99 \(percentile(0.99)), max \(LoadgenCommand.format(sorted.last!))"
    }
}

/// Requests that failed, counted, with the first error kept to show.
final class Failures: Sendable {
    private let state = Mutex<(count: Int, first: String?)>((0, nil))

    func add(_ error: any Error) {
        state.withLock { state in
            state.count += 1
            if state.first == nil { state.first = "\(error)" }
        }
    }

    var count: Int { state.withLock { $0.count } }
    var first: String? { state.withLock { $0.first } }
}

/// The ids of jobs the load generator submitted.
final class SubmittedJobs: Sendable {
    private let ids = Mutex<[String]>([])

    func add(_ id: String) { ids.withLock { $0.append(id) } }
    var all: [String] { ids.withLock { $0 } }
}
