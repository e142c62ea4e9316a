import CrucibleCore
import CrucibleLedger
import Foundation
import Prometheus

/// This coordinator's figures for Prometheus: the requests it served, counted as they are answered, and the
/// network's figures and its own process, read at each scrape.
public final class CoordinatorMetrics: Sendable {
    /// Long-lived: request counts and durations accumulate here.
    private let requests = PrometheusCollectorRegistry()
    static let durationBuckets: [Duration] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 10_000, 30_000].map { .milliseconds($0) }

    public init() {}

    /// One answered request: `route` is the API's path template (never the raw path, which would make a series per
    /// job id), or `unmatched`.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        requests.makeCounter(descriptor: Self.requestCount, labels: [("route", route), ("method", method), ("status", String(status))]).increment()
        requests.makeDurationHistogram(descriptor: Self.requestDurations, labels: [("route", route), ("method", method)], buckets: Self.durationBuckets)
            .record(duration)
    }

    static var requestCount: MetricNameDescriptor {
        .init(metricName: "crucible_http_requests", unitName: "total", helpText: "HTTP requests answered by this coordinator, by route template, method and status.")
    }
    static var requestDurations: MetricNameDescriptor {
        .init(
            metricName: "crucible_http_request_duration", unitName: "seconds",
            helpText: "Time from a request's head to its answer, by route template and method (long-polls included)."
        )
    }

    /// The whole exposition: network figures, this coordinator's log and leadership, its process, its requests.
    func exposition(_ snapshot: Snapshot) -> String {
        let scrape = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ help: String, _ value: Double, _ labels: [(String, String)] = []) {
            scrape.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels).set(value)
        }
        // Counters whose running total the log holds: set once per scrape from that total.
        func counter(_ name: String, _ help: String, _ value: Double, _ labels: [(String, String)] = []) {
            scrape.makeCounter(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels).increment(by: value)
        }
        func cru(_ micro: Int64) -> Double { Double(micro) / Double(Amount.microPerCRU) }

        let figures = snapshot.figures
        for (state, count) in [("registered", figures.nodesRegistered), ("online", figures.nodesOnline), ("proven", figures.nodesProven)] {
            gauge("crucible_nodes", "Nodes by state: registered, online (seen within the online window), proven (passed their last challenge).", Double(count), [("state", state)])
        }
        for (model, gpus) in figures.gpusByModel.sorted(by: { $0.key < $1.key }) {
            for (state, count) in [("registered", gpus.registered), ("online", gpus.online), ("proven", gpus.proven), ("busy", gpus.busy)] {
                gauge("crucible_gpus", "GPUs by catalog model and state; busy means held by a running run.", Double(count), [("model", model), ("state", state)])
            }
        }
        gauge("crucible_gpu_utilization_ratio", "Busy over online GPUs now.", figures.utilization)
        gauge("crucible_proven_tops", "INT8 TOPS proven by challenge across proven nodes.", figures.provenTops)
        counter("crucible_challenges_total", "Proof-of-GPU challenges judged, by result.", Double(figures.challengesPassed), [("result", "passed")])
        counter("crucible_challenges_total", "Proof-of-GPU challenges judged, by result.", Double(figures.challengesFailed), [("result", "failed")])
        for state in JobRecord.State.allCases {
            gauge("crucible_jobs", "Jobs by state.", Double(figures.jobsByState[state, default: 0]), [("state", state.rawValue)])
        }
        counter("crucible_jobs_submitted_total", "Jobs accepted since genesis.", Double(figures.jobsTotal))
        gauge("crucible_runs_running", "Runs executing on nodes now.", Double(figures.runsRunning))

        let ledger = snapshot.ledger
        gauge("crucible_token_supply_cru", "CRU in existence: genesis plus minted minus burned.", cru(ledger.supplyMicro))
        counter("crucible_token_minted_cru_total", "CRU minted by epoch emissions since genesis.", cru(ledger.mintedMicro))
        counter("crucible_token_burned_cru_total", "CRU burned (protocol fees, slashes) since genesis.", cru(ledger.burnedMicro))
        gauge("crucible_token_escrowed_cru", "CRU held in job escrow.", cru(ledger.totalEscrowMicro))
        gauge("crucible_token_staked_cru", "CRU bonded as operator stake.", cru(ledger.totalStakeMicro))
        gauge("crucible_token_unbonding_cru", "CRU leaving stake, waiting out the unbonding period.", cru(ledger.totalUnbondingMicro))
        gauge("crucible_token_treasury_cru", "CRU in the treasury.", cru(ledger.treasuryMicro))
        gauge("crucible_epoch", "The open emission epoch.", Double(snapshot.epoch))
        gauge("crucible_fee_bps", "The protocol fee in force, in basis points.", Double(snapshot.feeBps))

        gauge("crucible_log_head", "Sequence number of this coordinator's last log entry.", Double(snapshot.logHead))
        gauge("crucible_coordinator_leader", "1 when this coordinator leads (matches, challenges, settles), else 0.", snapshot.isLeader ? 1 : 0)
        let memory = ProcessUsage.memoryBytes()
        counter("process_cpu_seconds_total", "User and system CPU time of this process.", ProcessUsage.cpuSeconds())
        gauge("process_resident_memory_bytes", "Resident memory of this process.", memory.resident)
        return scrape.emitToString() + requests.emitToString()
    }

    /// What one scrape reads from the coordinator.
    struct Snapshot {
        var figures: NetworkFigures
        var ledger: LedgerState
        var epoch: Int
        var feeBps: Int64
        var logHead: Int64
        var isLeader: Bool
    }
}
