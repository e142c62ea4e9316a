/// The state tables: projections of the log, rewritten in the same transaction as the entries that change them.
/// Column names are the snake_case of the property names.
public struct AccountRow: Codable, Sendable, Equatable {
    public var address: String
    public var balanceMicro: Int64
    public init(address: String, balanceMicro: Int64) {
        self.address = address
        self.balanceMicro = balanceMicro
    }
}

public struct EscrowRow: Codable, Sendable, Equatable {
    public var jobId: String
    public var payer: String
    public var amountMicro: Int64
    public init(jobId: String, payer: String, amountMicro: Int64) {
        self.jobId = jobId
        self.payer = payer
        self.amountMicro = amountMicro
    }
}

/// Named ledger totals (genesis, minted, burned).
public struct TotalRow: Codable, Sendable, Equatable {
    public var name: String
    public var amountMicro: Int64
    public init(name: String, amountMicro: Int64) {
        self.name = name
        self.amountMicro = amountMicro
    }
}

public struct NodeRow: Codable, Sendable, Equatable {
    public var id: String
    public var operatorAddress: String
    public var region: String
    /// The registration payload as JSON.
    public var registration: String
    public var registeredMs: Int64
    public var runsDone: Int64
    public var earnedMicro: Int64
    public init(id: String, operatorAddress: String, region: String, registration: String, registeredMs: Int64, runsDone: Int64, earnedMicro: Int64) {
        self.id = id
        self.operatorAddress = operatorAddress
        self.region = region
        self.registration = registration
        self.registeredMs = registeredMs
        self.runsDone = runsDone
        self.earnedMicro = earnedMicro
    }
}

/// What a node has proven about its hardware (ARCHITECTURE §4): status, proven INT8 TOPS (in thousandths, to
/// keep the table exact), challenge counts.
public struct NodeProofRow: Codable, Sendable, Equatable {
    public var nodeId: String
    public var status: String
    public var provenMilliTops: Int64
    public var passed: Int
    public var failed: Int
    public var consecutiveFailures: Int
    public var lastJudgedMs: Int64?
    public var openChallengeId: String?

    public init(nodeId: String, status: String, provenMilliTops: Int64, passed: Int, failed: Int, consecutiveFailures: Int, lastJudgedMs: Int64?, openChallengeId: String?) {
        self.nodeId = nodeId
        self.status = status
        self.provenMilliTops = provenMilliTops
        self.passed = passed
        self.failed = failed
        self.consecutiveFailures = consecutiveFailures
        self.lastJudgedMs = lastJudgedMs
        self.openChallengeId = openChallengeId
    }
}

public struct JobRow: Codable, Sendable, Equatable {
    public var id: String
    public var requester: String
    public var name: String
    public var state: String
    /// The job spec as JSON.
    public var spec: String
    public var submittedMs: Int64
    public var closedMs: Int64?
    public var escrowLockedMicro: Int64
    public var paidMicro: Int64
    public var burnedMicro: Int64
    public var refundedMicro: Int64
    public init(
        id: String, requester: String, name: String, state: String, spec: String, submittedMs: Int64, closedMs: Int64?,
        escrowLockedMicro: Int64, paidMicro: Int64, burnedMicro: Int64, refundedMicro: Int64
    ) {
        self.id = id
        self.requester = requester
        self.name = name
        self.state = state
        self.spec = spec
        self.submittedMs = submittedMs
        self.closedMs = closedMs
        self.escrowLockedMicro = escrowLockedMicro
        self.paidMicro = paidMicro
        self.burnedMicro = burnedMicro
        self.refundedMicro = refundedMicro
    }
}

public struct TaskRow: Codable, Sendable, Equatable {
    /// "<jobId>/<index>"
    public var id: String
    public var jobId: String
    public var taskIndex: Int
    public var state: String
    public var digest: String?
    public init(id: String, jobId: String, taskIndex: Int, state: String, digest: String?) {
        self.id = id
        self.jobId = jobId
        self.taskIndex = taskIndex
        self.state = state
        self.digest = digest
    }
}

