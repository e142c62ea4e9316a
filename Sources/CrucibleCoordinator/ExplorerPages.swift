import CrucibleAPI
import CrucibleCore
import Foundation
import Hummingbird
import Mustache

/// The explorer: server-side HTML pages (no script, no outside resources) drawn from the same answers as the JSON API
/// behind each (named in each page's footer), so that a page never says what the API does not.
struct ExplorerPages: Sendable {
    let api: CoordinatorAPI
    let library: MustacheLibrary

    init(api: CoordinatorAPI) throws {
        self.api = api
        guard let folder = Bundle.module.url(forResource: "layout", withExtension: "mustache", subdirectory: "Resources/explorer")?
            .deletingLastPathComponent()
        else {
            throw CrucibleError(.internalError, "the explorer's templates are missing from the coordinator's resources")
        }
        var templates = [String: MustacheTemplate]()
        for name in ["layout", "overview", "nodes", "node", "jobs", "job", "governance", "log", "missing"] {
            templates[name] = try MustacheTemplate(string: String(contentsOf: folder.appendingPathComponent("\(name).mustache"), encoding: .utf8))
        }
        library = MustacheLibrary(templates: templates)
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/explorer") { _, _ in try await html(overview(), template: "overview") }
        router.get("/explorer/nodes") { request, _ in
            let after = request.uri.queryParameters.get("after").flatMap { $0.isEmpty ? nil : $0 }
            if let after, !Address.isValid(after) { return try await refusal("“after” is a node id: 64 hex digits.", json: "/v1/nodes") }
            guard let page = try await nodes(after: after) else {
                return try await missing("No node \(after.map(Address.short) ?? "") has registered to list the nodes after.", json: "/v1/nodes")
            }
            return try html(page, template: "nodes")
        }
        router.get("/explorer/jobs") { _, _ in try await html(jobs(), template: "jobs") }
        router.get("/explorer/governance") { _, _ in try await html(governance(), template: "governance") }
        router.get("/explorer/log") { request, _ in
            let query = request.uri.queryParameters
            let subject = query.get("subject").flatMap { $0.isEmpty ? nil : $0 }
            if let subject, !LogSubjects.isValid(subject) {
                return try await refusal("“\(subject.prefix(64))” names nothing the log indexes: a node or signer address, job-…, a run id, challenge-N, proposal-N or epoch-N.", json: "/v1/log")
            }
            let before = query.get("before").flatMap { $0.isEmpty ? nil : $0 }
            guard before.map({ Int64($0) != nil }) ?? true else {
                return try await refusal("“before” is a log entry number.", json: "/v1/log")
            }
            return try await html(log(subject: subject, before: before.flatMap { Int64($0) }), template: "log")
        }
        router.get("/explorer/jobs/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let page = try await job(id) else { return try await missing("No job \(id) on this network.", json: "/v1/jobs/\(id)") }
            return try html(page, template: "job")
        }
        router.get("/explorer/nodes/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let page = try await node(id) else { return try await missing("No node \(id) has registered.", json: "/v1/nodes/\(id)") }
            return try html(page, template: "node")
        }
    }

    private func missing(_ message: String, json: String) async throws -> Response {
        let page = MissingPage(message: message, footer: await footer(json: json))
        var response = try html(page, template: "missing")
        response.status = .notFound
        return response
    }

    private func refusal(_ message: String, json: String) async throws -> Response {
        var response = try await missing(message, json: json)
        response.status = .badRequest
        return response
    }

