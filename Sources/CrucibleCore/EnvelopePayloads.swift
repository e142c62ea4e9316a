import Foundation

// The payload of each envelope kind. Each is small JSON; the coordinator checks every field before
// it touches state.

/// `register_node`: a node key announces its hardware, its rules and which operator wallet it earns for.
public struct NodeRegistration: Codable, Sendable, Equatable {
    public var operatorAddress: String
    /// The operator's signature over `authorizationBytes(node:)`, so nobody can enrol a node under another's wallet.
    public var operatorSignature: Data
    public var hardware: HardwareProfile
    public var policy: AgentPolicy
    public var region: String
    public var agentVersion: String
    /// `host:port` where peers reach this node's link probe; the host is also where cluster peers reach its runs.
    /// Nil: the node does not join clusters.
    public var peerEndpoint: String?
    /// What the node renders with ("Blender 3.4.1"); nil: it renders nothing. A check of a frame goes only to nodes with
    /// the frame's renderer, whose pixels can be compared exactly.
    public var renderer: String?

    public static let rendererBytesMax = 128

    public init(
        operatorAddress: String, operatorSignature: Data, hardware: HardwareProfile, policy: AgentPolicy, region: String, agentVersion: String,
        peerEndpoint: String? = nil, renderer: String? = nil
    ) {
        self.renderer = renderer
        self.operatorAddress = operatorAddress
        self.operatorSignature = operatorSignature
        self.hardware = hardware
        self.policy = policy
        self.region = region
        self.agentVersion = agentVersion
        self.peerEndpoint = peerEndpoint
    }

    /// The peer endpoint split into host and port, or nil when it is absent or not of the form `host:port`.
    public var peerHostPort: (host: String, port: Int)? {
        guard let peerEndpoint, let colon = peerEndpoint.lastIndex(of: ":") else { return nil }
        let host = String(peerEndpoint[..<colon])
        guard !host.isEmpty, let port = Int(peerEndpoint[peerEndpoint.index(after: colon)...]), (1...65_535).contains(port) else { return nil }
        return (host, port)
    }

    public static func authorizationBytes(node: String) -> Data {
        Data("crucible/operator-authorizes-node/v1\n\(node)".utf8)
    }

    /// Builds a registration signed off by `operatorIdentity` for the node `node`.
    public static func authorized(
        node: String, by operatorIdentity: SigningIdentity, hardware: HardwareProfile, policy: AgentPolicy,
        region: String, agentVersion: String, peerEndpoint: String? = nil, renderer: String? = nil
    ) -> NodeRegistration {
        NodeRegistration(
            operatorAddress: operatorIdentity.address,
            operatorSignature: operatorIdentity.sign(authorizationBytes(node: node)),
            hardware: hardware, policy: policy, region: region, agentVersion: agentVersion, peerEndpoint: peerEndpoint, renderer: renderer
        )
    }
}

/// `poll_offers`: the agent waits up to `waitMs` for offers addressed to it.
public struct OfferPoll: Codable, Sendable, Equatable {
    public var waitMs: Int
    /// Cluster runs the node accepted and waits to launch: the poll answers at once when one of them starts or is
    /// withdrawn, so every member launches within a round trip of the last acceptance.
    public var awaitingRunIds: [String]?

    public init(waitMs: Int, awaitingRunIds: [String]? = nil) {
        self.waitMs = waitMs
        self.awaitingRunIds = awaitingRunIds
    }

    public static let waitMsMax = 30_000
    public static let awaitingRunIdsMax = 64
}

/// `heartbeat`: the runs the agent is working on right now.
public struct Heartbeat: Codable, Sendable, Equatable {
    public var runIds: [String]
    public init(runIds: [String]) { self.runIds = runIds }
}