public struct RunRow: Codable, Sendable, Equatable {
    public var id: String
    public var jobId: String
    public var taskIndex: Int
    public var role: String
    public var attempt: Int
    public var state: String
    public var nodeId: String?
    public var priceMicroPerUnitHour: Int64
    public var startedMs: Int64?
    public var endedMs: Int64?
    public var exitCode: Int?
    public var digest: String?
    /// The run's outputs as JSON.
    public var outputs: String
    public var paidMicro: Int64
    public init(
        id: String, jobId: String, taskIndex: Int, role: String, attempt: Int, state: String, nodeId: String?,
        priceMicroPerUnitHour: Int64, startedMs: Int64?, endedMs: Int64?, exitCode: Int?, digest: String?, outputs: String, paidMicro: Int64
    ) {
        self.id = id
        self.jobId = jobId
        self.taskIndex = taskIndex
        self.role = role
        self.attempt = attempt
        self.state = state
        self.nodeId = nodeId
        self.priceMicroPerUnitHour = priceMicroPerUnitHour
        self.startedMs = startedMs
        self.endedMs = endedMs
        self.exitCode = exitCode
        self.digest = digest
        self.outputs = outputs
        self.paidMicro = paidMicro
    }
}

/// An operator's stake: bonded, and on its way out.
public struct StakeRow: Codable, Sendable, Equatable {
    public var address: String
    public var stakedMicro: Int64
    public var unbondingMicro: Int64
    public init(address: String, stakedMicro: Int64, unbondingMicro: Int64) {
        self.address = address
        self.stakedMicro = stakedMicro
        self.unbondingMicro = unbondingMicro
    }
}

/// A closed emission epoch's public figures; the emission's per-operator shares as JSON.
public struct EpochRow: Codable, Sendable, Equatable {
    public var epoch: Int
    public var startMs: Int64
    public var endMs: Int64
    public var mintedMicro: Int64
    public var burnedMicro: Int64
    public var treasuryMicro: Int64
    public var workWeight: Int64
    public var availabilityWeight: Int64
    public var emission: String
    public var enacted: String
    public init(
        epoch: Int, startMs: Int64, endMs: Int64, mintedMicro: Int64, burnedMicro: Int64, treasuryMicro: Int64, workWeight: Int64,
        availabilityWeight: Int64, emission: String, enacted: String
    ) {
        self.epoch = epoch
        self.startMs = startMs
        self.endMs = endMs
        self.mintedMicro = mintedMicro
        self.burnedMicro = burnedMicro
        self.treasuryMicro = treasuryMicro
        self.workWeight = workWeight
        self.availabilityWeight = availabilityWeight
        self.emission = emission
        self.enacted = enacted
    }
}

/// Stake taken for a proven fault, with the id of what proves it.
public struct SlashRow: Codable, Sendable, Equatable {
    public var id: String
    public var operatorAddress: String
    public var nodeId: String
    public var reason: String
    public var evidence: String
    public var amountMicro: Int64
    public var burnedMicro: Int64
    public var treasuryMicro: Int64
    public var reporter: String?
    public var atMs: Int64
    public init(
        id: String, operatorAddress: String, nodeId: String, reason: String, evidence: String, amountMicro: Int64, burnedMicro: Int64,
        treasuryMicro: Int64, reporter: String?, atMs: Int64
    ) {
        self.id = id
        self.operatorAddress = operatorAddress
        self.nodeId = nodeId
        self.reason = reason
        self.evidence = evidence
        self.amountMicro = amountMicro
        self.burnedMicro = burnedMicro
        self.treasuryMicro = treasuryMicro
        self.reporter = reporter
        self.atMs = atMs
    }
}

