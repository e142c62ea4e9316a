import CrucibleCore
import CrucibleProof

/// A registered node as the network knows it.
public struct NodeRecord: Sendable, Equatable {
    public var id: String
    /// Its place in registration order (`NetworkState.nodeOrder`), for paging the node list.
    public var position: Int
    public var registration: NodeRegistration
    public var registeredMs: Int64
    public var runsDone: Int64
    public var earnedMicro: Int64
    /// What the node has proven about its hardware.
    public var proof: NodeProof
    /// Results in a row that a replica verified; a result found wrong sets it to zero. Adaptive replication samples
    /// the node's work by it.
    public var verifiedStreak: Int64 = 0
}

/// One run of one task on one node: the unit the market matches and the ledger pays.
public struct RunRecord: Sendable, Equatable {
    public enum Role: String, Sendable, Codable {
        case primary
        case replica
        /// A third run, on a third operator's node, that decides between a primary and a replica that disagree.
        case arbiter
    }

    /// queued → offered → running → completed | failed | lost; an offer that ends without a start goes back to the
    /// queue; cancelled from any open state.
    public enum State: String, Sendable, Codable {
        case queued, offered, running, completed, failed, lost, cancelled

        public var isOpen: Bool { self == .queued || self == .offered || self == .running }
        /// Holding a node's capacity.
        public var isActive: Bool { self == .offered || self == .running }

        /// Whether a run in this state may move to `next`: every transition `NetworkState.setRunState` makes.
        public func mayMove(to next: Self) -> Bool {
            switch (self, next) {
            case (.queued, .offered), (.offered, .queued), (.offered, .running), (.running, .completed), (.running, .failed), (.running, .lost):
                true
            case (_, .cancelled):
                isOpen
            default:
                false
            }
        }
    }

    /// An offer of this run that ended without the run starting on its node: declined, lapsed, withdrawn with its
    /// gang, or cancelled. Kept so that an answer arriving after it is told what became of the offer.
    public struct EndedOffer: Sendable, Equatable {
        public var offer: Int
        public var nodeId: String
        public var reason: String
    }

    public var id: String
    public var jobId: String
    public var taskIndex: Int
    public var role: Role
    public var attempt: Int
    /// Creation order, so the queue is served first come, first served.
    public var ordinal: Int64
    public var state: State
    public var nodeId: String?
    public var priceMicroPerUnitHour: Int64 = 0
    /// The node's GPUs (indices into its registration's list) this run holds while offered or running.
    public var gpuIndices: [Int] = []
    public var offerDeadlineMs: Int64?
    public var startedMs: Int64?
    public var endedMs: Int64?
    public var exitCode: Int32?
    public var outputs: [OutputFile] = []
    public var digest: String?
    public var failure: String?
    public var paidMicro: Int64 = 0
    /// Nodes that refused, ignored or lost this run, with when: it is not offered to them again for
    /// `NetworkParameters.declineCooldownMs` (a busy node may have room later).
    public var declinedBy: [String: Int64] = [:]

    /// Nodes this run may not be offered to at `nowMs`.
    public func excludedNodes(atMs nowMs: Int64, cooldownMs: Int64) -> Set<String> {
        Set(declinedBy.filter { nowMs - $0.value < cooldownMs }.keys)
    }
    /// The operators whose work a replica or an arbiter checks; it must run under another.
    public var excludedOperators: [String] = []
    /// A member of a cluster job's gang: its rank (0 hosts the rendezvous). Nil for a run on one node.
    public var rank: Int?
    /// When this gang member's node accepted, and the port its peers reach it on; the gang starts when every
    /// member has accepted.
    public var acceptedMs: Int64?
    public var peerPort: Int?
    /// How many times this run was offered: while it is offered, the number of the open offer, which the node's
    /// answer names (an answer to an earlier offer is not taken for one to this).
    public var offers: Int = 0
    /// The latest offers that ended without the run starting (at most `endedOffersKept`), newest last.
    public var endedOffers: [EndedOffer] = []
    public static let endedOffersKept = 8
    /// When the network ended this run while its node was running it (cancelled, or lost to silence): the node may
    /// still be running it, so its capacity counts the run until the node reports it gone, or for
    /// `NetworkParameters.releaseWaitMs` when it says nothing. Nil for every other run.
    public var unreleasedSinceMs: Int64?
    /// What a train run reported of its weights, step by step.
    public var checkpoints: [TrainingCheckpoint] = []