/// `respond_offer`: the agent's policy decision on one offer.
public struct OfferResponse: Codable, Sendable, Equatable {
    public var runId: String
    public var accept: Bool
    public var reason: String
    /// For a member of a cluster job: the port on the node's peer host where this member listens for its peers
    /// (rank 0's is the rendezvous). Required when accepting a cluster offer, absent otherwise.
    public var peerPort: Int?
    /// The number of the offer this answers (the offer's `offer`): a run may be offered again, to the same node or
    /// another, and an answer to an earlier offer must not be taken for one to the latest. Absent from older agents.
    public var offer: Int?

    public init(runId: String, accept: Bool, reason: String = "", peerPort: Int? = nil, offer: Int? = nil) {
        self.runId = runId
        self.accept = accept
        self.reason = reason
        self.peerPort = peerPort
        self.offer = offer
    }
}

/// `report_links`: what the node measured to other nodes' peer endpoints — round trip and bandwidth — from which the
/// coordinator keeps the latency matrix that cluster placement reads.
public struct LinkReport: Codable, Sendable, Equatable {
    public struct Link: Codable, Sendable, Equatable {
        /// The peer's node id.
        public var peer: String
        /// Median round trip of a one-byte exchange, in microseconds.
        public var roundTripUs: Int64
        /// Throughput of one bulk transfer to the peer, in megabits per second.
        public var bandwidthMbps: Int64

        public init(peer: String, roundTripUs: Int64, bandwidthMbps: Int64) {
            self.peer = peer
            self.roundTripUs = roundTripUs
            self.bandwidthMbps = bandwidthMbps
        }
    }

    public var links: [Link]
    public init(links: [Link]) { self.links = links }

    public static let linksMax = 256
    /// A minute: past that, a link is useless for a cluster, and the figure is refused as nonsense.
    public static let roundTripUsMax: Int64 = 60_000_000
    public static let bandwidthMbpsMax: Int64 = 10_000_000
}

/// A training run's weights at one step, as a digest: members of one data-parallel gang hold the same weights after
/// every step, so their digests must agree.
public struct TrainingCheckpoint: Codable, Sendable, Hashable {
    public var step: Int
    /// SHA-256 (hex) over the model's state: each tensor's name, dtype, shape and bytes, in name order.
    public var digest: String
    /// The weights projected on `fingerprintSize` fixed pseudo-random ±1 directions: two runs whose weights differ by
    /// float rounding give nearly the same numbers, runs that trained differently do not. What a validator's
    /// re-execution of a segment is compared on, within a tolerance.
    public var fingerprint: [Double]?

    public init(step: Int, digest: String, fingerprint: [Double]? = nil) {
        self.step = step
        self.digest = digest
        self.fingerprint = fingerprint
    }

    public static let countMax = 10_000
    public static let fingerprintSize = 16

    /// ‖a − b‖ / ‖b‖ of two fingerprints, or nil when either is missing or malformed.
    public static func deviation(_ candidate: [Double]?, from reference: [Double]?) -> Double? {
        guard let candidate, let reference, candidate.count == fingerprintSize, reference.count == fingerprintSize else { return nil }
        let difference = zip(candidate, reference).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let norm = reference.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        return difference / max(norm, 1e-12)
    }

    /// Steps rising, digests well formed, at most `countMax`.
    public static func validate(_ checkpoints: [TrainingCheckpoint]) throws {
        guard checkpoints.count <= countMax else { throw CrucibleError(.tooLarge, "at most \(countMax) checkpoints per run") }
        var previous = -1
        for checkpoint in checkpoints {
            guard checkpoint.step > previous else { throw CrucibleError(.malformed, "checkpoint steps must rise (step \(checkpoint.step) after \(previous))") }
            guard Digest.isValidHex(checkpoint.digest) else { throw CrucibleError(.malformed, "checkpoint \(checkpoint.step): the digest is not 64 hex digits") }
            if let fingerprint = checkpoint.fingerprint {
                guard fingerprint.count == fingerprintSize, fingerprint.allSatisfy(\.isFinite) else {
                    throw CrucibleError(.malformed, "checkpoint \(checkpoint.step): a fingerprint is \(fingerprintSize) finite numbers")
                }
            }
            previous = checkpoint.step
        }
    }
}

