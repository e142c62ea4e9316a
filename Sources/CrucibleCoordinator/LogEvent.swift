import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation

/// The content of a log entry: an accepted signed input, or a decision the coordinator made.
/// Decisions carry everything needed to replay them, so replay never needs the clock, the network or randomness.
public enum LogEvent: Sendable, Equatable {
    case genesis(Genesis)
    case envelope(SignedEnvelope)
    /// A queued run is offered to a node at the node's ask.
    /// `gpus`: indices into the node's GPU list that the run holds (empty for CPU work, and in offers logged before
    /// per-GPU placement, when the state takes the first GPUs that fit).
    case offer(runId: String, nodeId: String, priceMicroPerUnitHour: Int64, deadlineMs: Int64, gpus: [Int] = [])
    /// Every member of a cluster task's gang offered at once, in rank order, each at its node's ask.
    case gangOffer(GangOffer)
    /// The node did not answer the offer in time; the run goes back to the queue (a gang member's whole gang does).
    case offerLapsed(runId: String)
    /// A running lease stopped heartbeating or overran; the run is lost and the task rescheduled.
    case runLost(runId: String, reason: String)
    /// Drawn after a primary result is in: does the task also run on another operator's node?
    /// `segment`: for a train task, which stretch between two of its checkpoints the validator re-runs (an index into
    /// the reference run's checkpoints: from that one to the next). `crops`: for a render task, the tiles of its frame
    /// the validator re-renders.
    case sampled(jobId: String, taskIndex: Int, replicate: Bool, segment: Int? = nil, crops: [FrameCrop]? = nil)
    /// A render task's checking runs' tiles compared with the pixels they check, by the coordinator, from the files
    /// the runs uploaded, when the checking run reported.
    case cropsCompared([CropCheck])
    /// A render frame's review period passed without the requester's answer: it is approved.
    case reviewLapsed(jobId: String, taskIndex: Int)
    /// No node of another operator took the replica within `replicaWaitMs`: the task settles on its primary alone.
    case replicaWaived(jobId: String, taskIndex: Int)
    /// Primary and replica disagree: a third run, under neither's operator, decides.
    case arbitrationOpened(jobId: String, taskIndex: Int)
    /// No node of a third operator took the arbiter run within `replicaWaitMs`: the dispute stands unresolved.
    case arbiterWaived(jobId: String, taskIndex: Int)
    /// The task's outcome and what it pays: each verified run its price × time, the fee burned.
    case verdict(TaskVerdict)
    /// All tasks are final: the rest of the escrow goes back to the requester.
    case jobClosed(jobId: String, refundMicro: Int64)
    /// Proof-of-GPU challenges issued at one instant (several when suspected duplicates are challenged together).
    case challengesIssued([ChallengeIssue])
    /// The node fetched its seeds: the clock runs from here, with the round trip measured since it was told.
    case challengeStarted(challengeId: String, roundTripMs: Int64)
    /// The rows to open, drawn after the commitment arrived: per device, (t, i) pairs.
    case challengeQueried(challengeId: String, queries: [[ChallengeVerifier.Query]])
    case challengeJudged(ChallengeVerdict)
    /// Challenges that were open when the coordinator stopped, withdrawn without a verdict: the nodes could not
    /// answer while it was down, so nobody is failed for it; they are challenged afresh.
    case challengesVoided(challengeIds: [String])
    /// An emission epoch ends: its mint, recomputed on replay from the epoch's work and challenges.
    case epochClosed(EpochClose)
    /// A proposal's voting period is over: its outcome follows from its votes.
    case proposalTallied(proposalId: String)

    public struct Genesis: Codable, Sendable, Equatable {
        public var coordinator: String
        public var parameters: NetworkParameters
        public var allocations: [LedgerEvent.Allocation]
        public init(coordinator: String, parameters: NetworkParameters, allocations: [LedgerEvent.Allocation]) {
            self.coordinator = coordinator
            self.parameters = parameters
            self.allocations = allocations
        }
    }

    /// What kind of entry it is, as people and the subject index name it: a signed input by its envelope kind
    /// (`submit_job`, `stake`, …), a decision by its type (`verdict`, `epoch_closed`, …).
    public var kindName: String {
        if case .envelope(let envelope) = self { return envelope.kind.rawValue }
        return typeName
    }