/// A governance proposal, its tally so far and its votes (JSON, voter to choice).
public struct ProposalRow: Codable, Sendable, Equatable {
    public var id: String
    public var proposer: String
    public var title: String
    public var status: String
    public var proposal: String
    public var submittedMs: Int64
    public var votingEndsMs: Int64
    public var effectiveEpoch: Int
    public var snapshotTotalMicro: Int64
    public var yesMicro: Int64
    public var noMicro: Int64
    public var abstainMicro: Int64
    public var votes: String
    public var note: String?
    public init(
        id: String, proposer: String, title: String, status: String, proposal: String, submittedMs: Int64, votingEndsMs: Int64,
        effectiveEpoch: Int, snapshotTotalMicro: Int64, yesMicro: Int64, noMicro: Int64, abstainMicro: Int64, votes: String, note: String?
    ) {
        self.id = id
        self.proposer = proposer
        self.title = title
        self.status = status
        self.proposal = proposal
        self.submittedMs = submittedMs
        self.votingEndsMs = votingEndsMs
        self.effectiveEpoch = effectiveEpoch
        self.snapshotTotalMicro = snapshotTotalMicro
        self.yesMicro = yesMicro
        self.noMicro = noMicro
        self.abstainMicro = abstainMicro
        self.votes = votes
        self.note = note
    }
}

/// One log entry's effect on one address: its balance and what it has at stake, with the balance after.
public struct MovementRow: Codable, Sendable, Equatable {
    public var seq: Int64
    public var address: String
    /// What moved it: genesis, transfer, escrow, payment, refund, stake, emission, slash.
    public var kind: String
    /// What it refers to: a job, a task, an epoch, a challenge, the other party.
    public var reference: String
    public var balanceDeltaMicro: Int64
    public var stakeDeltaMicro: Int64
    public var balanceMicro: Int64
    public var atMs: Int64
    public init(seq: Int64, address: String, kind: String, reference: String, balanceDeltaMicro: Int64, stakeDeltaMicro: Int64, balanceMicro: Int64, atMs: Int64) {
        self.seq = seq
        self.address = address
        self.kind = kind
        self.reference = reference
        self.balanceDeltaMicro = balanceDeltaMicro
        self.stakeDeltaMicro = stakeDeltaMicro
        self.balanceMicro = balanceMicro
        self.atMs = atMs
    }
}

/// One thing a log entry concerns — a node, job, run, challenge, proposal, epoch (`epoch-N`) or signer — so that
/// every figure can link to the entries it comes from.
public struct SubjectRow: Codable, Sendable, Equatable {
    public var subject: String
    public var seq: Int64
    public init(subject: String, seq: Int64) {
        self.subject = subject
        self.seq = seq
    }
}

/// Rows to write with a batch of log entries. Later rows for the same key replace earlier ones.
public struct ProjectionBatch: Sendable, Equatable {
    public var accounts: [AccountRow] = []
    public var escrows: [EscrowRow] = []
    public var closedEscrows: [String] = []
    public var totals: [TotalRow] = []
    public var nodes: [NodeRow] = []
    public var nodeProofs: [NodeProofRow] = []
    public var jobs: [JobRow] = []
    public var tasks: [TaskRow] = []
    public var runs: [RunRow] = []
    public var stakes: [StakeRow] = []
    /// Operators left with nothing staked or unbonding: their rows go.
    public var clearedStakes: [String] = []
    public var epochs: [EpochRow] = []
    public var slashes: [SlashRow] = []
    public var proposals: [ProposalRow] = []
    /// Appended, never rewritten: each belongs to one log entry.
    public var movements: [MovementRow] = []
    /// Appended, never rewritten, like movements.
    public var subjects: [SubjectRow] = []

    public init() {}

