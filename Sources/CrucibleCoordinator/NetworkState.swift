import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation

/// The whole network's state as a pure function of the log: `apply` takes one event and either changes the
/// state or throws and leaves it untouched. The coordinator runs it live; `crucible audit` runs it on replay.
///
/// Every transition checks everything it needs before it changes anything, so a refusal leaves no trace
/// without `apply` having to copy the state first (a copy per event would make the coordinator quadratic).
public struct NetworkState: Sendable {
    public internal(set) var coordinator: String = ""
    public internal(set) var parameters = NetworkParameters()
    public internal(set) var ledger = LedgerState()
    public internal(set) var nodes: [String: NodeRecord] = [:]
    public internal(set) var jobs: [String: JobRecord] = [:]
    /// Job ids in submission order.
    public internal(set) var jobOrder: [String] = []
    /// Node ids in the order they first registered.
    public internal(set) var nodeOrder: [String] = []
    /// Tasks whose primary result is in and that wait for a sample draw, a replica or a verdict.
    public internal(set) var verifyingTasks: Set<TaskKey> = []
    /// Jobs whose tasks are all final but which are not closed yet.
    public internal(set) var closableJobs: Set<String> = []
    public internal(set) var runs: [String: RunRecord] = [:]
    /// Runs waiting for a node.
    public internal(set) var queuedRunIds: Set<String> = []
    /// Runs offered to or running on each node.
    public internal(set) var activeRunIdsByNode: [String: Set<String>] = [:]
    /// Runs the network ended while each node was running them and that the node has not reported gone
    /// (`RunRecord.unreleasedSinceMs`).
    public internal(set) var unreleasedRunIdsByNode: [String: Set<String>] = [:]
    /// Proof-of-GPU challenges by id, and those not judged yet.
    public internal(set) var challenges: [String: ChallengeRecord] = [:]
    public internal(set) var openChallengeIds: Set<String> = []
    var challengeCount = 0
    var proofQueues = ProofQueues()
    private var runOrdinal: Int64 = 0
    /// Node ids of each operator in registration order: its stake covers its nodes in this order.
    public internal(set) var nodeIdsByOperator: [String: [String]] = [:]
    /// For each node, the stake its operator needs to cover it and every node of theirs that registered before it.
    /// Derived from the nodes and the parameters, and kept so that a decision pass over 20,000 nodes of one operator
    /// need not sum their stakes again for each (`restack`).
    var stakeNeededThrough: [String: Int64] = [:]
    /// The open emission epoch and when it started.
    public internal(set) var epoch = 0
    public internal(set) var epochStartMs: Int64 = 0
    /// This epoch's verified work and proven availability per operator, in milli-TOPS-seconds.
    public internal(set) var epochWork: [String: Int64] = [:]
    public internal(set) var epochAvailability: [String: Int64] = [:]
    var burnedAtEpochStart: Int64 = 0
    public internal(set) var epochs: [EpochRecord] = []
    public internal(set) var slashes: [SlashRecord] = []
    public internal(set) var governance = Governance()
    /// Link measurements by reporting node, then by peer: the latency matrix cluster placement reads.
    public internal(set) var links: [String: [String: LinkMeasurement]] = [:]
    /// Disputed tasks per operator whose node ran one of their runs: stake cannot leave while one stands.
    public internal(set) var openDisputes: [String: Int] = [:]
    /// Frames under requester review, by content address, with the run that rendered each: the blob store does not
    /// hand them out until they are approved or paid for; the requester sees a watermarked preview meanwhile.
    public internal(set) var withheldFrames: [String: String] = [:]

    /// Events applied so far: whatever a decision depends on in the state is unchanged while this is.
    public private(set) var revision = 0

    public init() {}

    public var hasGenesis: Bool { ledger.hasGenesis }