    public static func makeId(jobId: String, taskIndex: Int, role: Role, attempt: Int, rank: Int? = nil) -> String {
        "\(jobId).\(taskIndex).\(role == .primary ? "p" : role == .replica ? "r" : "a")\(attempt)" + (rank.map { ".m\($0)" } ?? "")
    }
}

/// A task by job and index; ordered by the job's place in submission order, then index.
public struct TaskKey: Hashable, Sendable, Comparable {
    public var jobPosition: Int
    public var jobId: String
    public var index: Int

    public static func < (lhs: TaskKey, rhs: TaskKey) -> Bool {
        (lhs.jobPosition, lhs.index) < (rhs.jobPosition, rhs.index)
    }
}

/// One task of a job, by index.
public struct TaskRecord: Sendable, Equatable {
    /// pending → verifying → verified | disputed; failed when its runs ran out of attempts; cancelled with its job.
    public enum State: String, Sendable, Codable {
        case pending, verifying, verified, disputed, failed, cancelled

        public var isFinal: Bool { self == .verified || self == .disputed || self == .failed || self == .cancelled }
    }

    public var index: Int
    public var state: State
    /// Runs in creation order.
    public var runIds: [String]
    /// Decided once the primary result is in; nil before. Set back to false when a replica is waived.
    public var replicate: Bool?
    /// When the sample was drawn, from which a replica's wait for a node is measured.
    public var sampledMs: Int64?
    /// When primary and replica disagreed and an arbiter run was created, from which its wait is measured.
    public var arbitrationMs: Int64?
    /// No node of a third operator took the arbiter run in time (or it failed): the dispute stands unresolved.
    public var arbiterWaived = false
    /// The verified manifest digest.
    public var digest: String?
    /// A train task's sampled segment: the validator resumes from the reference run's state at the first step and
    /// re-runs to the second.
    public var segmentFromStep: Int?
    public var segmentToStep: Int?
    /// A render task's sampled tiles, which its replica (and any arbiter) re-renders, and how each run's compared.
    public var crops: [FrameCrop] = []
    public var cropChecks: [CropCheck] = []
    /// Requester review: when the current frame was approved (by the requester, or by its review period lapsing), and
    /// every frame the requester rejected.
    public var approvedMs: Int64?
    public var autoApproved = false
    public var rejections: [FrameRejection] = []
}

/// A frame its requester rejected, with why: the dispute its re-render on another operator's node decides.
public struct FrameRejection: Codable, Sendable, Equatable {
    public var runId: String
    public var reason: String
    public var atMs: Int64
}

public struct JobRecord: Sendable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case queued, matched, running, verifying, settled, cancelled
    }

    public var id: String
    /// Place in submission order.
    public var position: Int
    public var requester: String
    public var spec: JobSpec
    public var submittedMs: Int64
    public var state: State
    public var cancelled: Bool
    public var closedMs: Int64?
    public var escrowLockedMicro: Int64
    public var paidMicro: Int64 = 0
    public var burnedMicro: Int64 = 0
    public var refundedMicro: Int64 = 0
    public var tasks: [TaskRecord]

    public var isClosed: Bool { closedMs != nil }

    /// A job's id follows from the envelope that submitted it, so replay gives the same id.
    public static func makeId(signer: String, nonce: String) -> String {
        "job-" + String(Digest.sha256Hex("\(signer)/\(nonce)").prefix(16))
    }
}
