import CrucibleCore
import CrucibleLedger
import CrucibleStore
import Foundation
import Logging

/// The sequencer: it admits signed envelopes, orders them and its own decisions into the log, keeps the
/// state that the log implies, and runs matching, time-outs, verification and settlement.
///
/// Every change goes through `commit`, which applies the event to a copy of the state, signs the log entry and
/// queues it; a single flush task writes queued entries and their projection rows in one transaction (group
/// commit), and nobody is answered before their entry is durable.
public actor Coordinator {
    public nonisolated let identity: SigningIdentity
    let seeds: ChallengeSeeds
    let store: CrucibleStore
    let logger: Logger
    let clock: @Sendable () -> Int64

    public private(set) var state = NetworkState()
    private var head: LogEntry?
    private var uncheckpointed: [LogEntry] = []
    private var pending = PendingCommit()
    private(set) var durableSeq: Int64 = 0
    private var flushing = false
    /// Batches the flush task has written, and who waits for a given one.
    private var writtenBatches = 0
    private var batchInFlight = false
    private var batchWaiters: [(batch: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var durabilityWaiters: [(seq: Int64, continuation: CheckedContinuation<Void, Never>)] = []

    // What only the live coordinator knows; none of it is needed to replay the log.
    private var sightings = NodeSightings()
    /// When a search for an offer last found none, and what it searched.
    private var fruitlessOfferSearch: (moment: MarketMoment, atMs: Int64)?
    /// Log bytes each run sent that is still sending.
    private var logBytesByRun: [String: Int] = [:]
    private struct MarketMoment: Equatable {
        var stateRevision: Int
        var onlineRevision: Int
    }
    private var lastHeartbeatMs: [String: Int64] = [:]
    private var offerWaiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]
    /// The runs to stop that each node's last poll was told of: a poll answers at once only for one it was not.
    private var stopsTold: [String: Set<String>] = [:]
    var generator = SystemRandomNumberGenerator()
    /// When each open challenge was first handed to its node, from which the round trip is measured.
    var challengeNoticedMs: [String: Int64] = [:]
    /// When each proven node's next unannounced challenge falls due.
    var challengeDraws = ChallengeDraws()
    private var isStopping = false
    /// Whether this coordinator writes the log; a follower serves reads and forwards the rest to the leader.
    public internal(set) var isLeader = false
    /// Where other coordinators reach this one, recorded when it takes the lead; empty until it serves.
    var advertisedURL = ""
    private var genesis: LogEvent.Genesis?
    /// The follower's step in progress (`follow`).
    var followStep: Task<Void, Never>?
    /// Nonces seen within the acceptance window, by signer and nonce, with their envelope's timestamp. Checked here
    /// so admission costs no database round trip; each becomes durable with the next group commit.
    private var seenNonces = SeenNonces()
    /// Signed requests per key; nil: no limit (benchmarks).
    private var rateLimiter: RequestRateLimiter?

    static let offerWaitersPerNodeMax = 4
    static let decisionsPerPassMax = 10_000

    struct PendingCommit {
        var entries: [LogEntry] = []
        var checkpoints: [LogCheckpoint] = []
        var projection = ProjectionBatch()
        var nonces: [SeenNonce] = []

        var isEmpty: Bool { entries.isEmpty && nonces.isEmpty }
    }

    /// How often the leader samples who is online and busy (utilization over time); samples are kept `presenceKeptMs`.
    /// Each sample is a write of its own: every few hundred milliseconds in many test networks at once, those writes
    /// took the database threads from the log's commits and challenges timed out.
    let presenceSampleMs: Int64
    static let presenceKeptMs: Int64 = 8 * 24 * 3_600_000

    init(
        identity: SigningIdentity, store: CrucibleStore, clock: @escaping @Sendable () -> Int64, rateLimit: RequestRateLimiter.Limit?,
        presenceSampleMs: Int64 = 60_000, logger: Logger
    ) {
        self.presenceSampleMs = presenceSampleMs
        self.rateLimiter = rateLimit.map(RequestRateLimiter.init)
        self.identity = identity
        self.seeds = ChallengeSeeds(identity: identity)
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// Opens the coordinator over `store`: replays the log if there is one, writes the genesis otherwise.
    ///
    /// `replica`: the coordinator may share the database with others (PostgreSQL). It opens as a follower that serves
    /// reads from the log it tails and forwards the rest to the leader, and takes the lead itself when nobody holds it
    /// (`runDecisionLoop`); the first to lead a new database writes the genesis. Without it the coordinator must lead
    /// at once, and opening fails when another coordinator leads the database.
    public static func open(
        store: CrucibleStore,
        identity: SigningIdentity,
        genesisAllocations: [LedgerEvent.Allocation],
        parameters: NetworkParameters = NetworkParameters(),
        clock: @escaping @Sendable () -> Int64 = { Clock.nowMs() },
        rateLimit: RequestRateLimiter.Limit? = .standard,
        replica: Bool = false,
        presenceSampleMs: Int64 = 60_000,
        logger: Logger = Logger(label: "crucible.coordinator")
    ) async throws -> Coordinator {
        let coordinator = Coordinator(identity: identity, store: store, clock: clock, rateLimit: rateLimit, presenceSampleMs: presenceSampleMs, logger: logger)
        await coordinator.setGenesis(LogEvent.Genesis(coordinator: identity.address, parameters: parameters, allocations: genesisAllocations))
        try await coordinator.catchUp()
        if !replica {
            guard try await store.takeLeadership(address: "", atMs: clock()) else {
                throw CrucibleError(.unavailable, "another coordinator leads this database (at \(try await store.leaderAddress() ?? "an unknown address"))")
            }
            try await coordinator.assumeLeadership()
        }
        return coordinator
    }

    private func setGenesis(_ genesis: LogEvent.Genesis) { self.genesis = genesis }

    /// Applies the stored log entries after `head` to the state, checking each entry's chain and signature on the way:
    /// the whole log when the coordinator opens, what the leader wrote since while it follows.
    func catchUp() async throws {
        while true {
            let page = try await store.logEntries(afterSeq: head?.seq ?? 0, limit: 1000)
            // Another catch-up may have applied some of these while this one read them.
            for entry in page where entry.seq > head?.seq ?? 0 {
                try entry.verify(after: head, coordinator: identity.address)
                let event = try CanonicalJSON.decode(LogEvent.self, from: Data(entry.content.utf8))
                try state.apply(event, atMs: entry.timestampMs)
                head = entry
            }
            durableSeq = head?.seq ?? 0
            if page.count < 1000 { return }
        }
    }

    /// A database written before log entries had their subjects indexed gets the index a replay derives, once, so
    /// that its pages link to their entries and its audit passes.
    private func indexSubjectsWrittenBeforeTheIndex() async throws {
        guard head != nil, try await !store.hasSubjectIndex() else { return }
        var batch = ProjectionBatch()
        batch.subjects = try await Auditor.replay(store).subjects
        try await store.commit(entries: [], checkpoints: [], projection: batch)
        logger.info("indexed the subjects of entries written before the index", metadata: ["rows": "\(batch.subjects.count)"])
    }

    /// Makes this coordinator the one that writes the log, once it holds the lead: it reads what the last leader wrote,
    /// writes the genesis if nobody did, and takes up what only a live leader keeps (lease timers, challenge draws,
    /// nonces) as a restarted coordinator does.
    func assumeLeadership() async throws {
        try await catchUp()
        let lastCheckpoint = try await store.checkpoints().last?.lastSeq ?? 0
        uncheckpointed = []
        while true {
            let page = try await store.logEntries(afterSeq: uncheckpointed.last?.seq ?? lastCheckpoint, limit: 1000)
            if page.isEmpty { break }
            uncheckpointed += page
        }
        isLeader = true
        try await indexSubjectsWrittenBeforeTheIndex()
        if head == nil, let genesis {
            let seq = try commit(.genesis(genesis)).seq
            await waitDurable(seq)
        }
        // Leases survive a restart: their nodes get a full timeout from now to show they are still working.
        let now = clock()
        for run in state.runs.values where run.state == .running { lastHeartbeatMs[run.id] = now }
        // Unannounced challenges are not in the log; each proven node gets a fresh draw.
        for node in state.nodes.values where node.proof.status == .proven {
            drawNextChallenge(for: node.id)
        }
        for seen in try await store.recentNonces(sinceMs: now - 2 * state.parameters.timestampWindowMs).sorted(by: { $0.timestampMs < $1.timestampMs }) {
            seenNonces.insert(signer: seen.signer, nonce: seen.nonce, timestampMs: seen.timestampMs)
        }
        if let head { logger.info("leading", metadata: ["entries": "\(head.seq)"]) }
        try await voidChallengesOpenAtRestart()
    }

    // MARK: - Commit

    /// Applies `event` to the state and queues its log entry; throws (changing nothing) if the event is refused.
    @discardableResult
    /// `admitted` says an envelope passed `admit`, which checked its signature.
    func commit(_ event: LogEvent, admitted: Bool = false) throws -> (seq: Int64, applied: NetworkState.Applied) {
        guard isLeader else { throw Self.notLeading }
        let now = clock()
        let content = String(decoding: try CanonicalJSON.encode(event), as: UTF8.self)
        // Nodes whose waiting polls this event concerns, read before the event moves the runs off them.
        let nodesToWake = nodesToWake(by: event)
        // `apply` changes nothing when it throws, so the live state is updated in place.
        let applied = try state.apply(event, atMs: now, signatureVerified: admitted)
        let entry = LogEntry.make(after: head, timestampMs: now, content: content, signer: identity)
        head = entry
        pending.entries.append(entry)
        var rows = state.projectionRows(for: applied.changes)
        rows.movements = AccountMovements.rows(for: event, changes: applied.changes, state: state, seq: entry.seq, atMs: now)
        rows.subjects = LogSubjects.rows(for: event, changes: applied.changes, state: state, seq: entry.seq)
        logEntry(event, seq: entry.seq, subjects: rows.subjects)
        pending.projection.append(rows)
        uncheckpointed.append(entry)
        if uncheckpointed.count >= state.parameters.checkpointInterval {
            pending.checkpoints.append(LogCheckpoint.make(entries: uncheckpointed, signer: identity))
            uncheckpointed = []
        }
        for nodeId in nodesToWake { wakeOfferWaiters(nodeId) }
        for nodeId in applied.changes.nodesToStop { wakeOfferWaiters(nodeId) }
        switch event {
        case .challengesIssued(let issues):
            for issue in issues {
                challengeDraws.clear(issue.nodeId)
                wakeOfferWaiters(issue.nodeId)
            }
        case .challengeJudged(let verdict):
            challengeNoticedMs[verdict.challengeId] = nil
        default:
            break
        }
        startFlushing()
        return (entry.seq, applied)
    }

    /// Says what was logged, with the ids it concerns as metadata (`job`, `run`, `node`, `challenge`, …) so that
    /// logs can be searched by them: the milestones at info, the steps between them at debug.
    private func logEntry(_ event: LogEvent, seq: Int64, subjects: [SubjectRow]) {
        let kind = event.kindName
        let level: Logger.Level = Self.milestones.contains(kind) ? .info : .debug
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = ["seq": "\(seq)", "kind": "\(kind)"]
        for (key, ids) in LogSubjects.byRole(subjects.map(\.subject), nodes: state.nodes.keys.contains) {
            metadata[key] = .string(ids.joined(separator: ","))
        }
        logger.log(level: level, "logged", metadata: metadata)
    }

    private static let milestones: Set<String> = [
        "register_node", "submit_job", "cancel_job", "stake", "propose", "vote", "transfer", "verdict", "job_closed", "run_lost",
        "challenge_judged", "epoch_closed", "proposal_tallied", "arbitration_opened",
    ]

    /// The nodes a waiting long-poll should answer after decision `event`: a new offer's node, and every member's node
    /// of a gang that is offered or withdrawn. (Answers and reports that start or end a gang wake its nodes where they
    /// are admitted, which has their payload decoded already.)
    private func nodesToWake(by event: LogEvent) -> [String] {
        switch event {
        case .offer(_, let nodeId, _, _, _): return [nodeId]
        case .gangOffer(let offer): return offer.members.map(\.nodeId)
        case .offerLapsed(let runId), .runLost(let runId, _): return gangNodes(of: runId)
        default: return []
        }
    }

    /// Every member's node of `runId`'s gang; none for a run on one node.
    private func gangNodes(of runId: String) -> [String] {
        guard let run = state.runs[runId], run.rank != nil else { return [] }
        return state.gang(of: run).compactMap(\.nodeId)
    }

    private func startFlushing() {
        guard !flushing, !pending.isEmpty else { return }
        flushing = true
        Task { await self.flush() }
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = pending
            pending = PendingCommit()
            batchInFlight = true
            do {
                try await store.commit(entries: batch.entries, checkpoints: batch.checkpoints, projection: batch.projection, nonces: batch.nonces)
            } catch let error as LeadershipLost {
                // Another coordinator took the lead (this one's database session was gone long enough): it replays the
                // log as stored, without what this one queued, whose callers were never answered. Stop; a supervisor
                // starts this one again as a follower.
                logger.critical("deposed: \(error)")
                exit(Self.deposedExitCode)
            } catch {
                // The state in memory is ahead of the disk and cannot be rolled back safely. Stop rather than go on
                // from corrupt state; a restart replays the durable log, and no caller was told of the lost entries.
                logger.critical("log commit failed", metadata: ["error": "\(error)"])
                fatalError("crucible: the log could not be written: \(error)")
            }
            batchInFlight = false
            writtenBatches += 1
            let written = batchWaiters.filter { $0.batch <= writtenBatches }
            batchWaiters.removeAll { $0.batch <= writtenBatches }
            for waiter in written { waiter.continuation.resume() }
            guard let last = batch.entries.last else { continue }
            durableSeq = last.seq
            let ready = durabilityWaiters.filter { $0.seq <= durableSeq }
            durabilityWaiters.removeAll { $0.seq <= durableSeq }
            for waiter in ready { waiter.continuation.resume() }
        }
        flushing = false
    }

    /// Returns once the entry `seq` is on disk.
    func waitDurable(_ seq: Int64) async {
        guard seq > durableSeq else { return }
        await withCheckedContinuation { continuation in
            durabilityWaiters.append((seq, continuation))
        }
    }

    /// Waits for everything committed so far to be on disk, admitted nonces included, so the store can be closed.
    /// Only what is queued now is waited for: under load the flush task never runs dry.
    public func drain() async {
        await waitDurable(head?.seq ?? 0)
        // A batch in flight holds what was queued before it; what is queued now goes in the one after.
        let target = writtenBatches + (batchInFlight ? 1 : 0) + (pending.isEmpty ? 0 : 1)
        guard target > writtenBatches else { return }
        startFlushing()
        await withCheckedContinuation { continuation in batchWaiters.append((target, continuation)) }
    }

    public var logHead: Int64 { head?.seq ?? 0 }

    /// The coordinator's clock now, which every time-bound rule (offers, links, leases) is read against.
    public var nowMs: Int64 { clock() }

    // MARK: - Decisions

    /// Makes every decision that is due now: time-outs, sampling, verdicts, settlement, closing, offers.
    public func decide() {
        let now = clock()
        let online = onlineNodes(atMs: now)
        // A due time that finds its node offline or busy passes unused and the next is drawn: unannounced challenges
        // then arrive as a Poisson process over the node's online, idle time only, which is what lets each pass
        // stand for `meanIntervalMs` of proven availability in the epoch's emission.
        challengeDraws.advance(to: now)
        for nodeId in challengeDraws.due {
            if !online.contains(nodeId) || !state.isIdle(nodeId, atMs: now) { drawNextChallenge(for: nodeId) }
        }
        for _ in 0..<Self.decisionsPerPassMax {
            var scheduler = Scheduler(nowMs: now, onlineNodes: online, lastHeartbeatMs: lastHeartbeatMs, challengeDue: challengeDraws.due, seeds: seeds)
            // A search for an offer looks over every online node; one that found nothing is repeated only once the
            // state or the online set changed, or after a second (cool-downs and other times run out by the clock).
            let market = MarketMoment(stateRevision: state.revision, onlineRevision: sightings.revision)
            scheduler.searchesOffers = fruitlessOfferSearch.map { $0.moment != market || now - $0.atMs >= 1_000 } ?? true
            guard let decision = scheduler.nextDecision(in: state, using: &generator) else {
                if scheduler.searchesOffers { fruitlessOfferSearch = (market, now) }
                return
            }
            do {
                try commit(decision)
            } catch {
                logger.error("a scheduled decision was refused", metadata: ["decision": "\(decision.typeName)", "error": "\(error)"])
                return
            }
            if case .runLost(let runId, _) = decision { lastHeartbeatMs[runId] = nil }
            if case .challengeJudged(let verdict) = decision { afterJudging(verdict) }
        }
    }

    /// While leading: runs `decide` on a short period, prunes old nonces and checks the lead is still held. While
    /// following: reads what the leader writes and takes the lead when nobody holds it. Until the task is cancelled.
    public func runDecisionLoop(periodMs: Int = 250) async {
        var lastPruneMs: Int64 = 0
        var lastLeadCheckMs: Int64 = 0
        var lastSampleMs: Int64 = 0
        while !Task.isCancelled {
            let now = clock()
            if isLeader {
                decide()
                if now - lastSampleMs >= presenceSampleMs {
                    lastSampleMs = now
                    await samplePresence(atMs: now)
                }
                seenNonces.expire(before: now - 2 * state.parameters.timestampWindowMs)
                if now - lastPruneMs > 60_000 {
                    lastPruneMs = now
                    await pruneNonces(olderThanMs: now - 2 * state.parameters.timestampWindowMs)
                    try? await store.prunePresence(olderThanMs: now - Self.presenceKeptMs)
                }
                if store.isShared && now - lastLeadCheckMs >= Self.leadCheckPeriodMs {
                    lastLeadCheckMs = now
                    await keepLeadership()
                }
            } else {
                await follow()
            }
            try? await Task.sleep(for: .milliseconds(periodMs))
        }
    }

    /// Keeps how much is online and busy now, for utilization over time; a failed write loses one sample.
    private func samplePresence(atMs now: Int64) async {
        let online = onlineNodes(atMs: now)
        let sample = NetworkFigures(state: state, isOnline: online.contains).presenceSample(atMs: now)
        do {
            try await store.recordPresence(sample)
        } catch {
            logger.warning("a presence sample was not stored", metadata: ["error": "\(error)"])
        }
    }

    /// The presence samples the leader kept since `sinceMs`.
    public func presenceSamples(sinceMs: Int64) async throws -> [PresenceSample] {
        try await store.presenceSamples(sinceMs: sinceMs)
    }

    /// Why a job waits, by this coordinator's clock and the nodes it sees online now.
    public func whyWaiting(jobId: String) -> String? {
        let now = clock()
        return state.whyWaiting(jobId: jobId, onlineNodes: onlineNodes(atMs: now), atMs: now)
    }

    func onlineNodes(atMs now: Int64) -> Set<String> {
        sightings.expire(before: now - state.parameters.onlineWindowMs)
        return sightings.online
    }

    /// When the nodes named (all when nil) were last seen, read in one call for a view of many nodes.
    public func presence(of nodeIds: [String]? = nil) -> NodePresence {
        let lastSeen = nodeIds.map { ids in Dictionary(uniqueKeysWithValues: ids.compactMap { id in sightings.lastSeenMs[id].map { (id, $0) } }) }
        return NodePresence(nowMs: clock(), onlineWindowMs: state.parameters.onlineWindowMs, lastSeenMs: lastSeen ?? sightings.lastSeenMs)
    }

    func markSeen(_ nodeId: String) { sightings.see(nodeId, atMs: clock()) }

    // MARK: - Admission

    /// Checks an envelope before anything else looks at it: the kind the endpoint takes, the per-key rate, the time
    /// window and a nonce the signer never used (its signature was checked where it became a `VerifiedEnvelope`). A
    /// refusal changes nothing but the nonce record.
    func admit(_ envelope: VerifiedEnvelope, as kind: EnvelopeKind) throws {
        guard isLeader else { throw Self.notLeading }
        guard envelope.kind == kind else {
            throw CrucibleError(.wrongKind, "this endpoint takes \(kind.rawValue) envelopes, not \(envelope.kind.rawValue)")
        }
        let now = clock()
        // After the signature, so that nobody can spend another key's allowance; before the nonce, so that a refused
        // envelope may be sent again as it is.
        if let waitMs = rateLimiter?.take(envelope.signer, atMs: now), let limit = rateLimiter?.limit {
            let seconds = Int((waitMs + 999) / 1000)
            throw CrucibleError(
                .rateLimited,
                "this key sent more than \(limit.perSecond) signed requests a second (bursts of \(limit.burst)); send again in \(seconds) s",
                retryAfterS: seconds
            )
        }
        let window = state.parameters.timestampWindowMs
        guard abs(now - envelope.timestampMs) <= window else {
            throw CrucibleError(.staleTimestamp, "the envelope's timestamp is \((now - envelope.timestampMs) / 1000) s from the coordinator's clock; the window is ±\(window / 1000) s")
        }
        guard !seenNonces.contains(signer: envelope.signer, nonce: envelope.nonce) else {
            throw CrucibleError(.replayedNonce, "this signer already used nonce \(envelope.nonce)")
        }
        seenNonces.insert(signer: envelope.signer, nonce: envelope.nonce, timestampMs: envelope.timestampMs)
        pending.nonces.append(SeenNonce(signer: envelope.signer, nonce: envelope.nonce, timestampMs: envelope.timestampMs))
        startFlushing()
    }

    /// An envelope acting on the object a path names must name the same one in its signed payload.
    static func requireSameId(signed: String, path: String, of what: String) throws {
        guard signed == path else { throw CrucibleError(.malformed, "the signed \(what) id \(signed) differs from the path's \(path)") }
    }

    /// Forgets on disk the nonces too old for their envelopes to be accepted again (memory forgets them as it goes).
    func pruneNonces(olderThanMs cutoffMs: Int64) async {
        try? await store.pruneNonces(olderThanMs: cutoffMs)
    }

    /// Logs and applies an admitted envelope and `followers` (decisions it calls for that only this coordinator could
    /// compute, queued in the same batch), makes the decisions that follow from it, and returns once all of that is
    /// durable.
    func commitAdmitted(_ envelope: VerifiedEnvelope, followedBy followers: [LogEvent] = []) async throws -> NetworkState.Applied {
        let applied = try commit(.envelope(envelope.signed), admitted: true).applied
        for event in followers { try commit(event) }
        decide()
        await drain()
        return applied
    }

    // MARK: - Operations

    public func registerNode(_ envelope: VerifiedEnvelope) async throws -> NodeRecord {
        try admit(envelope, as: .registerNode)
        // Online from this moment, so the decisions that follow the registration can already use the node.
        markSeen(envelope.signer)
        _ = try await commitAdmitted(envelope)
        return state.nodes[envelope.signer]!
    }

    public func submitJob(_ envelope: VerifiedEnvelope) async throws -> JobRecord {
        try admit(envelope, as: .submitJob)
        let spec = try envelope.decodePayload(as: JobSubmission.self).spec
        let missing = try await store.missingBlobs(spec.inputs.map(\.sha256))
        if let first = missing.first, let input = spec.inputs.first(where: { $0.sha256 == first }) {
            throw CrucibleError(.invalidSpec, "input `\(input.name)` (\(first.prefix(12))…) was not uploaded; PUT it to /v1/blobs/\(first) first")
        }
        let applied = try await commitAdmitted(envelope)
        return state.jobs[applied.jobId!]!
    }

    public func cancelJob(_ jobId: String, _ envelope: VerifiedEnvelope) async throws -> JobRecord {
        try admit(envelope, as: .cancelJob)
        let payload = try envelope.decodePayload(as: JobCancellation.self)
        try Self.requireSameId(signed: payload.jobId, path: jobId, of: "job")
        _ = try await commitAdmitted(envelope)
        let job = try state.job(jobId)
        for runId in job.tasks.flatMap(\.runIds) where state.runs[runId]?.state != .running {
            lastHeartbeatMs[runId] = nil
        }
        return job
    }

    public func reviewFrames(_ jobId: String, _ envelope: VerifiedEnvelope) async throws -> JobRecord {
        try admit(envelope, as: .reviewFrames)
        let payload = try envelope.decodePayload(as: FrameReview.self)
        try Self.requireSameId(signed: payload.jobId, path: jobId, of: "job")
        _ = try await commitAdmitted(envelope)
        return try state.job(jobId)
    }

    public func respondOffer(_ envelope: VerifiedEnvelope) async throws -> RunRecord {
        try admit(envelope, as: .respondOffer)
        let response = try envelope.decodePayload(as: OfferResponse.self)
        // An acceptance sent again because the answer to the first was lost on the way: the run is already this
        // node's. It is answered as the first was and not logged again; the log keeps the one that counted.
        if response.accept, let run = state.runs[response.runId], run.nodeId == envelope.signer, run.state == .running, run.rank == nil {
            markSeen(envelope.signer)
            return run
        }
        // Read before the answer starts or withdraws the gang (a withdrawal takes the runs off their nodes).
        let members = gangNodes(of: response.runId)
        _ = try await commitAdmitted(envelope)
        for nodeId in members { wakeOfferWaiters(nodeId) }
        if response.accept { lastHeartbeatMs[response.runId] = clock() }
        markSeen(envelope.signer)
        return try state.run(response.runId)
    }

    public func reportResult(_ envelope: VerifiedEnvelope) async throws -> RunRecord {
        try admit(envelope, as: .reportResult)
        let report = try envelope.decodePayload(as: RunReport.self)
        let missing = try await store.missingBlobs(Array(Set(report.outputs.map(\.sha256))))
        if let first = missing.first {
            throw CrucibleError(.invalidSpec, "output \(first.prefix(12))… was not uploaded; PUT it to /v1/blobs/\(first) first")
        }
        let checks = try await cropChecks(for: report, by: envelope.signer)
        let members = gangNodes(of: report.runId)
        // The report and the comparisons its tiles called for are logged in one batch: no restart can leave a checked
        // frame without its comparison.
        _ = try await commitAdmitted(envelope, followedBy: checks.isEmpty ? [] : [.cropsCompared(checks)])
        for nodeId in members { wakeOfferWaiters(nodeId) }
        lastHeartbeatMs[report.runId] = nil
        logBytesByRun[report.runId] = nil
        markSeen(envelope.signer)
        return try state.run(report.runId)
    }

    /// What a poll returns: offers to answer, challenges to start, the cluster runs the node accepted (waiting for
    /// their peers, or started), and the runs the network ended that the node must stop.
    public struct Poll: Sendable {
        public var offers: [RunRecord]
        public var challenges: [ChallengeRecord]
        public var clusterRuns: [RunRecord]
        public var stop: [String]
    }

    /// Long-poll: answers at once with open offers and challenges for the node, or waits up to `waitMs` for one.
    public func pollOffers(_ envelope: VerifiedEnvelope) async throws -> Poll {
        try admit(envelope, as: .pollOffers)
        let poll = try envelope.decodePayload(as: OfferPoll.self)
        guard (0...OfferPoll.waitMsMax).contains(poll.waitMs) else {
            throw CrucibleError(.malformed, "waitMs must be between 0 and \(OfferPoll.waitMsMax)")
        }
        let awaiting = poll.awaitingRunIds ?? []
        guard awaiting.count <= OfferPoll.awaitingRunIdsMax else {
            throw CrucibleError(.tooLarge, "at most \(OfferPoll.awaitingRunIdsMax) awaited cluster runs per poll")
        }
        let nodeId = envelope.signer
        guard state.nodes[nodeId] != nil else { throw CrucibleError(.notFound, "node is not registered; register first") }
        markSeen(nodeId)
        decide()
        var offers = state.openOffers(for: nodeId, atMs: clock())
        // An awaited cluster run that started, or that is no longer this node's accepted offer, is news at once.
        let awaitedMoved = awaiting.contains { runId in
            guard let run = state.runs[runId], run.nodeId == nodeId, run.acceptedMs != nil else { return true }
            return run.state != .offered
        }
        let newStop = !runsToStop(on: nodeId).allSatisfy { stopsTold[nodeId]?.contains($0) == true }
        if offers.isEmpty && !awaitedMoved && !newStop && challengeNotices(for: nodeId).isEmpty && poll.waitMs > 0 && !isStopping && (offerWaiters[nodeId]?.count ?? 0) < Self.offerWaitersPerNodeMax {
            await waitForOffer(nodeId, timeoutMs: poll.waitMs)
            markSeen(nodeId)
            offers = state.openOffers(for: nodeId, atMs: clock())
        }
        await drain()
        let stop = runsToStop(on: nodeId)
        stopsTold[nodeId] = stop.isEmpty ? nil : Set(stop)
        return Poll(offers: offers, challenges: challengeNotices(for: nodeId), clusterRuns: state.acceptedGangRuns(for: nodeId), stop: stop)
    }

    /// The runs the network ended that `nodeId` has not reported gone.
    private func runsToStop(on nodeId: String) -> [String] {
        (state.unreleasedRunIdsByNode[nodeId] ?? []).sorted()
    }

    /// Records what a node measured to its peers (the latency matrix that places clusters).
    public func reportLinks(_ envelope: VerifiedEnvelope) async throws -> NodeRecord {
        try admit(envelope, as: .reportLinks)
        markSeen(envelope.signer)
        _ = try await commitAdmitted(envelope)
        guard let node = state.nodes[envelope.signer] else { throw CrucibleError(.notFound, "node is not registered; register first") }
        return node
    }

    /// Records a heartbeat; returns the runs the node must stop (cancelled, lost, or never leased to it).
    public func heartbeat(_ envelope: VerifiedEnvelope) async throws -> [String] {
        try admit(envelope, as: .heartbeat)
        let beat = try envelope.decodePayload(as: Heartbeat.self)
        guard beat.runIds.count <= 1024 else { throw CrucibleError(.tooLarge, "at most 1024 run ids per heartbeat") }
        let nodeId = envelope.signer
        guard state.nodes[nodeId] != nil else { throw CrucibleError(.notFound, "node is not registered; register first") }
        let now = clock()
        sightings.see(nodeId, atMs: now)
        var stop = [String]()
        for runId in beat.runIds {
            if let run = state.runs[runId], run.nodeId == nodeId, run.state == .running {
                lastHeartbeatMs[runId] = now
            } else {
                stop.append(runId)
            }
        }
        // No decision pass here: a heartbeat changes no state the scheduler waits on that the decision loop (every
        // 250 ms) would not see, and a pass looks over every node — at 20,000 nodes' heartbeats that was most of the
        // coordinator's CPU.
        return stop
    }

    /// Stores a chunk of a run's output log and returns the run's id. Not part of the hash chain: logs are for
    /// people, not for settlement.
    @discardableResult
    public func appendTaskLog(_ envelope: VerifiedEnvelope) async throws -> String {
        try admit(envelope, as: .appendTaskLog)
        let chunk = try envelope.decodePayload(as: TaskLogAppend.self)
        guard chunk.text.utf8.count <= TaskLogAppend.textBytesMax else {
            throw CrucibleError(.tooLarge, "a log chunk is at most \(TaskLogAppend.textBytesMax) bytes")
        }
        guard chunk.seq >= 0 else { throw CrucibleError(.malformed, "seq must not be negative") }
        let run = try state.run(chunk.runId)
        guard run.nodeId == envelope.signer else { throw CrucibleError(.forbidden, "run \(run.id) is not leased to this node") }
        // A run's log has a ceiling, counted as chunks arrive (read from the store once per run after a restart).
        if logBytesByRun[run.id] == nil {
            let stored = try await store.taskLogBytes(runId: run.id)
            if logBytesByRun[run.id] == nil { logBytesByRun[run.id] = stored }
        }
        let bytes = chunk.text.utf8.count
        guard logBytesByRun[run.id, default: 0] + bytes <= TaskLogAppend.runBytesMax else {
            throw CrucibleError(.tooLarge, "run \(run.id) sent its \(TaskLogAppend.runBytesMax >> 20) MiB of log; the rest is not kept")
        }
        logBytesByRun[run.id, default: 0] += bytes
        try await store.appendTaskLog(TaskLogRow(
            runId: run.id, seq: chunk.seq, jobId: run.jobId, taskIndex: run.taskIndex, text: chunk.text, receivedMs: clock()
        ))
        return run.id
    }

    // MARK: - Offer waiters

    private func waitForOffer(_ nodeId: String, timeoutMs: Int) async {
        let id = UUID()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            offerWaiters[nodeId, default: [:]][id] = continuation
            Task {
                try? await Task.sleep(for: .milliseconds(timeoutMs))
                self.resumeOfferWaiter(nodeId, id)
            }
        }
    }

    /// Ends every long-poll now and lets no new one wait: the server is shutting down.
    public func stopWaiting() {
        isStopping = true
        for nodeId in Array(offerWaiters.keys) { wakeOfferWaiters(nodeId) }
    }

    private func resumeOfferWaiter(_ nodeId: String, _ id: UUID) {
        offerWaiters[nodeId]?.removeValue(forKey: id)?.resume()
    }

    private func wakeOfferWaiters(_ nodeId: String) {
        guard let waiters = offerWaiters.removeValue(forKey: nodeId) else { return }
        for continuation in waiters.values { continuation.resume() }
    }

    // MARK: - Reads

    public func blob(_ sha256: String) async throws -> Data? {
        try await store.blob(sha256: sha256)
    }

    /// Stores content signed for by a registered node or an account that holds tokens, so that nobody can fill
    /// the store anonymously. The signed digest and size must be those of the bytes.
    public func putBlob(_ data: Data, sha256: String, envelope: VerifiedEnvelope) async throws {
        try admit(envelope, as: .putBlob)
        let upload = try envelope.decodePayload(as: BlobUpload.self)
        guard upload.sha256 == sha256, upload.sizeBytes == Int64(data.count) else {
            throw CrucibleError(.digestMismatch, "the signed upload names \(upload.sha256.prefix(12))… of \(upload.sizeBytes) bytes, not this content")
        }
        let signer = envelope.signer
        guard state.nodes[signer] != nil || state.ledger.balance(of: signer) > 0 || state.ledger.escrowed(by: signer) > 0 else {
            throw CrucibleError(.forbidden, "only registered nodes and accounts holding tokens may upload")
        }
        try await store.putBlob(sha256: sha256, data: data)
    }

    public func taskLogs(jobId: String, afterId: Int64, limit: Int) async throws -> [(Int64, TaskLogRow)] {
        try await store.taskLogs(jobId: jobId, afterId: afterId, limit: limit)
    }

    public func logEntries(afterSeq: Int64, limit: Int) async throws -> [LogEntry] {
        try await store.logEntries(afterSeq: afterSeq, limit: limit)
    }

    /// A page of the stored log: after a cursor oldest first, or before one newest first (and after `after`, when
    /// both are given); only the entries that concern `subject` when one is named.
    public func logEntries(concerning subject: String?, after: Int64, before: Int64?, limit: Int) async throws -> [LogEntry] {
        try await store.logPage(concerning: subject, afterSeq: after, beforeSeq: before, limit: limit)
    }

    public func checkpoints() async throws -> [LogCheckpoint] {
        try await store.checkpoints()
    }
}
