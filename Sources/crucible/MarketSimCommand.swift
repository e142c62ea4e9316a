import ArgumentParser
import CrucibleCore
import CrucibleSim
import Foundation

/// `crucible sim market`: Philly's jobs against a simulated network, Crucible's engine beside first-fit FIFO.
struct MarketSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market",
        abstract: "Replay real job arrivals against a simulated GPU network: Crucible's engine against first-fit FIFO.",
        discussion: """
        Jobs keep the trace's sizes, durations and arrival times; the trace is overlaid on itself (copies arriving within \
        a day of the original) until the GPU-hours asked per hour are --load times the network's GPUs. Requesters set a maximum price, and some a GPU memory floor or region rules; \
        jobs over 8 GPUs run as gangs of datacenter nodes within a round-trip bound. Nodes ask prices near their model's \
        reference and some take work only at night or only short jobs. Prints utilization, idle GPUs, queueing delay \
        and price for each scheduler; writes every time bucket to a CSV file and draws an SVG chart.
        """
    )

    @Option(help: "The job trace (timestamp, duration, num_gpus, …).") var trace: String = "../shared/data/traces/philly/philly.csv"
    @Option(help: "GPUs in the simulated network.") var gpus: Int = 20_000
    @Option(help: "GPU-hours asked per hour, as a share of the network's GPUs.") var load: Double = 1.0
    @Option(help: "First day of the trace replayed (its first weeks are nearly empty).") var fromDay: Double = 28
    @Option(help: "Days of the trace replayed.") var days: Double = 14
    @Option(help: "Seed of the fleet and the requesters' terms.") var seed: UInt64 = 1
    @Option(help: "Time buckets for the series.") var buckets: Int = 48
    @Option(help: "Write the series here (CSV).") var csv: String = "sim-market.csv"
    @Option(help: "Draw the series here (SVG).") var svg: String = "sim-market.svg"

    func validate() throws {
        guard (100...1_000_000).contains(gpus) else { throw ValidationError("--gpus 100…1000000") }
        guard load > 0, load <= 10 else { throw ValidationError("--load must be above 0 and at most 10") }
        guard (2...1_000).contains(buckets) else { throw ValidationError("--buckets 2…1000") }
        guard days > 0, fromDay >= 0, fromDay + days <= 120 else { throw ValidationError("--from-day ≥ 0 and --days > 0, ending by day 120") }
    }

    func run() async throws {
        let simulation = MarketSimulation(
            trace: try Traces.jobs(path: trace), configuration: .init(seed: seed, gpus: gpus, load: load, fromDay: fromDay, days: days, buckets: buckets)
        )
        let fleet = simulation.fleet
        print("sim market  \(simulation.jobCount) jobs (days \(fromDay)–\(fromDay + days) of the trace × \(simulation.copies)), \(fleet.nodes.count) nodes, \(fleet.gpuCount) GPUs, load \(load), seed \(seed)")
        let outcomes = simulation.run()
        let rows = outcomes.map { outcome in
            [
                outcome.scheduler.rawValue, percent(outcome.utilization), String(format: "%.0f", (1 - outcome.utilization) * Double(fleet.gpuCount)),
                "\(outcome.refused)", "\(outcome.started)", "\(outcome.waitingAtEnd)", duration(outcome.delayP50S), duration(outcome.delayP99S),
                String(format: "%.3f", outcome.meanPrice), String(format: "%.1f s", outcome.seconds),
            ]
        }
        print(TextTable.render(header: ["SCHEDULER", "UTILIZATION", "IDLE GPUS", "REFUSED", "STARTED", "WAITING AT END", "DELAY P50", "DELAY P99", "CRU/GPU-H", "TIME"], rows: rows))
        print("\nover time (every \(max(buckets / 12, 1)) buckets): utilization and jobs queued")
        var series = [[String]]()
        for index in stride(from: 0, to: buckets, by: max(buckets / 12, 1)) {
            series.append(["\(hours(outcomes[0].buckets[index].endS)) h"] + outcomes.flatMap { [percent($0.buckets[index].utilization), "\($0.buckets[index].queuedAtEnd)"] })
        }
        print(TextTable.render(header: ["TIME"] + outcomes.flatMap { ["\($0.scheduler.rawValue) UTIL", "QUEUED"] }, rows: series))
        try csvText(outcomes).write(toFile: csv, atomically: true, encoding: .utf8)
        try MarketChart.svg(outcomes, gpus: fleet.gpuCount).write(toFile: svg, atomically: true, encoding: .utf8)
        print("\nwrote \(csv) and \(svg)")
    }

    func csvText(_ outcomes: [MarketSimulation.Outcome]) -> String {
        var lines = ["scheduler,start_h,end_h,utilization,idle_gpus,queued_jobs,started_jobs,mean_price_cru_per_gpu_hour"]
        for outcome in outcomes {
            for bucket in outcome.buckets {
                lines.append([
                    outcome.scheduler.rawValue, String(format: "%.3f", bucket.startS / 3600), String(format: "%.3f", bucket.endS / 3600),
                    String(format: "%.4f", bucket.utilization), String(format: "%.1f", bucket.idleGPUs), "\(bucket.queuedAtEnd)", "\(bucket.started)",
                    bucket.meanPrice.map { String(format: "%.4f", $0) } ?? "",
                ].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }
    func hours(_ seconds: Double) -> String { String(format: "%.1f", seconds / 3600) }
    func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.0f s", seconds) : seconds < 7_200 ? String(format: "%.1f min", seconds / 60) : String(format: "%.1f h", seconds / 3600)
    }
}