    /// What one event changed, so only those projection rows are rewritten.
    public struct Changes: Sendable {
        public var ledger = LedgerState.Touched()
        public var nodes: Set<String> = []
        public var jobs: Set<String> = []
        public var runs: Set<String> = []
        /// Operators whose stake changed.
        public var stakes: Set<String> = []
        public var epochs: [Int] = []
        public var slashes: [String] = []
        public var proposals: Set<String> = []
        /// Proof-of-GPU challenges the event issued, moved or judged.
        public var challenges: Set<String> = []
        /// The treasury, staked or unbonding totals moved without any account's balance moving.
        public var totals = false
        /// Nodes that were running a run the event ended: they must stop it now.
        public var nodesToStop: Set<String> = []
    }

    /// The result of applying an event that callers may want: the job a submission created, for one.
    public struct Applied: Sendable {
        public var changes: Changes
        public var jobId: String?
    }

    /// `signatureVerified` skips checking an envelope's signature again when the caller has just done so on
    /// admission; a replay leaves it false, so a log cannot smuggle in a forgery.
    @discardableResult
    public mutating func apply(_ event: LogEvent, atMs nowMs: Int64, signatureVerified: Bool = false) throws -> Applied {
        var changes = Changes()
        var jobId: String?
        switch event {
        case .genesis(let genesis):
            try applyGenesis(genesis, atMs: nowMs, changes: &changes)
            // The totals start here, zero or not: a genesis that funds nobody still writes them.
            changes.totals = true
        case .envelope(let envelope):
            guard hasGenesis else { throw CrucibleError(.conflict, "no genesis yet") }
            if !signatureVerified { try envelope.verifySignature() }
            jobId = try applyEnvelope(envelope, atMs: nowMs, changes: &changes)
        default:
            guard hasGenesis else { throw CrucibleError(.conflict, "no genesis yet") }
            try applyDecision(event, atMs: nowMs, changes: &changes)
        }
        for id in changes.jobs { refreshJobState(id) }
        revision += 1
        return Applied(changes: changes, jobId: jobId)
    }

    private mutating func applyGenesis(_ genesis: LogEvent.Genesis, atMs nowMs: Int64, changes: inout Changes) throws {
        guard !hasGenesis else { throw CrucibleError(.conflict, "genesis happens once") }
        guard Address.isValid(genesis.coordinator) else { throw CrucibleError(.malformed, "genesis coordinator key is invalid") }
        try genesis.parameters.validate()
        changes.ledger.formUnion(try ledger.apply(.genesis(allocations: genesis.allocations)))
        coordinator = genesis.coordinator
        parameters = genesis.parameters
        restackAll()
        epochStartMs = nowMs
    }

    // MARK: - Shared transitions

    mutating func moveLedger(_ event: LedgerEvent, changes: inout Changes) throws {
        changes.ledger.formUnion(try ledger.apply(event))
    }

    mutating func createRun(
        jobId: String, taskIndex: Int, role: RunRecord.Role, attempt: Int, declinedBy: [String: Int64] = [:], excludedOperators: [String] = [],
        rank: Int? = nil, changes: inout Changes
    ) {
        runOrdinal += 1
        let id = RunRecord.makeId(jobId: jobId, taskIndex: taskIndex, role: role, attempt: attempt, rank: rank)
        precondition(runs[id] == nil, "run \(id) created twice")
        runs[id] = RunRecord(
            id: id, jobId: jobId, taskIndex: taskIndex, role: role, attempt: attempt, ordinal: runOrdinal,
            state: .queued, declinedBy: declinedBy, excludedOperators: excludedOperators, rank: rank
        )
        queuedRunIds.insert(id)
        jobs[jobId]!.tasks[taskIndex].runIds.append(id)
        changes.runs.insert(id)
        changes.jobs.insert(jobId)
    }