    public var typeName: String {
        switch self {
        case .genesis: "genesis"
        case .envelope: "envelope"
        case .offer: "offer"
        case .gangOffer: "gang_offer"
        case .offerLapsed: "offer_lapsed"
        case .runLost: "run_lost"
        case .sampled: "sampled"
        case .cropsCompared: "crops_compared"
        case .replicaWaived: "replica_waived"
        case .reviewLapsed: "review_lapsed"
        case .arbitrationOpened: "arbitration_opened"
        case .arbiterWaived: "arbiter_waived"
        case .verdict: "verdict"
        case .jobClosed: "job_closed"
        case .challengesIssued: "challenges_issued"
        case .challengeStarted: "challenge_started"
        case .challengeQueried: "challenge_queried"
        case .challengeJudged: "challenge_judged"
        case .challengesVoided: "challenges_voided"
        case .epochClosed: "epoch_closed"
        case .proposalTallied: "proposal_tallied"
        }
    }
}

/// One checking run's tiles against the pixels they check (proof of render).
public struct CropCheck: Codable, Sendable, Equatable {
    public var jobId: String
    public var taskIndex: Int
    /// The replica or arbiter that re-rendered the tiles.
    public var runId: String
    /// The run whose pixels they were compared with: the primary's frame, or (for an arbiter) the replica's tiles.
    public var againstRunId: String
    /// The tiles compared, as the task's sample drew them.
    public var crops: [FrameCrop]
    public var comparison: ProofOfRender.Comparison

    public init(jobId: String, taskIndex: Int, runId: String, againstRunId: String, crops: [FrameCrop], comparison: ProofOfRender.Comparison) {
        self.crops = crops
        self.jobId = jobId
        self.taskIndex = taskIndex
        self.runId = runId
        self.againstRunId = againstRunId
        self.comparison = comparison
    }
}

public struct TaskVerdict: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        case verified
        case disputed
    }

    public struct Payment: Codable, Sendable, Equatable {
        public var runId: String
        public var to: String
        public var amountMicro: Int64
        public var feeMicro: Int64
    }

    public var jobId: String
    public var taskIndex: Int
    public var outcome: Outcome
    public var payments: [Payment]
    /// The run whose output an arbiter outvoted: unpaid, and its operator slashed for failed work.
    public var losingRunId: String?

    public var feeMicro: Int64 { payments.reduce(0) { $0 + $1.feeMicro } }
    public var paidMicro: Int64 { payments.reduce(0) { $0 + $1.amountMicro } }
}

