import CrucibleAPI
import CrucibleAgent
import CrucibleClient
@testable import CrucibleCoordinator
import CrucibleCore
import CrucibleStore
import CrucibleTestSupport
import Foundation
import Testing

/// The explorer's pages, read over HTTP and in a real browser (headless Chromium): what a person would see agrees with
/// the JSON the page is drawn from.
@Suite(.heavyProcesses) struct ExplorerTests {
    @Test func pagesShowTheNetworkAsItsJSONSaysAndRenderInABrowser() async throws {
        let network = try await TestNetwork.start(presenceSampleMs: 500)
        let agent = network.agent(operatorKey: network.operatorA)
        let nodeId = await agent.nodeId
        // A node claiming two H100s, never proven: supply by model counts them as registered, not proven.
        let claimer = try await network.registerBareNode(hardware: TestNetwork.claimedH100s(2, tag: "explorer"), by: network.operatorB, region: "eu-test")
        let job = try await withAgents([agent]) {
            try await waitUntil("the node is proven") { try await network.client.nodes().first { $0.id == nodeId }?.proof.status == .proven }
            return try await network.settled(try await network.client.submitJob(TestNetwork.shellSpec("explorer <demo>", script: "sleep 0.2"), by: network.requester).id)
        }

        // The JSON behind the overview.
        let json = try await network.fetch("/v1/explorer/overview")
        #expect(json.status == 200)
        let overview = try JSONDecoder().decode(Components.Schemas.ExplorerOverview.self, from: Data(json.body.utf8))
        let h100s = try #require(overview.gpuModels.first { $0.model == "H100-SXM" })
        #expect(h100s.registered == 2 && h100s.proven == 0 && h100s.name == "H100 SXM 80GB" && h100s.pricedRuns == 0)
        #expect(overview.cloudPrices.count == CloudReferencePrice.table.count && overview.workByHour.count == 24)
        #expect(overview.workByHour.reduce(0) { $0 + $1.cpuCoreHours } > 0 && overview.workByHour.allSatisfy { $0.gpuHours == 0 })
        #expect(overview.network.jobsSettled == 1 && overview.network.nodesRegistered == 2)
        // Utilization over time: the leader sampled the agent's cores online while it ran (this test network samples
        // every 500 ms); the claimer's two GPUs were online only for the window after it registered, and never busy.
        let thisHour = try #require(overview.useByHour.last)
        #expect(overview.useByHour.count == 24 && thisHour.samples > 0 && thisHour.coresOnlineMean > 0)
        #expect(thisHour.gpusOnlineMean <= 2 && thisHour.gpusBusyMean == 0 && thisHour.coresBusyMean <= thisHour.coresOnlineMean)
        // Verification: the one task verified on its own result (nothing re-ran it), nobody caught forging.
        #expect(overview.verification.tasksVerified == 1 && overview.verification.tasksFailed == 0 && overview.verification.spoofersCaught == 0)
        #expect(overview.verification.primaryUnitHours > 0 && overview.verification.checkUnitHours == 0 && overview.verification.overhead == 0)

        // The pages, as served.
        let page = try await network.fetch("/explorer")
        #expect(page.status == 200 && page.contentType == "text/html; charset=utf-8")
        #expect(page.body.contains("<td>H100 SXM 80GB</td><td class=\"num\">2</td><td class=\"num\">0</td>"))
        #expect(page.body.contains("<svg viewBox") && page.body.contains("/v1/explorer/overview") && page.body.contains("Share of online GPUs and CPU cores busy"))
        #expect(!page.body.contains("<script") && !page.body.contains("src=\"http"), "the explorer loads nothing from elsewhere")
        let jobs = try await network.fetch("/explorer/jobs")
        // A job's name is the requester's text: shown escaped, never as markup.
        #expect(jobs.body.contains(job.id) && jobs.body.contains("explorer &lt;demo&gt;") && !jobs.body.contains("explorer <demo>"))
        let nodes = try await network.fetch("/explorer/nodes")
        #expect(nodes.body.contains(Address.short(nodeId)) && nodes.body.contains(Address.short(claimer.address)) && nodes.body.contains("eu-test"))
        #expect(nodes.body.contains("2 registered") && nodes.body.contains("1 proven by challenge"))

        // Detail pages: the job's runs and its settlement, the node's proof beside its catalog peak; a missing one is a 404.
        let jobPage = try await network.fetch("/explorer/jobs/\(job.id)")
        #expect(jobPage.status == 200 && jobPage.body.contains("Paid + burned + refunded = the escrow locked, to the µCRU."))
        #expect(jobPage.body.contains("/explorer/nodes/\(nodeId)") && jobPage.body.contains(job.tasks[0].runs[0].id))
        #expect(jobPage.body.contains(Amount.format(job.paidMicro)) && jobPage.body.contains("/v1/jobs/\(job.id)"))
        let nodePage = try await network.fetch("/explorer/nodes/\(nodeId)")
        let proof = try await network.client.node(nodeId).proof
        #expect(nodePage.status == 200 && nodePage.body.contains(String(format: "%.4g", proof.provenTops)) && nodePage.body.contains("proven"))
        #expect(try #require(proof.catalogTops) > proof.provenTops && nodePage.body.contains(String(format: "%.4g", proof.catalogTops ?? 0)))
        let claimerPage = try await network.fetch("/explorer/nodes/\(claimer.address)")
        let claimerStatus = try await network.client.node(claimer.address).proof.status
        #expect(claimerStatus != .proven && claimerPage.body.contains(">\(claimerStatus.rawValue)</span>"))
        #expect(claimerPage.body.contains(String(format: "%.4g", 2 * 1979.0)), "two H100s' catalog peak")
        #expect(try await network.fetch("/explorer/governance").body.contains("No proposal has been made yet."))
        // The node list pages from the earliest registered: the claimer registered before the agent.
        #expect(try await network.client.nodes(limit: 1).map(\.id) == [claimer.address])
        #expect(try await network.client.nodes(limit: 5).map(\.id) == [claimer.address, nodeId])
        await #expect(throws: CrucibleError.self) { _ = try await network.client.nodes(limit: 0) }
        // The next page starts after a node; after the last, none; after one that never registered, a clear refusal.
        #expect(try await network.client.nodes(limit: 5, after: claimer.address).map(\.id) == [nodeId])
        #expect(try await network.client.nodes(after: nodeId).isEmpty)
        await #expect(throws: CrucibleError.self) { _ = try await network.client.nodes(after: String(repeating: "0", count: 64)) }
        let secondPage = try await network.fetch("/explorer/nodes?after=\(claimer.address)")
        #expect(secondPage.status == 200 && secondPage.body.contains(Address.short(nodeId)) && !secondPage.body.contains("/explorer/nodes/\(claimer.address)"))
        #expect(secondPage.body.contains("First page") && !secondPage.body.contains("Next page"))
        #expect(try await network.fetch("/explorer/nodes?after=nobody").status == 400)
        #expect(try await network.fetch("/explorer/nodes?after=\(String(repeating: "0", count: 64))").status == 404)
        let missingJob = try await network.fetch("/explorer/jobs/job-nothing")
        #expect(missingJob.status == 404 && missingJob.body.contains("No job job-nothing"))

        // A real browser: the rendered document holds what a person reads, and a phone-sized screenshot is drawn.
        let dom = try await Chromium.run(["--dump-dom", network.url.absoluteString + "/explorer"])
        #expect(dom.contains("GPU supply, use and prices") && dom.contains("H100 SXM 80GB") && dom.contains("CRU minted"), "\(dom.prefix(2_000))")
        #expect(dom.contains("AWS") && dom.contains("$12.29") && dom.contains("2023-07-27"))
        #expect(dom.contains("No reference rate of CRU in dollars is agreed"), "the genesis set none")
        let jobsDOM = try await Chromium.run(["--dump-dom", network.url.absoluteString + "/explorer/jobs"])
        #expect(jobsDOM.contains(job.id) && jobsDOM.contains("settled"))
        let screenshot = network.directory.appendingPathComponent("explorer-phone.png")
        _ = try await Chromium.run(["--window-size=390,1600", "--screenshot=\(screenshot.path)", network.url.absoluteString + "/explorer"])
        let png = try Data(contentsOf: screenshot)
        #expect(png.count > 10_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        if let artifacts = ProcessInfo.processInfo.environment["CRUCIBLE_TEST_ARTIFACTS"] {
            try? FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            try? png.write(to: URL(fileURLWithPath: artifacts).appendingPathComponent("explorer-phone.png"))
            let jobShot = URL(fileURLWithPath: artifacts).appendingPathComponent("explorer-job.png").path
            _ = try await Chromium.run(["--window-size=1280,900", "--screenshot=\(jobShot)", network.url.absoluteString + "/explorer/jobs/\(job.id)"])
        }
        await network.stop()
    }
}

