import CrucibleAPI
import CrucibleClient
import CrucibleCore
import CrucibleProof
import Foundation
import Logging

/// The node agent: registers the machine, long-polls for offers, decides each by its own policy, runs accepted
/// work, heartbeats its leases and reports results. It only ever dials out.
public actor NodeAgent {
    public struct Configuration: Sendable {
        /// The coordinators of the network, tried in turn when one cannot be reached.
        public var coordinatorURLs: [URL]
        public var nodeKey: SigningIdentity
        public var operatorKey: SigningIdentity
        public var policy: AgentPolicy
        public var hardware: HardwareProfile
        public var workDirectory: URL
        public var region: String
        public var pollWaitMs: Int
        public var heartbeatIntervalMs: Int
        /// What answers proof-of-GPU challenges.
        public var challengeBackend: any ChallengeBackend
        /// The address other nodes reach this one at, for link probes and cluster peers; nil: the node joins no cluster.
        public var peerHost: String?
        /// The link probe's port (0: any free one).
        public var peerProbePort: Int
        /// How often the agent looks for peers it has not measured, and how old a measurement may get before it is
        /// taken again (well inside the coordinator's `linkFreshMs`).
        public var linkCheckIntervalMs: Int
        public var linkRemeasureMs: Int
        /// The policy file the policy came from: an edit is read, checked and registered within `policyCheckIntervalMs`,
        /// so the coordinator offers by the new rules without a restart. Nil: the policy is fixed.
        public var policyPath: String?
        public var policyCheckIntervalMs: Int
        /// The Python with PyTorch that train runs use; nil: the node takes no train job and says so at registration.
        public var training: TrainingRuntime?
        /// The Blender that render runs use; nil: the node takes no render job and says so at registration.
        public var rendering: RenderRuntime?
        /// The Ray that ray runs use; nil: the node takes no ray job and says so at registration.
        public var ray: RayRuntime?
        /// Variables set for every run, as the operator configures them.
        public var runEnvironment: [String: String]
        /// The account tasks run as (the agent then runs as root); nil: the agent's own, within reach of its key.
        public var taskUser: TaskUser?

        public init(
            coordinatorURL: URL, moreCoordinators: [URL] = [], nodeKey: SigningIdentity, operatorKey: SigningIdentity, policy: AgentPolicy,
            hardware: HardwareProfile, workDirectory: URL, region: String = "local",
            pollWaitMs: Int = 20_000, heartbeatIntervalMs: Int = 3_000, challengeBackend: any ChallengeBackend = CPUChallengeBackend(),
            peerHost: String? = nil, peerProbePort: Int = 0, linkCheckIntervalMs: Int = 30_000, linkRemeasureMs: Int = 600_000,
            policyPath: String? = nil, policyCheckIntervalMs: Int = 5_000, training: TrainingRuntime? = nil,
            rendering: RenderRuntime? = nil, ray: RayRuntime? = nil, runEnvironment: [String: String] = [:], taskUser: TaskUser? = nil
        ) {
            self.taskUser = taskUser
            self.ray = ray
            self.training = training
            self.rendering = rendering
            self.runEnvironment = runEnvironment
            self.policyPath = policyPath
            self.policyCheckIntervalMs = policyCheckIntervalMs
            self.peerHost = peerHost
            self.peerProbePort = peerProbePort
            self.linkCheckIntervalMs = linkCheckIntervalMs
            self.linkRemeasureMs = linkRemeasureMs
            self.challengeBackend = challengeBackend
            self.coordinatorURLs = [coordinatorURL] + moreCoordinators
            self.nodeKey = nodeKey
            self.operatorKey = operatorKey
            self.policy = policy
            self.hardware = hardware
            self.workDirectory = workDirectory
            self.region = region
            self.pollWaitMs = pollWaitMs
            self.heartbeatIntervalMs = heartbeatIntervalMs
        }
    }

    public static let version = "0.1.0"
    static let rememberedOffersMax = 4096

    public let configuration: Configuration
    let client: CoordinatorClient
    let runner: TaskRunner
    let logger: Logger
    private var active: [String: (task: Task<Void, Never>, control: RunControl)] = [:]
    private var answered: [String] = []
    /// Cluster runs accepted and waiting for the rest of their gang, until a little past their offer's deadline.
    private var awaitingGang: [String: (order: RunOrder, deadlineMs: Int64)] = [:]
    /// Runs the network ended that this agent does not hold, being reported gone.
    private var releasing: Set<String> = []
    private var probe: PeerProbeServer?
    /// When each peer's link was last measured.
    private var linkMeasuredMs: [String: Int64] = [:]
    /// The rules offers are decided by: the configured policy, then each valid edit of the policy file.
    public private(set) var policy: AgentPolicy
    private var policyModified: Date?
    public private(set) var completedRuns = 0
    /// What `/metrics` shows of this agent (`crucible node run --metrics-listen`).
    public nonisolated let metrics = AgentMetrics()
    /// Challenges answered, and how the last one ended.
    public internal(set) var challengesAnswered = 0
    public internal(set) var lastChallengeState: String?

    public init(configuration: Configuration, logger: Logger = Logger(label: "crucible.agent")) {
        self.configuration = configuration
        self.policy = configuration.policy
        self.policyModified = configuration.policyPath.flatMap { Self.modificationDate($0) }
        self.client = CoordinatorClient(baseURLs: configuration.coordinatorURLs)
        self.logger = logger
        self.runner = TaskRunner(
            client: client, node: configuration.nodeKey,
            workRoot: configuration.workDirectory.appendingPathComponent("runs", isDirectory: true), logger: logger,
            training: configuration.training, rendering: configuration.rendering, ray: configuration.ray,
            extraEnvironment: configuration.runEnvironment, taskUser: configuration.taskUser
        )
    }

    public var nodeId: String { configuration.nodeKey.address }
    public var activeRunIds: [String] { Array(active.keys) }

    /// Registers, then polls and heartbeats (and measures links to peers, when it joins clusters) until the task is
    /// cancelled; running work is stopped on the way out.
    public func run() async throws {
        Self.stopLeftoverRuns(workDirectory: configuration.workDirectory, logger: logger)
        if let taskUser = configuration.taskUser {
            let workRoot = runner.workRoot
            try await onOwnThread { try taskUser.check(reaching: workRoot) }
        }
        if let host = configuration.peerHost, probe == nil {
            probe = try await PeerProbeServer.start(host: host, port: configuration.peerProbePort)
        }
        do {
            try await register()
        } catch {
            await probe?.close()
            probe = nil
            throw error
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pollLoop() }
            group.addTask { await self.heartbeatLoop() }
            if self.probe != nil { group.addTask { await self.linkLoop() } }
            if self.configuration.policyPath != nil { group.addTask { await self.policyLoop() } }
            await group.waitForAll()
        }
        for (_, entry) in active { await entry.control.stop("agent shutting down") }
        for (_, entry) in active { await entry.task.value }
        await probe?.close()
        probe = nil
    }

    /// Stops the task processes an earlier agent over `workDirectory` left running (it was killed), logging which.
    /// `node run` calls it before probing the machine, so that they free the GPU first; `run` calls it again.
    public static func stopLeftoverRuns(workDirectory: URL, logger: Logger) {
        let stopped = LeftoverRuns.stopAll(under: workDirectory.appendingPathComponent("runs", isDirectory: true))
        if !stopped.isEmpty {
            logger.warning("stopped processes an earlier agent left running", metadata: ["runs": "\(stopped.joined(separator: ", "))"])
        }
    }

    /// Registers with the coordinator, retrying while it cannot be reached.
    public func register() async throws {
        let registration = NodeRegistration.authorized(
            node: nodeId, by: configuration.operatorKey, hardware: configuration.hardware, policy: registeredPolicy,
            region: configuration.region, agentVersion: Self.version, peerEndpoint: probe?.endpoint, renderer: configuration.rendering?.version
        )
        var delayMs = 200
        while true {
            do {
                let node = try await client.registerNode(registration, by: configuration.nodeKey)
                logger.info("registered", metadata: ["node": "\(Address.short(node.id))", "hardware": "\(node.hardware)"])
                return
            } catch let error as CrucibleError where error.code != .unavailable {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.debug("coordinator not reachable yet", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .milliseconds(delayMs))
                delayMs = min(delayMs * 2, 5_000)
            }
        }
    }

    private func pollLoop() async {
        var delayMs = 200
        while !Task.isCancelled {
            do {
                let poll = try await client.poll(waitMs: configuration.pollWaitMs, awaiting: Array(awaitingGang.keys), by: configuration.nodeKey)
                delayMs = 200
                // Runs the network ended first: they hold capacity the network counts as this node's until they are gone.
                for runId in poll.stop { await stopEnded(runId) }
                // A challenge next: it is timed, and the node is not matched until it is answered.
                for notice in poll.challenges { await answer(notice) }
                launchStartedGangs(poll.clusterRuns)
                for offer in poll.offers { await consider(offer) }
            } catch let error as CrucibleError where error.code == .notFound {
                // The coordinator forgot us (a fresh data folder): enrol again.
                try? await register()
            } catch {
                if Task.isCancelled { return }
                logger.debug("poll failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(delayMs))
                delayMs = min(delayMs * 2, 5_000)
            }
        }
    }

    private func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(configuration.heartbeatIntervalMs))
            guard !active.isEmpty else { continue }
            do {
                let stop = try await client.heartbeat(runIds: Array(active.keys), by: configuration.nodeKey)
                for runId in stop {
                    logger.info("coordinator asked to stop a run", metadata: ["run": "\(runId)"])
                    await active[runId]?.control.stop("the coordinator withdrew the lease")
                }
            } catch {
                logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Sends an offer's answer, again while the coordinator cannot be reached (for up to 10 s): an answer whose reply
    /// was lost may have been taken, and the coordinator answers an acceptance sent again as it did the first.
    func answerOffer(_ response: OfferResponse) async throws -> Components.Schemas.RunAck {
        try await whileUnreachable(for: .seconds(10)) { try await client.respondOffer(response, by: configuration.nodeKey) }
    }

    /// Applies the policy to one offer and answers it; an accepted offer starts running at once.
    func consider(_ offer: Components.Schemas.Offer) async {
        // An offer is one run at one deadline: the same offer seen in two polls is answered once, while the same
        // run offered again (after a lapse, a cooldown or a coordinator restart) is a new offer and is considered.
        let offerKey = "\(offer.runId)@\(offer.deadlineMs)"
        guard active[offer.runId] == nil, !answered.contains(offerKey) else { return }
        answered.append(offerKey)
        if answered.count > Self.rememberedOffersMax { answered.removeFirst(answered.count / 2) }
        let decision: AgentPolicy.Decision
        if let kind = JobSpec.Kind(rawValue: offer.kind) {
            let terms = AgentPolicy.OfferTerms(
                kind: kind, priceMicroPerUnitHour: offer.priceMicroPerUnitHour, requester: offer.requester, maxDurationS: offer.maxDurationS,
                dataRegion: offer.dataRegion, atMs: Clock.nowMs()
            )
            if offer.cluster != nil && probe == nil {
                decision = .reject(reason: "this node joins no clusters (no peer host)")
            } else if kind == .train && configuration.training == nil {
                decision = .reject(reason: "this node has no Python with PyTorch")
            } else if kind == .ray && configuration.ray == nil {
                decision = .reject(reason: "this node has no Ray")
            } else if kind == .render && (configuration.rendering == nil || offer.render == nil) {
                decision = .reject(reason: configuration.rendering == nil ? "this node has no Blender" : "a render offer without render settings")
            } else {
                decision = policy.decide(terms, runningNow: active.count + awaitingGang.count)
            }
        } else {
            decision = .reject(reason: "unknown kind \(offer.kind)")
        }
        var response: OfferResponse
        switch decision {
        case .accept: response = OfferResponse(runId: offer.runId, accept: true, offer: offer.offer)
        case .reject(let reason): response = OfferResponse(runId: offer.runId, accept: false, reason: reason, offer: offer.offer)
        }
        if response.accept, offer.cluster != nil, let host = probe?.host {
            // The member will listen here once its gang starts; its peers learn the port from the coordinator.
            do {
                response.peerPort = try await LinkMeasurer.freePort(host: host)
            } catch {
                response = OfferResponse(runId: offer.runId, accept: false, reason: "no free port for its peers", offer: offer.offer)
            }
        }
        do {
            let ack = try await answerOffer(response)
            metrics.offerAnswered(accepted: response.accept)
            if response.accept, let port = response.peerPort, ack.state == "offered" || ack.state == "running" {
                // A cluster member launches when the poll says its whole gang has accepted, with every peer's address.
                awaitingGang[offer.runId] = (RunOrder(offer), offer.deadlineMs + 60_000)
                logger.info("accepted a cluster run; waiting for its gang", metadata: ["run": "\(offer.runId)", "port": "\(port)"])
                return
            }
            guard response.accept, ack.state == "running" else {
                logger.info("declined an offer", metadata: ["run": "\(offer.runId)", "reason": "\(response.reason)"])
                return
            }
        } catch let error as CrucibleError where error.code == .offerWithdrawn {
            // The gang was withdrawn (a member declined or let it lapse) while this answer travelled: nothing to undo.
            logger.info("an offer was withdrawn before its answer arrived", metadata: ["run": "\(offer.runId)", "why": "\(error.message)"])
            return
        } catch {
            // The answer may not have been taken: the offer may come again, and is then considered again.
            answered.removeAll { $0 == offerKey }
            logger.warning("could not answer an offer", metadata: ["run": "\(offer.runId)", "error": "\(error)"])
            return
        }
        logger.info("running", metadata: ["run": "\(offer.runId)", "price": "\(Amount.format(offer.priceMicroPerUnitHour)) CRU/h"])
        start(RunOrder(offer))
    }

    /// The Prometheus exposition of this agent now: its counters, the runs it holds, and its GPUs' readings from
    /// `nvidia-smi` where the machine has it.
    public func metricsExposition() async -> String {
        var gpus = [NvidiaSMI.Sample]()
        if !configuration.hardware.gpus.isEmpty, let smi = HardwareDiscovery.findExecutable("nvidia-smi"),
           let output = await ProbeCommand.output(smi, NvidiaSMI.sampleArguments) {
            gpus = (try? NvidiaSMI.parseSamples(output)) ?? []
        }
        return metrics.exposition(.init(runsActive: active.count, runSlots: policy.maxConcurrentRuns, gpus: gpus))
    }

    private func policyLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(configuration.policyCheckIntervalMs))
            await reloadPolicyIfEdited()
        }
    }

    /// Reads the policy file again when it changed: a valid edit becomes the policy and is registered (the coordinator
    /// then offers by it); an invalid one is reported and the running policy kept. Returns whether the policy changed.
    @discardableResult
    public func reloadPolicyIfEdited() async -> Bool {
        guard let path = configuration.policyPath, let modified = Self.modificationDate(path), modified != policyModified else { return false }
        policyModified = modified
        let edited: AgentPolicy
        do {
            edited = try AgentPolicyFile.load(path: path)
        } catch {
            logger.warning("the edited policy file is refused; the running policy stays", metadata: ["file": "\(path)", "error": "\(error)"])
            return false
        }
        guard edited != policy else { return false }
        let previous = policy
        policy = edited
        do {
            try await register()
            logger.info("policy changed and registered", metadata: ["file": "\(path)"])
            return true
        } catch {
            policy = previous
            policyModified = nil
            logger.warning("the edited policy was not registered; the running policy stays", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// The policy as the coordinator learns it: without `train` when this node has no PyTorch, `render` when it has no
    /// Blender and `ray` when it has no Ray, so it is never offered work it cannot run.
    var registeredPolicy: AgentPolicy {
        var registered = policy
        if configuration.training == nil { registered.allowedKinds.removeAll { $0 == .train } }
        if configuration.rendering == nil { registered.allowedKinds.removeAll { $0 == .render } }
        if configuration.ray == nil { registered.allowedKinds.removeAll { $0 == .ray } }
        return registered
    }

    static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// Launches each awaited cluster run whose gang started, with its rank and peers; forgets those withdrawn (a
    /// member refused or let its offer lapse) or past their wait.
    private func launchStartedGangs(_ clusterRuns: [Components.Schemas.ClusterRun]) {
        let now = Clock.nowMs()
        let listed = Dictionary(clusterRuns.map { ($0.runId, $0) }, uniquingKeysWith: { first, _ in first })
        for (runId, waiting) in awaitingGang {
            guard let run = listed[runId], now <= waiting.deadlineMs else {
                awaitingGang[runId] = nil
                logger.info("a cluster run was withdrawn before its gang started", metadata: ["run": "\(runId)"])
                continue
            }
            guard run.state == .started else { continue }
            awaitingGang[runId] = nil
            var order = waiting.order
            order.cluster = ClusterAssignment(
                rank: run.rank, worldSize: run.worldSize, peers: run.peers.map { .init(rank: $0.rank, host: $0.host, port: $0.port) }
            )
            logger.info("gang started", metadata: ["run": "\(runId)", "rank": "\(run.rank)", "world": "\(run.worldSize)"])
            start(order)
        }
    }

    /// Measures the link to every peer that has a probe and was not measured lately, and reports them, until
    /// cancelled. Peers in the node's own region come first; at most `LinkReport.linksMax` are kept.
    private func linkLoop() async {
        while !Task.isCancelled {
            await measureLinks()
            try? await Task.sleep(for: .milliseconds(configuration.linkCheckIntervalMs))
        }
    }

    /// One round of link measurements.
    private func measureLinks() async {
        guard let nodes = try? await client.nodes(withPeerEndpoint: true) else { return }
        let now = Clock.nowMs()
        let due = nodes
            .filter { $0.id != nodeId && $0.peerEndpoint != nil }
            .filter { now - (linkMeasuredMs[$0.id] ?? .min / 2) >= Int64(configuration.linkRemeasureMs) }
            .sorted { ($0.region == configuration.region ? 0 : 1, $0.id) < ($1.region == configuration.region ? 0 : 1, $1.id) }
            .prefix(LinkReport.linksMax)
        var links = [LinkReport.Link]()
        for peer in due {
            guard let endpoint = peer.peerEndpoint, let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]) else { continue }
            do {
                let result = try await LinkMeasurer.measure(host: String(endpoint[..<colon]), port: port)
                links.append(.init(peer: peer.id, roundTripUs: result.roundTripUs, bandwidthMbps: result.bandwidthMbps))
            } catch {
                logger.debug("link not measured", metadata: ["peer": "\(Address.short(peer.id))", "error": "\(error)"])
            }
        }
        guard !links.isEmpty else { return }
        do {
            _ = try await client.reportLinks(LinkReport(links: links), by: configuration.nodeKey)
            for link in links { linkMeasuredMs[link.peer] = now }
            logger.info("links measured", metadata: ["peers": "\(links.count)"])
        } catch {
            logger.warning("link report refused", metadata: ["error": "\(error)"])
        }
    }

    /// Stops a run the network ended (its job cancelled, a gang member lost, its lease lost): a running one is stopped
    /// and reports as it ends; one this agent does not hold (it ended, or an earlier agent held it) is reported gone
    /// at once, so the network stops counting it against this node.
    private func stopEnded(_ runId: String) async {
        if let entry = active[runId] {
            logger.info("the network ended a run; stopping it", metadata: ["run": "\(runId)"])
            await entry.control.stop("the network ended the run")
            return
        }
        awaitingGang[runId] = nil
        guard releasing.insert(runId).inserted else { return }
        let report = RunReport(runId: runId, exitCode: -1, outputs: [], durationMs: 0, failure: "not running on this node")
        do {
            _ = try await whileUnreachable(for: .seconds(30)) { try await client.reportResult(report, by: configuration.nodeKey) }
            logger.info("reported a run the network ended as not running here", metadata: ["run": "\(runId)"])
        } catch {
            logger.debug("a run the network ended was not reported gone", metadata: ["run": "\(runId)", "error": "\(error)"])
        }
        releasing.remove(runId)
    }

    private func start(_ order: RunOrder) {
        let control = RunControl()
        let task = Task {
            let report = await self.runner.execute(order, control: control)
            await self.finish(report)
        }
        active[order.runId] = (task, control)
    }

    private func finish(_ report: RunReport) async {
        // The work is over: free the slot before reporting, because the coordinator may offer new work the moment
        // it has the report.
        active[report.runId] = nil
        completedRuns += 1
        metrics.runFinished(exitCode: report.exitCode, durationMs: report.durationMs)
        // Sent again while the coordinator is out of reach, for as long as a lease could outlast a cut: once it answers,
        // it decides (a run it gave up meanwhile is refused).
        do {
            let ack = try await whileUnreachable(for: .seconds(120)) { try await client.reportResult(report, by: configuration.nodeKey) }
            logger.info("reported", metadata: [
                "run": "\(report.runId)", "exit": "\(report.exitCode)", "outputs": "\(report.outputs.count)",
                "ms": "\(report.durationMs)", "state": "\(ack.state)",
            ])
        } catch {
            logger.warning("report refused", metadata: ["run": "\(report.runId)", "error": "\(error)"])
        }
    }
}