extension LogEvent: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, genesis, envelope, runId, nodeId, priceMicroPerUnitHour, deadlineMs, gpus, reason, jobId, taskIndex, replicate, verdict, refundMicro
        case challenges, challengeId, challengeIds, roundTripMs, queries, challengeVerdict, epochClose, proposalId, gangOffer, segment, crops, cropChecks
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(typeName, forKey: .type)
        switch self {
        case .genesis(let genesis):
            try container.encode(genesis, forKey: .genesis)
        case .envelope(let envelope):
            try container.encode(envelope, forKey: .envelope)
        case .offer(let runId, let nodeId, let price, let deadline, let gpus):
            try container.encode(runId, forKey: .runId)
            try container.encode(nodeId, forKey: .nodeId)
            try container.encode(price, forKey: .priceMicroPerUnitHour)
            try container.encode(deadline, forKey: .deadlineMs)
            if !gpus.isEmpty { try container.encode(gpus, forKey: .gpus) }
        case .gangOffer(let offer):
            try container.encode(offer, forKey: .gangOffer)
        case .offerLapsed(let runId):
            try container.encode(runId, forKey: .runId)
        case .runLost(let runId, let reason):
            try container.encode(runId, forKey: .runId)
            try container.encode(reason, forKey: .reason)
        case .sampled(let jobId, let taskIndex, let replicate, let segment, let crops):
            try container.encode(jobId, forKey: .jobId)
            try container.encode(taskIndex, forKey: .taskIndex)
            try container.encode(replicate, forKey: .replicate)
            try container.encodeIfPresent(segment, forKey: .segment)
            try container.encodeIfPresent(crops, forKey: .crops)
        case .cropsCompared(let checks):
            try container.encode(checks, forKey: .cropChecks)
        case .replicaWaived(let jobId, let taskIndex), .arbitrationOpened(let jobId, let taskIndex), .arbiterWaived(let jobId, let taskIndex),
             .reviewLapsed(let jobId, let taskIndex):
            try container.encode(jobId, forKey: .jobId)
            try container.encode(taskIndex, forKey: .taskIndex)
        case .verdict(let verdict):
            try container.encode(verdict, forKey: .verdict)
        case .jobClosed(let jobId, let refund):
            try container.encode(jobId, forKey: .jobId)
            try container.encode(refund, forKey: .refundMicro)
        case .challengesIssued(let issues):
            try container.encode(issues, forKey: .challenges)
        case .challengeStarted(let challengeId, let roundTripMs):
            try container.encode(challengeId, forKey: .challengeId)
            try container.encode(roundTripMs, forKey: .roundTripMs)
        case .challengeQueried(let challengeId, let queries):
            try container.encode(challengeId, forKey: .challengeId)
            try container.encode(queries, forKey: .queries)
        case .challengeJudged(let verdict):
            try container.encode(verdict, forKey: .challengeVerdict)
        case .challengesVoided(let ids):
            try container.encode(ids, forKey: .challengeIds)
        case .epochClosed(let close):
            try container.encode(close, forKey: .epochClose)
        case .proposalTallied(let proposalId):
            try container.encode(proposalId, forKey: .proposalId)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "genesis":
            self = .genesis(try container.decode(Genesis.self, forKey: .genesis))
        case "envelope":
            self = .envelope(try container.decode(SignedEnvelope.self, forKey: .envelope))
        case "offer":
            self = .offer(
                runId: try container.decode(String.self, forKey: .runId),
                nodeId: try container.decode(String.self, forKey: .nodeId),
                priceMicroPerUnitHour: try container.decode(Int64.self, forKey: .priceMicroPerUnitHour),
                deadlineMs: try container.decode(Int64.self, forKey: .deadlineMs),
                gpus: try container.decodeIfPresent([Int].self, forKey: .gpus) ?? []
            )
        case "gang_offer":
            self = .gangOffer(try container.decode(GangOffer.self, forKey: .gangOffer))
        case "offer_lapsed":
            self = .offerLapsed(runId: try container.decode(String.self, forKey: .runId))
        case "run_lost":
            self = .runLost(runId: try container.decode(String.self, forKey: .runId), reason: try container.decode(String.self, forKey: .reason))
        case "sampled":
            self = .sampled(
                jobId: try container.decode(String.self, forKey: .jobId),
                taskIndex: try container.decode(Int.self, forKey: .taskIndex),
                replicate: try container.decode(Bool.self, forKey: .replicate),
                segment: try container.decodeIfPresent(Int.self, forKey: .segment),
                crops: try container.decodeIfPresent([FrameCrop].self, forKey: .crops)
            )
        case "crops_compared":
            self = .cropsCompared(try container.decode([CropCheck].self, forKey: .cropChecks))
        case "replica_waived":
            self = .replicaWaived(jobId: try container.decode(String.self, forKey: .jobId), taskIndex: try container.decode(Int.self, forKey: .taskIndex))
        case "arbitration_opened":
            self = .arbitrationOpened(jobId: try container.decode(String.self, forKey: .jobId), taskIndex: try container.decode(Int.self, forKey: .taskIndex))
        case "review_lapsed":
            self = .reviewLapsed(jobId: try container.decode(String.self, forKey: .jobId), taskIndex: try container.decode(Int.self, forKey: .taskIndex))
        case "arbiter_waived":
            self = .arbiterWaived(jobId: try container.decode(String.self, forKey: .jobId), taskIndex: try container.decode(Int.self, forKey: .taskIndex))
        case "verdict":
            self = .verdict(try container.decode(TaskVerdict.self, forKey: .verdict))
        case "job_closed":
            self = .jobClosed(jobId: try container.decode(String.self, forKey: .jobId), refundMicro: try container.decode(Int64.self, forKey: .refundMicro))
        case "challenges_issued":
            self = .challengesIssued(try container.decode([ChallengeIssue].self, forKey: .challenges))
        case "challenge_started":
            self = .challengeStarted(
                challengeId: try container.decode(String.self, forKey: .challengeId),
                roundTripMs: try container.decode(Int64.self, forKey: .roundTripMs)
            )
        case "challenge_queried":
            self = .challengeQueried(
                challengeId: try container.decode(String.self, forKey: .challengeId),
                queries: try container.decode([[ChallengeVerifier.Query]].self, forKey: .queries)
            )
        case "challenge_judged":
            self = .challengeJudged(try container.decode(ChallengeVerdict.self, forKey: .challengeVerdict))
        case "challenges_voided":
            self = .challengesVoided(challengeIds: try container.decode([String].self, forKey: .challengeIds))
        case "epoch_closed":
            self = .epochClosed(try container.decode(EpochClose.self, forKey: .epochClose))
        case "proposal_tallied":
            self = .proposalTallied(proposalId: try container.decode(String.self, forKey: .proposalId))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown log event type \(type)")
        }
    }
}