/// The network's GPU prices in dollars, at the governed reference rate, beside the clouds'.
@Suite(.network) struct CloudSpreadTests {
    @Test func networkPricesAreSetAgainstEachCloudRowOfTheirModel() {
        // 4 CRU per H100-hour at $0.50 per CRU is $2.00: 20% under $2.50, 60% under $5.00; 1,000 CRU would be dearer.
        let cheap = CloudReferencePrice.spreadPercent(networkUsdPerGpuHour: 4 * 0.5, low: 2.5, high: 5.0)
        #expect(abs(cheap.low - -20) < 1e-9 && abs(cheap.high - -60) < 1e-9)
        #expect(CloudReferencePrice.spreadPercent(networkUsdPerGpuHour: 500, low: 12.29, high: 12.29).low > 0)
    }

    @Test func theOverviewSetsEachModelsMeanPriceBesideItsCloudRows() async throws {
        // A network whose H100 runs averaged 5 CRU per GPU-hour, read at $0.50 per CRU: $2.50.
        let network = try await TestNetwork.start()
        var view = try JSONDecoder().decode(Components.Schemas.ExplorerOverview.self, from: Data(try await network.fetch("/v1/explorer/overview").body.utf8))
        await network.stop()
        view.gpuModels = [.init(
            model: "H100-SXM", name: "H100 SXM 80GB", registered: 8, online: 8, proven: 8, busy: 4, pricedRuns: 3,
            priceMeanMicroPerGpuHour: 5 * Amount.microPerCRU, priceMinMicroPerGpuHour: 4 * Amount.microPerCRU, priceMaxMicroPerGpuHour: 6 * Amount.microPerCRU
        )]
        view.referenceMicroUsdPerCru = 500_000
        view.referenceSetBy = "proposal-4"
        let (rows, note) = ExplorerPages.cloudRows(view)
        let aws = try #require(rows.first { $0.price == "$12.29" })
        #expect(aws.network == "$2.50" && aws.spread == "-80%")
        let tier2 = try #require(rows.first { $0.price == "$2.49–2.85" })
        #expect(tier2.spread == "+0% to -12%")
        #expect(rows.filter { $0.model != "H100 SXM 80GB" }.allSatisfy { $0.network == "—" && $0.spread == "—" }, "no H200 or A100 ran")
        #expect(note.contains("1 CRU = $0.5 (set by proposal-4)."))
        view.referenceMicroUsdPerCru = 0
        #expect(ExplorerPages.cloudRows(view).rows.allSatisfy { $0.spread == "—" })
    }