    /// Moves a run to `state`: every change of a run's state happens here, and a move the lifecycle does not allow
    /// (`RunRecord.State.mayMove`) stops the process — callers check their input first, so one is a bug. Keeps in step
    /// the queue, the per-node index, the offers that ended (with `reason`, also the run's failure) and the runs a node
    /// may still be running after the network ended them.
    mutating func setRunState(_ id: String, _ state: RunRecord.State, reason: String? = nil, atMs nowMs: Int64, changes: inout Changes) {
        guard var run = runs[id] else { return }
        precondition(run.state.mayMove(to: state), "run \(id) may not move from \(run.state.rawValue) to \(state.rawValue)")
        if let node = run.nodeId, run.state.isActive, !state.isActive {
            activeRunIdsByNode[node]?.remove(id)
        }
        if run.state == .queued { queuedRunIds.remove(id) }
        if state == .queued { queuedRunIds.insert(id) }
        if let node = run.nodeId, state.isActive, !run.state.isActive {
            activeRunIdsByNode[node, default: []].insert(id)
        }
        if let reason { run.failure = reason }
        switch (run.state, state) {
        case (.queued, .offered):
            run.offers += 1
        case (.offered, .queued), (.offered, .cancelled):
            if let node = run.nodeId {
                run.endedOffers.append(.init(offer: run.offers, nodeId: node, reason: reason ?? run.failure ?? state.rawValue))
                run.endedOffers.removeFirst(max(0, run.endedOffers.count - RunRecord.endedOffersKept))
            }
            if state == .queued {
                run.nodeId = nil
                run.gpuIndices = []
                run.offerDeadlineMs = nil
                run.priceMicroPerUnitHour = 0
                run.acceptedMs = nil
                run.peerPort = nil
            }
        case (.running, .cancelled), (.running, .lost):
            run.endedMs = run.endedMs ?? nowMs
            if let node = run.nodeId {
                run.unreleasedSinceMs = nowMs
                pruneReleased(on: node, atMs: nowMs)
                unreleasedRunIdsByNode[node, default: []].insert(id)
                changes.nodesToStop.insert(node)
            }
        default:
            break
        }
        run.state = state
        runs[id] = run
        changes.runs.insert(id)
        changes.jobs.insert(run.jobId)
    }

    /// The node reported a run the network had ended as gone: its capacity no longer counts it.
    mutating func release(_ runId: String, changes: inout Changes) {
        guard let run = runs[runId], run.unreleasedSinceMs != nil else { return }
        updateRun(runId) { $0.unreleasedSinceMs = nil }
        if let node = run.nodeId {
            unreleasedRunIdsByNode[node]?.remove(runId)
            if unreleasedRunIdsByNode[node]?.isEmpty == true { unreleasedRunIdsByNode[node] = nil }
        }
        changes.runs.insert(runId)
    }

    /// Forgets the runs `nodeId` never reported gone once `releaseWaitMs` has passed: its capacity stopped counting them.
    private mutating func pruneReleased(on nodeId: String, atMs nowMs: Int64) {
        for run in (unreleasedRunIdsByNode[nodeId] ?? []).compactMap({ runs[$0] }) where !isUnreleased(run, atMs: nowMs) {
            unreleasedRunIdsByNode[nodeId]?.remove(run.id)
        }
    }

    /// Whether `run` still counts against its node's capacity at `nowMs`.
    func isUnreleased(_ run: RunRecord, atMs nowMs: Int64) -> Bool {
        guard let since = run.unreleasedSinceMs else { return false }
        return nowMs - since < parameters.releaseWaitMs
    }

    /// Whether `nodeId` runs nothing at `nowMs`, as far as the network knows: nothing offered or running, and nothing
    /// ended that it may still be running. Only an idle node is challenged: a busy one would fail for its work.
    public func isIdle(_ nodeId: String, atMs nowMs: Int64) -> Bool {
        (activeRunIdsByNode[nodeId] ?? []).isEmpty && unreleasedRuns(on: nodeId, atMs: nowMs).isEmpty
    }