    private func html(_ page: Any, template: String) throws -> Response {
        guard let text = library.render(page, withTemplate: template) else {
            throw CrucibleError(.internalError, "the explorer has no template \(template)")
        }
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: - Pages

    static let nodeRowsMax = 100
    static let epochRowsMax = 6

    func overview() async throws -> OverviewPage {
        let view = try await api.explorerOverviewView()
        let network = view.network
        let figures = [
            Figure(label: "GPUs registered", value: "\(network.gpusRegistered)", link: Self.logLink(subject: "kind.register_node")),
            Figure(label: "GPUs proven by challenge", value: "\(network.gpusProven)", link: "/explorer/nodes"),
            Figure(label: "GPUs online", value: "\(view.gpusOnline)", link: "/explorer/nodes"),
            Figure(label: "GPUs busy now", value: "\(view.gpusBusy)", link: "/explorer/jobs"),
            Figure(label: "GPU utilization", value: String(format: "%.0f%%", view.utilization * 100), link: "/v1/explorer/overview"),
            Figure(label: "Proven INT8 TOPS", value: String(format: "%.4g", network.provenTops), link: "/explorer/nodes"),
            Figure(label: "Nodes online / registered", value: "\(network.nodesOnline) / \(network.nodesRegistered)", link: "/explorer/nodes"),
            Figure(label: "Challenges passed / failed", value: "\(network.challengesPassed) / \(network.challengesFailed)", link: Self.logLink(subject: "kind.challenge_judged")),
            Figure(label: "Jobs settled / submitted", value: "\(network.jobsSettled) / \(network.jobsTotal)", link: "/explorer/jobs"),
            Figure(
                label: "Tasks verified / failed", value: "\(view.verification.tasksVerified) / \(view.verification.tasksFailed)",
                link: Self.logLink(subject: "kind.verdict")
            ),
            Figure(
                label: "Spoofers caught (forged proofs) · nodes failing their challenge",
                value: "\(view.verification.spoofersCaught) · \(view.verification.nodesFailingProof)", link: Self.logLink(subject: "kind.challenge_judged")
            ),
            Figure(
                label: "Verification overhead: re-run work over work checked", value: String(format: "%.1f%%", 100 * view.verification.overhead),
                link: Self.logLink(subject: "kind.sampled")
            ),
            Figure(label: "CRU supply", value: Amount.format(network.supplyMicro), link: "/v1/economy"),
            Figure(label: "CRU minted", value: Amount.format(network.mintedMicro), link: Self.logLink(subject: "kind.epoch_closed")),
            Figure(label: "CRU burned", value: Amount.format(network.burnedMicro), link: Self.logLink(subject: "kind.verdict")),
            Figure(label: "CRU staked", value: Amount.format(network.stakedMicro), link: Self.logLink(subject: "kind.stake")),
            Figure(label: "CRU in escrow", value: Amount.format(network.escrowMicro), link: Self.logLink(subject: "kind.submit_job")),
        ]
        let models = view.gpuModels.map { model in
            ModelRow(
                name: model.name, registered: model.registered, proven: model.proven, online: model.online, busy: model.busy,
                idle: max(0, model.online - model.busy),
                meanPrice: model.priceMeanMicroPerGpuHour.map(Amount.format) ?? "—",
                priceRange: zip(model.priceMinMicroPerGpuHour, model.priceMaxMicroPerGpuHour).map { "\(Amount.format($0))–\(Amount.format($1))" } ?? "—",
                pricedRuns: model.pricedRuns
            )
        }
        let hour = DateFormatter.utc("HH")
        let work = BarChart(
            title: "GPU-hours and CPU core-hours worked per hour", unit: "hours of work per hour (UTC)",
            series: [.init(name: "GPU-hours", color: "#b4441f"), .init(name: "CPU core-hours", color: "#6b7f99")],
            groups: view.workByHour.map { .init(label: hour.string(fromMs: $0.hourStartMs), values: [$0.gpuHours, $0.cpuCoreHours]) }
        )
        let use = BarChart(
            title: "Share of online GPUs and CPU cores busy, per hour", unit: "% busy of online, per hour (UTC)",
            series: [.init(name: "GPUs", color: "#b4441f"), .init(name: "CPU cores", color: "#6b7f99")],
            groups: view.useByHour.map {
                .init(
                    label: hour.string(fromMs: $0.hourStartMs),
                    values: [$0.gpusOnlineMean > 0 ? 100 * $0.gpusBusyMean / $0.gpusOnlineMean : 0, $0.coresOnlineMean > 0 ? 100 * $0.coresBusyMean / $0.coresOnlineMean : 0]
                )
            }
        )
        let sampled = view.useByHour.filter { $0.samples > 0 }
        let online = sampled.last.map {
            String(format: "In the latest sampled hour, %.1f GPUs and %.1f CPU cores were online on average, %.1f and %.1f of them busy.", $0.gpusOnlineMean, $0.coresOnlineMean, $0.gpusBusyMean, $0.coresBusyMean)
        } ?? "No hour has been sampled yet."
        let epochs = BarChart(
            title: "CRU minted and burned per epoch", unit: "CRU per epoch",
            series: [.init(name: "minted", color: "#1f7a4d"), .init(name: "burned", color: "#b42318")],
            groups: view.epochs.map { .init(label: "\($0.epoch)", values: [Double($0.mintedMicro) / 1e6, Double($0.burnedMicro) / 1e6]) }
        )
        let (cloud, rateNote) = Self.cloudRows(view)
        return OverviewPage(
            figures: figures, models: models, workChart: work.svg, useChart: use.svg, useNote: online, epochChart: epochs.svg,
            epochRows: view.epochs.suffix(Self.epochRowsMax).reversed().map {
                EpochRow(epoch: $0.epoch, minted: Amount.format($0.mintedMicro), burned: Amount.format($0.burnedMicro), link: Self.logLink(subject: LogSubjects.epochSubject($0.epoch)))
            },
            cloud: cloud, rateNote: rateNote,
            footer: Footer(json: "/v1/explorer/overview", coordinator: Address.short(network.coordinator), logHead: network.logHead)
        )
    }

    func nodes(after: String?) async throws -> NodesPage? {
        // A page a browser can hold at any size of network, in registration order; the counts are of all.
        let answer = try await api.listNodes(.init(query: .init(limit: Self.nodeRowsMax, after: after)))
        guard case .ok(let ok) = answer, case .json(let list) = ok.body else { return nil }
        let network = await api.networkView()
        let rows = list.nodes.map { node in
            NodeRow(
                id: node.id, shortId: Address.short(node.id), hardware: node.hardware, region: node.region,
                onlineText: node.online ? "online" : "offline", onlineClass: node.online ? "ok" : "no",
                proof: node.proof.status.rawValue, proofClass: node.proof.status == .proven ? "ok" : node.proof.status == .failed ? "no" : "",
                tops: String(format: "%.4g", node.proof.provenTops), passed: node.proof.passed, failed: node.proof.failed,
                runsDone: node.runsDone, earned: Amount.format(node.earnedMicro), streak: node.verifiedStreak ?? 0
            )
        }
        let shown = rows.count < network.nodesRegistered ? " Listed by registration, \(Self.nodeRowsMax) a page." : ""
        let json = "/v1/nodes?limit=\(Self.nodeRowsMax)" + (after.map { "&after=\($0)" } ?? "")
        return NodesPage(
            summary: "\(network.nodesRegistered) registered, \(network.nodesOnline) online, \(network.nodesProven) proven by challenge.\(shown)",
            nodes: rows, next: rows.count == Self.nodeRowsMax ? rows.last.map { "/explorer/nodes?after=\($0.id)" } : nil,
            first: after == nil ? nil : "/explorer/nodes", footer: await footer(json: json)
        )
    }

    func jobs() async throws -> JobsPage {
        guard case .ok(let ok) = try await api.listJobs(.init()), case .json(let list) = ok.body else {
            throw CrucibleError(.internalError, "the job list could not be read")
        }
        let time = DateFormatter.utc("yyyy-MM-dd HH:mm:ss")
        let rows = list.jobs.map { job in
            JobRow(
                id: job.id, name: job.name, state: job.state,
                stateClass: job.state == "settled" ? "ok" : job.state == "cancelled" ? "no" : "",
                verified: "\(job.tasksVerified)/\(job.taskCount)", disputed: job.tasksDisputed, failed: job.tasksFailed,
                paid: Amount.format(job.paidMicro), burned: Amount.format(job.burnedMicro),
                submitted: time.string(fromMs: job.submittedMs)
            )
        }
        let settled = rows.filter { $0.state == "settled" }.count
        return JobsPage(
            summary: "\(rows.count) jobs, newest first (at most 1,000); \(settled) settled.", jobs: rows,
            footer: await footer(json: "/v1/jobs")
        )
    }

    func job(_ id: String) async throws -> JobPage? {
        guard case .ok(let ok) = try await api.getJob(.init(path: .init(jobId: id))), case .json(let job) = ok.body else { return nil }
        let time = DateFormatter.utc("yyyy-MM-dd HH:mm:ss 'UTC'")
        let runs = job.tasks.flatMap { task in
            task.runs.map { run in
                JobPage.RunRow(
                    task: task.index, taskState: task.state, taskClass: task.state == "verified" ? "ok" : ["failed", "disputed"].contains(task.state) ? "no" : "",
                    id: run.id, role: run.role, nodeId: run.nodeId, shortNode: run.nodeId.map(Address.short) ?? "", state: run.state,
                    exit: run.exitCode.map(String.init) ?? "", digest: run.digest ?? "", shortDigest: run.digest.map { String($0.prefix(12)) } ?? "",
                    seconds: zip(run.startedMs, run.endedMs).map { String(format: "%.1f", Double($1 - $0) / 1000) } ?? "",
                    price: Amount.format(run.priceMicroPerUnitHour), paid: Amount.format(run.paidMicro)
                )
            }
        }
        let settledSum = job.paidMicro + job.burnedMicro + job.refundedMicro
        let resources = job.gpuMilli > 0
            ? "\(Double(job.gpuMilli) / 1000) GPU, \(job.cpuCores) cores, \(job.memoryMiB) MiB"
            : "\(job.cpuCores) cores, \(job.memoryMiB) MiB"
        return JobPage(
            id: job.id, name: job.name, state: job.state, stateClass: job.state == "settled" ? "ok" : job.state == "cancelled" ? "no" : "",
            kind: job.kind, taskCount: job.taskCount, requester: Address.short(job.requester), submitted: time.string(fromMs: job.submittedMs),
            closed: job.closedMs.map { time.string(fromMs: $0) }, waiting: job.waiting, resources: resources, maxPrice: Amount.format(job.maxPriceMicroPerUnitHour),
            maxDuration: "\(job.maxDurationS) s",
            verification: job.samplePpm > 0 ? "\(job.verification), \(Double(job.samplePpm) / 10_000)% of tasks sampled" : job.verification,
            escrow: Amount.format(job.escrowLockedMicro), paid: Amount.format(job.paidMicro), burned: Amount.format(job.burnedMicro),
            refunded: Amount.format(job.refundedMicro),
            balance: job.closedMs == nil
                ? "Open: the escrow is released as the job settles."
                : settledSum == job.escrowLockedMicro
                    ? "Paid + burned + refunded = the escrow locked, to the µCRU."
                    : "Paid + burned + refunded = \(Amount.format(settledSum)) CRU of \(Amount.format(job.escrowLockedMicro)) locked.",
            runs: runs, footer: await footer(json: "/v1/jobs/\(job.id)")
        )
    }

    func node(_ id: String) async throws -> NodePage? {
        guard case .ok(let ok) = try await api.getNode(.init(path: .init(nodeId: id))), case .json(let node) = ok.body else { return nil }
        let time = DateFormatter.utc("yyyy-MM-dd HH:mm:ss 'UTC'")
        guard case .ok(let stakeAnswer) = try await api.getStake(.init(path: .init(address: node.operatorAddress))),
              case .json(let stake) = stakeAnswer.body
        else { throw CrucibleError(.internalError, "the operator's stake could not be read") }
        let recent = try await readings(subject: node.id, before: nil, limit: Self.nodeHistoryScan, standingOf: node.id)
        let standing = recent.compactMap { reading in
            reading.standing.map { NodePage.Event(seq: reading.seq, previous: reading.seq - 1, time: time.string(fromMs: reading.atMs), text: $0.text, good: $0.good) }
        }
        let latest = recent.prefix(Self.nodeLatestRows).map {
            NodePage.Event(seq: $0.seq, previous: $0.seq - 1, time: time.string(fromMs: $0.atMs), text: $0.text, good: true)
        }
        return NodePage(
            id: node.id, shortId: Address.short(node.id), hardware: node.hardware, region: node.region,
            onlineText: node.online ? "online" : "offline", onlineClass: node.online ? "ok" : "no",
            lastSeen: node.lastSeenMs.map { time.string(fromMs: $0) },
            operatorShort: Address.short(node.operatorAddress), proof: node.proof.status.rawValue,
            proofClass: node.proof.status == .proven ? "ok" : node.proof.status == .failed ? "no" : "",
            tops: String(format: "%.4g", node.proof.provenTops), catalogTops: node.proof.catalogTops.map { String(format: "%.4g", $0) } ?? "—",
            passed: node.proof.passed, failed: node.proof.failed,
            devices: node.proof.deviceTops.isEmpty ? nil : node.proof.deviceTops.map { String(format: "%.4g", $0) }.joined(separator: ", "),
            runsDone: node.runsDone, runsActive: node.runsActive, earned: Amount.format(node.earnedMicro), streak: node.verifiedStreak ?? 0,
            askGpu: Amount.format(node.askMicroPerGpuHour), askCpu: Amount.format(node.askMicroPerCpuCoreHour), slots: node.maxConcurrentRuns,
            samplePercent: node.adaptiveSamplePpm.map { String(format: "%g%%", Double($0) / 10_000) } ?? "—",
            staked: Amount.format(stake.stakedMicro), stakeRequired: Amount.format(stake.requiredMicro),
            stakeCovers: "\(stake.nodesCovered) of \(stake.nodes)", stakeUnbonding: Amount.format(stake.unbondingMicro),
            operatorId: node.operatorAddress,
            standing: Array(standing.prefix(Self.nodeStandingRows)), hasStanding: !standing.isEmpty, standingScanned: recent.count,
            latest: Array(latest), logLink: Self.logLink(subject: node.id),
            footer: await footer(json: "/v1/nodes/\(node.id)")
        )
    }

    /// The clouds' dated prices with the network's mean price of each model in dollars, at the governed reference
    /// rate, and how far apart they are; and a note saying what rate that was, or that none is agreed.
    static func cloudRows(_ view: Components.Schemas.ExplorerOverview) -> (rows: [CloudRow], rateNote: String) {
        let rate = Double(view.referenceMicroUsdPerCru) / 1e6
        let networkUsd = Dictionary(uniqueKeysWithValues: view.gpuModels.compactMap { model in
            model.priceMeanMicroPerGpuHour.flatMap { mean in rate > 0 ? (model.model, Double(mean) / 1e6 * rate) : nil }
        })
        let cloud = view.cloudPrices.map { price in
            let network = networkUsd[price.model]
            let spread = network.map { usd in
                let reference = CloudReferencePrice.spreadPercent(networkUsdPerGpuHour: usd, low: price.usdPerGpuHourLow, high: price.usdPerGpuHourHigh)
                return reference.low == reference.high ? String(format: "%+.0f%%", reference.low) : String(format: "%+.0f%% to %+.0f%%", reference.low, reference.high)
            }
            return CloudRow(
                model: GPUCatalog.model(id: price.model)?.displayName ?? price.model, provider: price.provider, offer: price.offer,
                price: price.usdPerGpuHourLow == price.usdPerGpuHourHigh
                    ? String(format: "$%.2f", price.usdPerGpuHourLow) : String(format: "$%.2f–%.2f", price.usdPerGpuHourLow, price.usdPerGpuHourHigh),
                asOf: price.asOf, source: price.source, sourceHost: URL(string: price.source)?.host ?? price.source,
                network: network.map { String(format: "$%.2f", $0) } ?? "—", spread: spread ?? "—"
            )
        }
        let rateNote = rate > 0
            ? String(format: "Network prices in dollars at the reference rate stakers agreed, 1 CRU = $%.4g", rate)
                + (view.referenceSetBy.map { " (set by \($0))." } ?? " (set in the genesis).")
                + " Negative: the network is cheaper. The rate only reads prices; nothing is settled in dollars."
            : "No reference rate of CRU in dollars is agreed (governed parameter referenceMicroUsdPerCru), so no spread is shown; the network's prices in CRU are in the table above."
        return (cloud, rateNote)
    }

    static let logRowsMax = 100
    /// A node page reads this many of the node's latest entries, lists the standing changes among them (at most
    /// `nodeStandingRows`) and the latest `nodeLatestRows` of all.
    static let nodeHistoryScan = 500
    static let nodeStandingRows = 20
    static let nodeLatestRows = 10

    /// The log newest first, or the entries about one subject, `logRowsMax` at a time, in words.
    func log(subject: String?, before: Int64?) async throws -> LogPage {
        let json = "/v1/log?" + [subject.map { "subject=\($0)" }, before.map { "before=\($0)" }, "limit=\(Self.logRowsMax)"].compactMap { $0 }.joined(separator: "&")
        let entries = try await readings(subject: subject, before: before, limit: Self.logRowsMax, standingOf: nil)
        let time = DateFormatter.utc("yyyy-MM-dd HH:mm:ss 'UTC'")
        let rows = entries.map {
            LogPage.Row(seq: $0.seq, previous: $0.seq - 1, time: time.string(fromMs: $0.atMs), type: $0.type, text: $0.text)
        }
        let older = entries.count == Self.logRowsMax ? entries.last.map { Self.logLink(subject: subject, before: $0.seq) } : nil
        return LogPage(subject: subject, before: before, hasEntries: !rows.isEmpty, entries: rows, older: older, footer: await footer(json: json))
    }

    /// Entries from `GET /v1/log`, read in words by the coordinator.
    private func readings(subject: String?, before: Int64?, limit: Int, standingOf nodeId: String?) async throws -> [LogReading] {
        let input = Operations.GetLog.Input(query: .init(before: before ?? .max, subject: subject, limit: limit))
        guard case .ok(let ok) = try await api.getLog(input), case .json(let page) = ok.body else {
            throw CrucibleError(.internalError, "the log could not be read")
        }
        return await api.coordinator.readings(of: page.entries.map { ($0.seq, $0.timestampMs, $0.content) }, standingOf: nodeId)
    }

    static func logLink(subject: String?, before: Int64? = nil) -> String {
        "/explorer/log?" + [subject.map { "subject=\($0)" }, before.map { "before=\($0)" }].compactMap { $0 }.joined(separator: "&")
    }

    func governance() async throws -> GovernancePage {
        guard case .ok(let ok) = try await api.listProposals(.init()), case .json(let list) = ok.body else {
            throw CrucibleError(.internalError, "the proposals could not be read")
        }
        let time = DateFormatter.utc("yyyy-MM-dd HH:mm 'UTC'")
        let now = await api.coordinator.nowMs
        func percent(_ bps: Int64) -> String { String(format: "%g%%", Double(bps) / 100) }
        let proposals = list.proposals.map { proposal in
            let voted = proposal.yesMicro + proposal.noMicro + proposal.abstainMicro
            let ends = time.string(fromMs: proposal.votingEndsMs)
            return GovernancePage.ProposalCard(
                id: proposal.id, title: proposal.title, rationale: proposal.rationale.isEmpty ? nil : proposal.rationale,
                status: proposal.status.rawValue,
                statusClass: [.passed, .enacted].contains(proposal.status) ? "ok" : [.rejected, .expired, .failed].contains(proposal.status) ? "no" : "",
                effectiveEpoch: proposal.effectiveEpoch, voting: now < proposal.votingEndsMs ? "open until \(ends)" : "closed \(ends)",
                proposer: Address.short(proposal.proposer),
                changes: proposal.changes.map { .init(name: $0.name, value: $0.value) },
                grants: proposal.grants.map { .init(to: Address.short($0.to), amount: Amount.format($0.amountMicro)) },
                yes: Amount.format(proposal.yesMicro), no: Amount.format(proposal.noMicro), abstain: Amount.format(proposal.abstainMicro),
                snapshot: Amount.format(proposal.snapshotTotalMicro),
                turnout: proposal.snapshotTotalMicro > 0 ? String(format: "%.0f%%", 100 * Double(voted) / Double(proposal.snapshotTotalMicro)) : "—",
                quorum: percent(proposal.quorumBps), threshold: percent(proposal.thresholdBps), note: proposal.note,
                votes: proposal.votes.map { .init(voter: Address.short($0.voter), choice: $0.choice, weight: Amount.format($0.weightMicro)) }
            )
        }
        let open = proposals.filter { $0.status == "open" }.count, enacted = proposals.filter { $0.status == "enacted" }.count
        return GovernancePage(
            summary: "\(proposals.count) proposals, \(open) open, \(enacted) enacted.", proposals: proposals,
            footer: await footer(json: "/v1/proposals")
        )
    }

    /// What every page's footer names: the JSON it is drawn from, and the log it can be checked against.
    func footer(json: String) async -> Footer {
        Footer(json: json, coordinator: Address.short(api.coordinator.identity.address), logHead: await api.coordinator.logHead)
    }
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

private extension DateFormatter {
    static func utc(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }

    /// A time the API gives in milliseconds since 1970.
    func string(fromMs ms: Int64) -> String {
        string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