    @Test func theReferenceRateIsAGovernedParameterAndRefusedOutOfRange() throws {
        let parameters = NetworkParameters()
        #expect(parameters.referenceMicroUsdPerCru == 0 && NetworkParameters.governedNames.contains("referenceMicroUsdPerCru"))
        #expect(try parameters.applying([.init(name: "referenceMicroUsdPerCru", value: 1_250_000)]).referenceMicroUsdPerCru == 1_250_000)
        #expect(throws: CrucibleError.self) { _ = try parameters.applying([.init(name: "referenceMicroUsdPerCru", value: -1)]) }
    }
}

/// Utilization over time is the mean of the presence samples in each hour.
@Suite struct HoursOfUseTests {
    @Test func eachHourIsTheMeanOfItsSamples() {
        let hour: Int64 = 3_600_000, now = 100 * hour + 1_000
        let samples = [
            PresenceSample(atMs: 97 * hour + 5, gpusOnline: 9, gpusBusy: 9, coresOnline: 9, coresBusy: 9),  // before the window
            PresenceSample(atMs: 98 * hour, gpusOnline: 4, gpusBusy: 1, coresOnline: 8, coresBusy: 0),
            PresenceSample(atMs: 98 * hour + 60_000, gpusOnline: 4, gpusBusy: 3, coresOnline: 8, coresBusy: 4),
            PresenceSample(atMs: 100 * hour + 500, gpusOnline: 0, gpusBusy: 0, coresOnline: 2, coresBusy: 1),
            PresenceSample(atMs: now + 1, gpusOnline: 7, gpusBusy: 7, coresOnline: 7, coresBusy: 7),  // after now
        ]
        let hours = NetworkFigures.hoursOfUse(samples, hours: 3, endingAtMs: now)
        #expect(hours.map(\.hourStartMs) == [98 * hour, 99 * hour, 100 * hour] && hours.map(\.samples) == [2, 0, 1])
        #expect(hours[0].gpusOnlineMean == 4 && hours[0].gpusBusyMean == 2 && hours[0].gpuUtilization == 0.5 && hours[0].coreUtilization == 0.25)
        #expect(hours[1].gpuUtilization == nil && hours[2].gpuUtilization == nil && hours[2].coreUtilization == 0.5)
    }
}

/// Headless Chromium from Debian's package (`.ci/run` installs it).
enum Chromium {
    static func run(_ arguments: [String]) async throws -> String {
        let executable = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "Chromium is not installed (Debian's chromium package; .ci/run installs it)"
        )
        return try await onOwnThread {
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-chromium-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            // Output to a file, not a pipe: a helper process Chromium leaves behind for a moment must not hold the read open.
            let outputPath = scratch.appendingPathComponent("stdout").path
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            // --no-sandbox: the suite runs as root, where Chromium's sandbox refuses to start; --disable-dev-shm-usage:
            // a container's /dev/shm may be too small for it.
            process.arguments = [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=\(scratch.path)/profile",
            ] + arguments
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try output.close()
            guard process.terminationStatus == 0 else { throw CrucibleError(.unavailable, "chromium exited with \(process.terminationStatus)") }
            return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        }
    }
}