    /// The runs the network ended that `nodeId` may still be running at `nowMs`: its capacity counts them.
    public func unreleasedRuns(on nodeId: String, atMs nowMs: Int64) -> [RunRecord] {
        (unreleasedRunIdsByNode[nodeId] ?? []).compactMap { runs[$0] }.filter { isUnreleased($0, atMs: nowMs) }.sorted { $0.ordinal < $1.ordinal }
    }

    mutating func updateRun(_ id: String, _ body: (inout RunRecord) -> Void) {
        guard var run = runs[id] else { return }
        body(&run)
        runs[id] = run
    }

    /// Sets a task's state, keeping the scheduler's work lists in step.
    mutating func setTaskState(jobId: String, taskIndex: Int, _ state: TaskRecord.State, changes: inout Changes) {
        guard let job = jobs[jobId] else { return }
        jobs[jobId]!.tasks[taskIndex].state = state
        let key = TaskKey(jobPosition: job.position, jobId: jobId, index: taskIndex)
        if state == .verifying { verifyingTasks.insert(key) } else { verifyingTasks.remove(key) }
        if state.isFinal, !job.isClosed, jobs[jobId]!.tasks.allSatisfy({ $0.state.isFinal }) { closableJobs.insert(jobId) }
        changes.jobs.insert(jobId)
    }

    /// A run ended without a usable result: try again elsewhere, or fail the task when attempts are spent.
    mutating func retryOrFail(runId: String, atMs nowMs: Int64, changes: inout Changes) {
        guard let run = runs[runId], let job = jobs[run.jobId] else { return }
        let task = job.tasks[run.taskIndex]
        guard !task.state.isFinal else { return }
        if run.rank != nil {
            retryOrFailGang(of: run, atMs: nowMs, changes: &changes)
        } else if run.attempt < parameters.attemptsMax {
            var declined = run.declinedBy
            if let node = run.nodeId { declined[node] = nowMs }
            createRun(
                jobId: run.jobId, taskIndex: run.taskIndex, role: run.role, attempt: run.attempt + 1,
                declinedBy: declined, excludedOperators: run.excludedOperators, changes: &changes
            )
        } else if run.role == .arbiter {
            // No arbiter could finish: the disagreement stands, and the work that was done is not thrown away.
            jobs[run.jobId]!.tasks[run.taskIndex].arbiterWaived = true
            changes.jobs.insert(run.jobId)
        } else {
            setTaskState(jobId: run.jobId, taskIndex: run.taskIndex, .failed, changes: &changes)
        }
    }

    /// The job's display state follows from its tasks and runs.
    mutating func refreshJobState(_ id: String) {
        guard var job = jobs[id] else { return }
        if job.isClosed {
            job.state = job.cancelled ? .cancelled : .settled
        } else {
            let taskRuns = job.tasks.flatMap(\.runIds).compactMap { runs[$0] }
            if job.tasks.allSatisfy({ $0.state != .pending }) {
                job.state = .verifying
            } else if taskRuns.contains(where: { $0.state == .running || $0.state == .completed }) {
                job.state = .running
            } else if taskRuns.contains(where: { $0.state == .offered }) {
                job.state = .matched
            } else {
                job.state = .queued
            }
        }
        jobs[id] = job
    }

    // MARK: - Queries

    public func job(_ id: String) throws -> JobRecord {
        guard let job = jobs[id] else { throw CrucibleError(.notFound, "no job \(id)") }
        return job
    }

    public func run(_ id: String) throws -> RunRecord {
        guard let run = runs[id] else { throw CrucibleError(.notFound, "no run \(id)") }
        return run
    }

    /// Runs currently offered to `nodeId` whose deadline has not passed and that it has not accepted yet.
    public func openOffers(for nodeId: String, atMs nowMs: Int64) -> [RunRecord] {
        (activeRunIdsByNode[nodeId] ?? []).compactMap { runs[$0] }
            .filter { $0.state == .offered && $0.acceptedMs == nil && ($0.offerDeadlineMs ?? 0) >= nowMs }
            .sorted { $0.ordinal < $1.ordinal }
    }
}