    public var isEmpty: Bool {
        accounts.isEmpty && escrows.isEmpty && closedEscrows.isEmpty && totals.isEmpty && nodes.isEmpty && nodeProofs.isEmpty
            && jobs.isEmpty && tasks.isEmpty && runs.isEmpty && stakes.isEmpty && clearedStakes.isEmpty && epochs.isEmpty
            && slashes.isEmpty && proposals.isEmpty && movements.isEmpty && subjects.isEmpty
    }

    public mutating func append(_ other: ProjectionBatch) {
        accounts += other.accounts
        escrows += other.escrows
        closedEscrows += other.closedEscrows
        totals += other.totals
        nodes += other.nodes
        nodeProofs += other.nodeProofs
        jobs += other.jobs
        tasks += other.tasks
        runs += other.runs
        // A later write for an operator wins, whether it rewrites its row or clears it.
        let rewritten = Set(other.stakes.map(\.address))
        let cleared = Set(other.clearedStakes)
        stakes = stakes.filter { !cleared.contains($0.address) } + other.stakes
        clearedStakes = clearedStakes.filter { !rewritten.contains($0) } + other.clearedStakes
        epochs += other.epochs
        slashes += other.slashes
        proposals += other.proposals
        movements += other.movements
        subjects += other.subjects
    }
}

/// Every state table at once, for the audit to compare with a replay.
public struct ProjectionSnapshot: Sendable, Equatable {
    public var accounts: [AccountRow]
    public var escrows: [EscrowRow]
    public var totals: [TotalRow]
    public var nodes: [NodeRow]
    public var nodeProofs: [NodeProofRow]
    public var jobs: [JobRow]
    public var tasks: [TaskRow]
    public var runs: [RunRow]
    public var stakes: [StakeRow]
    public var epochs: [EpochRow]
    public var slashes: [SlashRow]
    public var proposals: [ProposalRow]

    public init(
        accounts: [AccountRow], escrows: [EscrowRow], totals: [TotalRow], nodes: [NodeRow], nodeProofs: [NodeProofRow], jobs: [JobRow], tasks: [TaskRow],
        runs: [RunRow], stakes: [StakeRow], epochs: [EpochRow], slashes: [SlashRow], proposals: [ProposalRow]
    ) {
        self.stakes = stakes
        self.epochs = epochs
        self.slashes = slashes
        self.proposals = proposals
        self.accounts = accounts
        self.escrows = escrows
        self.totals = totals
        self.nodes = nodes
        self.nodeProofs = nodeProofs
        self.jobs = jobs
        self.tasks = tasks
        self.runs = runs
    }

    /// Sorted by key so two snapshots compare row by row.
    public func normalized() -> ProjectionSnapshot {
        ProjectionSnapshot(
            accounts: accounts.sorted { $0.address < $1.address },
            escrows: escrows.sorted { $0.jobId < $1.jobId },
            totals: totals.sorted { $0.name < $1.name },
            nodes: nodes.sorted { $0.id < $1.id },
            nodeProofs: nodeProofs.sorted { $0.nodeId < $1.nodeId },
            jobs: jobs.sorted { $0.id < $1.id },
            tasks: tasks.sorted { $0.id < $1.id },
            runs: runs.sorted { $0.id < $1.id },
            stakes: stakes.sorted { $0.address < $1.address },
            epochs: epochs.sorted { $0.epoch < $1.epoch },
            slashes: slashes.sorted { $0.id < $1.id },
            proposals: proposals.sorted { $0.id < $1.id }
        )
    }
}

/// A chunk of a run's output log as stored.
public struct TaskLogRow: Codable, Sendable, Equatable {
    public var runId: String
    public var seq: Int
    public var jobId: String
    public var taskIndex: Int
    public var text: String
    public var receivedMs: Int64
    public init(runId: String, seq: Int, jobId: String, taskIndex: Int, text: String, receivedMs: Int64) {
        self.runId = runId
        self.seq = seq
        self.jobId = jobId
        self.taskIndex = taskIndex
        self.text = text
        self.receivedMs = receivedMs
    }
}
