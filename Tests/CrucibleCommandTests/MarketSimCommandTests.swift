import CrucibleTestSupport
import Foundation
import Testing

/// `crucible sim market` as a person runs it: the table, the CSV and the chart it writes.
@Suite(.heavyProcesses) struct MarketSimCommandTests {
    static let philly = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/data/traces/philly/philly.csv").standardized.path

    @Test func writesTheSeriesAndTheChart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sim-market-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let csv = directory.appendingPathComponent("series.csv").path, svg = directory.appendingPathComponent("chart.svg").path
        let run = try await DevnetCommandTests().crucible([
            "sim", "market", "--trace", Self.philly, "--gpus", "400", "--days", "1", "--buckets", "6", "--csv", csv, "--svg", svg,
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("crucible") && run.output.contains("first-fit-fifo") && run.output.contains("DELAY P99"))
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(rows.first == "scheduler,start_h,end_h,utilization,idle_gpus,queued_jobs,started_jobs,mean_price_cru_per_gpu_hour")
        #expect(rows.count == 1 + 2 * 6)
        let chart = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(chart.hasPrefix("<svg") && chart.hasSuffix("</svg>\n"))
        // Three panels, a line per scheduler in each.
        #expect(chart.components(separatedBy: "<polyline").count - 1 == 6)
    }

    @Test func badArgumentsAreRefusedClearly() async throws {
        let load = try await DevnetCommandTests().crucible(["sim", "market", "--load", "0"])
        #expect(load.status != 0 && load.output.contains("--load must be above 0"))
        let trace = try await DevnetCommandTests().crucible(["sim", "market", "--trace", "/nonexistent/philly.csv"])
        #expect(trace.status != 0 && trace.output.contains("cannot read /nonexistent/philly.csv"))
    }
}
