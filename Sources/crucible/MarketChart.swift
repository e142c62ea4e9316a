import CrucibleSim

/// The `sim market` figure: utilization and queued jobs over time, one line per scheduler.
enum MarketChart {
    static let colors: [MarketSimulation.Scheduler: String] = [.crucible: "#d9480f", .firstFitFIFO: "#1c7ed6"]

    static func svg(_ outcomes: [MarketSimulation.Outcome], gpus: Int) -> String {
        func series(_ value: (MarketSimulation.Bucket) -> Double) -> [LineChart.Series] {
            outcomes.map { outcome in
                LineChart.Series(
                    name: outcome.scheduler == .crucible ? "Crucible engine" : "first-fit FIFO", color: colors[outcome.scheduler] ?? "#555",
                    points: outcome.buckets.map { (x: $0.endS / 3600, y: value($0)) }
                )
            }
        }
        return LineChart.document([
            LineChart(title: "GPU utilization, \(gpus) GPUs", xLabel: "hours of arrivals", yLabel: "busy GPUs, %", series: series { $0.utilization * 100 }, yMinimumTop: 100),
            LineChart(title: "Jobs waiting", xLabel: "hours of arrivals", yLabel: "queued jobs", series: series { Double($0.queuedAtEnd) }),
            LineChart(title: "Mean price of jobs started", xLabel: "hours of arrivals", yLabel: "CRU per GPU-hour", series: series { $0.meanPrice ?? 0 }),
        ])
    }
}