/// `report_result`: how a run ended and the content addresses of what it wrote.
public struct RunReport: Codable, Sendable, Equatable {
    public var runId: String
    public var exitCode: Int32
    public var outputs: [OutputFile]
    public var durationMs: Int64
    public var failure: String?
    /// A train run's checkpoints in step order; absent for other kinds.
    public var checkpoints: [TrainingCheckpoint]?

    public init(runId: String, exitCode: Int32, outputs: [OutputFile], durationMs: Int64, failure: String? = nil, checkpoints: [TrainingCheckpoint]? = nil) {
        self.runId = runId
        self.exitCode = exitCode
        self.outputs = outputs
        self.durationMs = durationMs
        self.failure = failure
        self.checkpoints = checkpoints
    }

    public static let outputCountMax = 1024
}

/// `append_task_log`: a chunk of a run's stdout and stderr, numbered so that the reader sees them in order.
public struct TaskLogAppend: Codable, Sendable, Equatable {
    public var runId: String
    public var seq: Int
    public var text: String
    public init(runId: String, seq: Int, text: String) {
        self.runId = runId
        self.seq = seq
        self.text = text
    }
    public static let textBytesMax = 64 * 1024
    /// What the coordinator keeps of one run's log; an agent forwards at most half of it (the rest stays on the node).
    public static let runBytesMax = 16 << 20
}

/// `submit_job`.
public struct JobSubmission: Codable, Sendable, Equatable {
    public var spec: JobSpec
    public init(spec: JobSpec) { self.spec = spec }
}

/// `put_blob`: the uploader vouches for content by its address and size.
public struct BlobUpload: Codable, Sendable, Equatable {
    public var sha256: String
    public var sizeBytes: Int64
    public init(sha256: String, sizeBytes: Int64) {
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
    }
}

/// `cancel_job`.
public struct JobCancellation: Codable, Sendable, Equatable {
    public var jobId: String
    public init(jobId: String) { self.jobId = jobId }
}

/// `review_frames`: the requester of a render job with review approves frames, or rejects them with a reason. A
/// rejected frame is rendered again on another operator's node and compared with it: the rejection is a dispute that
/// the re-render decides, never a silent loss for the node that rendered it.
public struct FrameReview: Codable, Sendable, Equatable {
    public struct Rejection: Codable, Sendable, Equatable {
        public var taskIndex: Int
        public var reason: String

        public init(taskIndex: Int, reason: String) {
            self.taskIndex = taskIndex
            self.reason = reason
        }
    }

    public var jobId: String
    /// Task indexes whose frames are approved.
    public var approve: [Int]
    public var reject: [Rejection]

    public init(jobId: String, approve: [Int] = [], reject: [Rejection] = []) {
        self.jobId = jobId
        self.approve = approve
        self.reject = reject
    }

    public static let reasonBytesMax = 512
}

/// `start_challenge`: the node asks for the seeds of a proof-of-GPU challenge issued to it; its clock starts now.
public struct ChallengeStart: Codable, Sendable, Equatable {
    public var challengeId: String
    public init(challengeId: String) { self.challengeId = challengeId }
}

/// `commit_challenge`: the Merkle root over every row hash of every product, one root per device, in the
/// order the challenge lists its devices (hex).
public struct ChallengeCommitment: Codable, Sendable, Equatable {
    public var challengeId: String
    public var roots: [String]
    public init(challengeId: String, roots: [String]) {
        self.challengeId = challengeId
        self.roots = roots
    }
}

/// `open_challenge`: the queried rows with their Merkle paths, uploaded first as a content-addressed blob
/// (JSON: per device, the openings in query order), so the log keeps their digest and anyone can recheck them.
public struct ChallengeOpenings: Codable, Sendable, Equatable {
    public var challengeId: String
    public var openingsSha256: String
    public init(challengeId: String, openingsSha256: String) {
        self.challengeId = challengeId
        self.openingsSha256 = openingsSha256
    }
}

