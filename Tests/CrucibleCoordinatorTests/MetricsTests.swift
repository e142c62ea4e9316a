import CrucibleAPI
import CrucibleAgent
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleTestSupport
import Foundation
import Testing

/// `/metrics`: the network's figures as Prometheus reads them, agreeing with `/v1/network`, valid for promtool.
@Suite(.network) struct MetricsTests {
    /// The exposition, parsed: each series (`name{labels}` as written) to its value.
    struct Exposition {
        let text: String
        let series: [String: Double]

        init(_ text: String) {
            self.text = text
            var series = [String: Double]()
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                series[String(line[..<space])] = value
            }
            self.series = series
        }

        subscript(_ name: String) -> Double? { series[name] }
    }

    func scrape(_ network: TestNetwork) async throws -> Exposition {
        let response = try await network.fetch("/metrics")
        #expect(response.status == 200 && response.contentType?.hasPrefix("text/plain") == true)
        return Exposition(response.body)
    }

    @Test func theNetworksFiguresAgreeWithItsSummaryAndPassPromtool() async throws {
        let network = try await TestNetwork.start()
        let agent = network.agent(operatorKey: network.operatorA)
        let nodeId = await agent.nodeId
        // The job's one run lasts a second, so that its fee (5% of the pay at 1 CRU/h) is some µCRU to burn: a run of a
        // few milliseconds pays a fee that rounds to nothing.
        // A node claiming two H100s it does not have: registered, never proven.
        _ = try await network.registerBareNode(hardware: TestNetwork.claimedH100s(2, tag: "metrics"), by: network.operatorB)
        try await withAgents([agent]) {
            try await waitUntil("the node is proven") { try await network.client.nodes().first { $0.id == nodeId }?.proof.status == .proven }
            _ = try await network.settled(try await network.client.submitJob(TestNetwork.shellSpec("metrics", script: "sleep 1"), by: network.requester).id)
        }
        // An unknown path, counted as unmatched.
        _ = try await network.fetch("/v1/no-such-thing")

        let summary = try await network.client.network()
        let metrics = try await scrape(network)
        #expect(metrics[#"crucible_nodes{state="registered"}"#] == Double(summary.nodesRegistered) && summary.nodesRegistered == 2)
        #expect(metrics[#"crucible_nodes{state="proven"}"#] == 1)
        #expect(metrics[#"crucible_gpus{model="H100-SXM",state="registered"}"#] == 2)
        #expect(metrics[#"crucible_gpus{model="H100-SXM",state="proven"}"#] == 0)
        #expect(metrics[#"crucible_challenges_total{result="passed"}"#] == Double(summary.challengesPassed) && summary.challengesPassed >= 1)
        #expect(metrics[#"crucible_jobs{state="settled"}"#] == 1 && metrics["crucible_jobs_submitted_total"] == 1)
        #expect(metrics["crucible_token_supply_cru"] == Double(summary.supplyMicro) / 1e6)
        #expect(metrics["crucible_token_burned_cru_total"] == Double(summary.burnedMicro) / 1e6 && summary.burnedMicro > 0)
        #expect(metrics["crucible_fee_bps"] == Double(summary.feeBps) && metrics["crucible_coordinator_leader"] == 1)
        #expect((metrics["crucible_log_head"] ?? 0) >= Double(summary.logHead))
        #expect((metrics["process_resident_memory_bytes"] ?? 0) > 1_000_000)
        // Requests by the route's template (one series for every job id), refusals and unknown paths included.
        #expect((metrics[#"crucible_http_requests_total{route="/v1/network",method="GET",status="200"}"#] ?? 0) >= 1)
        #expect(metrics.series.keys.contains { $0.hasPrefix("crucible_http_requests_total{route=\"/v1/jobs/") && $0.contains("method=\"GET\"") })
        #expect(!metrics.series.keys.contains { $0.contains("route=\"/v1/jobs/job-") })
        #expect(metrics[#"crucible_http_requests_total{route="unmatched",method="GET",status="404"}"#] == 1)
        #expect(metrics.series.keys.contains { $0.hasPrefix("crucible_http_request_duration_seconds_bucket{") })

        // Prometheus's own checker reads it as valid exposition, its lint included.
        let check = try await runPromtool(metrics.text)
        #expect(check.status == 0, "promtool: \(check.output)")

        // The agent's own: what it did, counted as it happened.
        let agentMetrics = Exposition(await agent.metricsExposition())
        #expect(agentMetrics[#"crucible_agent_runs_total{outcome="succeeded"}"#] == 1)
        #expect(agentMetrics[#"crucible_agent_offers_total{decision="accepted"}"#] == 1)
        #expect(agentMetrics[#"crucible_agent_challenges_total{outcome="passed"}"#] == 1)
        #expect(agentMetrics["crucible_agent_runs_active"] == 0 && agentMetrics["crucible_agent_run_duration_seconds_count"] == 1)
        let agentCheck = try await runPromtool(agentMetrics.text)
        #expect(agentCheck.status == 0, "promtool: \(agentCheck.output)")
        // With a GPU (this machine may have none): its readings, checked by promtool too.
        let withGPU = agent.metrics.exposition(.init(runsActive: 0, runSlots: 2, gpus: [
            .init(index: 0, uuid: "GPU-1", utilization: 0.5, temperatureCelsius: 60, powerWatts: 300, memoryUsedBytes: 1_073_741_824),
        ]))
        #expect(Exposition(withGPU)[#"crucible_agent_gpu_power_watts{gpu="0",uuid="GPU-1"}"#] == 300)
        #expect(try await runPromtool(withGPU).status == 0)

        // Every series the Grafana dashboard in deploy/ queries is one the coordinator or an agent exports.
        let exported = Set((metrics.text + agentMetrics.text + withGPU).split(separator: "\n").compactMap { line -> String? in
            line.hasPrefix("# TYPE ") ? line.split(separator: " ").dropFirst(2).first.map(String.init) : nil
        })
        let dashboardURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/grafana/crucible-network.json")
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dashboardURL)) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(expressions.count >= panels.count && panels.count >= 10)
        let names = try Regex("(crucible|process)_[a-z_]+")
        for expression in expressions {
            for match in expression.matches(of: names) {
                var name = String(expression[match.range])
                for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) && !exported.contains(name) {
                    name = String(name.dropLast(suffix.count))
                }
                #expect(exported.contains(name), "the dashboard queries \(name), which nothing exports (in \(expression))")
            }
        }
        await network.stop()
    }

    /// `promtool check metrics`, fed the exposition on standard input.
    func runPromtool(_ text: String) async throws -> (status: Int32, output: String) {
        let promtool = try #require(
            ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "promtool is not installed (Debian's prometheus package; .ci/run installs it)"
        )
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
    }
}
