import CrucibleCore
import Foundation
import Prometheus

/// An agent's figures for Prometheus: what it did (offers, runs, challenges), counted as it happens, and what it
/// holds and its GPUs read at each scrape.
public final class AgentMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    static let runBuckets: [Duration] = [1, 10, 60, 300, 900, 3_600, 4 * 3_600, 24 * 3_600].map { .seconds($0) }

    public init() {}

    // What each counted family is called and means.
    static var offers: MetricNameDescriptor {
        .init(metricName: "crucible_agent_offers", unitName: "total", helpText: "Offers this agent answered, by its policy's decision.")
    }
    static var runs: MetricNameDescriptor {
        .init(metricName: "crucible_agent_runs", unitName: "total", helpText: "Runs this agent finished, by how its process ended (exit status 0 or not).")
    }
    static var runDurations: MetricNameDescriptor {
        .init(metricName: "crucible_agent_run_duration", unitName: "seconds", helpText: "How long each finished run took.")
    }
    static var challenges: MetricNameDescriptor {
        .init(metricName: "crucible_agent_challenges", unitName: "total", helpText: "Proof-of-GPU challenges this agent answered, by outcome.")
    }

    func offerAnswered(accepted: Bool) {
        registry.makeCounter(descriptor: Self.offers, labels: [("decision", accepted ? "accepted" : "declined")]).increment()
    }

    func runFinished(exitCode: Int32, durationMs: Int64) {
        registry.makeCounter(descriptor: Self.runs, labels: [("outcome", exitCode == 0 ? "succeeded" : "failed")]).increment()
        registry.makeDurationHistogram(descriptor: Self.runDurations, labels: [], buckets: Self.runBuckets).record(.milliseconds(durationMs))
    }

    /// `state`: the coordinator's verdict (passed, failed, …), or given_up / unanswered when none came.
    func challengeAnswered(state: String) {
        registry.makeCounter(descriptor: Self.challenges, labels: [("outcome", state)]).increment()
    }

    /// What one scrape reads from the agent and its machine.
    public struct Snapshot: Sendable {
        public var runsActive: Int
        public var runSlots: Int
        public var gpus: [NvidiaSMI.Sample]

        public init(runsActive: Int, runSlots: Int, gpus: [NvidiaSMI.Sample]) {
            self.runsActive = runsActive
            self.runSlots = runSlots
            self.gpus = gpus
        }
    }

    public func exposition(_ snapshot: Snapshot) -> String {
        let scrape = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ help: String, _ value: Double?, _ labels: [(String, String)] = []) {
            guard let value else { return }
            scrape.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels).set(value)
        }
        gauge("crucible_agent_runs_active", "Runs executing on this node now.", Double(snapshot.runsActive))
        gauge("crucible_agent_run_slots", "Runs this node's policy lets it execute at once.", Double(snapshot.runSlots))
        for gpu in snapshot.gpus {
            let labels = [("gpu", String(gpu.index)), ("uuid", gpu.uuid)]
            gauge("crucible_agent_gpu_utilization_ratio", "GPU busy time over the driver's last sample period (nvidia-smi).", gpu.utilization, labels)
            gauge("crucible_agent_gpu_temperature_celsius", "GPU temperature (nvidia-smi).", gpu.temperatureCelsius, labels)
            gauge("crucible_agent_gpu_power_watts", "GPU power draw (nvidia-smi).", gpu.powerWatts, labels)
            gauge("crucible_agent_gpu_memory_used_bytes", "GPU memory in use (nvidia-smi).", gpu.memoryUsedBytes, labels)
        }
        let memory = ProcessUsage.memoryBytes()
        scrape.makeCounter(descriptor: .init(metricName: "process_cpu_seconds", unitName: "total", helpText: "User and system CPU time of this process."), labels: [])
            .increment(by: ProcessUsage.cpuSeconds())
        gauge("process_resident_memory_bytes", "Resident memory of this process.", memory.resident)
        return scrape.emitToString() + registry.emitToString()
    }
}