/// `stake`, signed by an operator's wallet: bond tokens behind its devices, start unbonding them, or take back
/// what has finished unbonding (the amount of a withdrawal is whatever is released; send 0).
public struct StakeRequest: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        case bond, unbond, withdraw
    }

    public var action: Action
    public var amountMicro: Int64
    public init(action: Action, amountMicro: Int64) {
        self.action = action
        self.amountMicro = amountMicro
    }
}

/// `propose`, signed by a staker: change named parameters, pay grants from the treasury, or both, from the start of
/// `effectiveEpoch` if stake-weighted votes pass it.
public struct GovernanceProposal: Codable, Sendable, Equatable {
    public struct Change: Codable, Sendable, Equatable {
        /// A governed parameter's name, such as `feeBps` or `economy.emissionMicroPerEpoch`.
        public var name: String
        public var value: Int64
        public init(name: String, value: Int64) {
            self.name = name
            self.value = value
        }
    }

    public struct Grant: Codable, Sendable, Equatable {
        public var to: String
        public var amountMicro: Int64
        public init(to: String, amountMicro: Int64) {
            self.to = to
            self.amountMicro = amountMicro
        }
    }

    public var title: String
    public var rationale: String
    public var changes: [Change]
    public var grants: [Grant]
    public var effectiveEpoch: Int

    public init(title: String, rationale: String, changes: [Change], grants: [Grant], effectiveEpoch: Int) {
        self.title = title
        self.rationale = rationale
        self.changes = changes
        self.grants = grants
        self.effectiveEpoch = effectiveEpoch
    }
}

/// `vote`, signed by a staker, once per proposal, weighted by its stake at the proposal's snapshot.
public struct GovernanceVote: Codable, Sendable, Equatable {
    public enum Choice: String, Codable, Sendable, CaseIterable {
        case yes, no, abstain
    }

    public var proposalId: String
    public var choice: Choice
    public init(proposalId: String, choice: Choice) {
        self.proposalId = proposalId
        self.choice = choice
    }
}

/// `transfer`, signed by the sender's wallet: pay one or more addresses from its balance, all or none (a batch
/// pays many at the cost of one signature and one log entry).
public struct TokenTransfer: Codable, Sendable, Equatable {
    public struct Payment: Codable, Sendable, Equatable {
        public var to: String
        public var amountMicro: Int64
        public init(to: String, amountMicro: Int64) {
            self.to = to
            self.amountMicro = amountMicro
        }
    }

    public var payments: [Payment]
    /// A note for the recipients' history, at most 200 bytes.
    public var memo: String

    public static let paymentsMax = 1_000
    public static let memoBytesMax = 200

    public init(payments: [Payment], memo: String = "") {
        self.payments = payments
        self.memo = memo
    }

    public init(to: String, amountMicro: Int64, memo: String = "") {
        self.init(payments: [Payment(to: to, amountMicro: amountMicro)], memo: memo)
    }

    /// Checks the form of the transfer (the ledger checks the balance): addresses, positive amounts, a total that
    /// does not overflow.
    public func validate(from sender: String) throws -> Int64 {
        guard (1...Self.paymentsMax).contains(payments.count) else {
            throw CrucibleError(.malformed, "a transfer makes 1 to \(Self.paymentsMax) payments")
        }
        guard memo.utf8.count <= Self.memoBytesMax else { throw CrucibleError(.malformed, "memo is at most \(Self.memoBytesMax) bytes") }
        for (index, payment) in payments.enumerated() {
            guard Address.isValid(payment.to) else { throw CrucibleError(.malformed, "payment \(index): `to` is not a 64-hex-digit address") }
            guard payment.to != sender else { throw CrucibleError(.malformed, "payment \(index) pays the sender itself") }
            guard payment.amountMicro > 0 else { throw CrucibleError(.malformed, "payment \(index): amounts must be positive") }
        }
        guard let total = Amount.total(payments.map(\.amountMicro)) else { throw CrucibleError(.malformed, "the payments' total overflows") }
        return total
    }
}
