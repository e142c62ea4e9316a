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

    public init() {}

    public var isEmpty: Bool {
        accounts.isEmpty && escrows.isEmpty && closedEscrows.isEmpty && totals.isEmpty && nodes.isEmpty && nodeProofs.isEmpty
            && jobs.isEmpty && tasks.isEmpty && runs.isEmpty
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

    public init(accounts: [AccountRow], escrows: [EscrowRow], totals: [TotalRow], nodes: [NodeRow], nodeProofs: [NodeProofRow], jobs: [JobRow], tasks: [TaskRow], runs: [RunRow]) {
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
            runs: runs.sorted { $0.id < $1.id }
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
