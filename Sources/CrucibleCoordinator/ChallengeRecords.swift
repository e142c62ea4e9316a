import CrucibleCore
import CrucibleProof
import Foundation

/// One device a challenge tests: which GPU (or the CPU), the model it claims, and the challenge's size. The seed
/// is kept secret until the verdict, which reveals it; the issue carries only its SHA-256, so anyone can later
/// check that the revealed seed is the one fixed at issue.
public struct ChallengeDevice: Codable, Sendable, Equatable {
    /// The GPU's index on its machine; 0 for a CPU device.
    public var index: Int
    public var gpuUuid: String?
    public var model: String
    public var claimedTops: Double
    public var n: Int
    public var m: Int
    public var seedSha256: String

    public init(index: Int, gpuUuid: String?, model: String, claimedTops: Double, n: Int, m: Int, seedSha256: String) {
        self.index = index
        self.gpuUuid = gpuUuid
        self.model = model
        self.claimedTops = claimedTops
        self.n = n
        self.m = m
        self.seedSha256 = seedSha256
    }
}

/// A challenge issued to one node: one device each for its k GPUs (or its CPU), all at the same instant.
public struct ChallengeIssue: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable {
        /// The node registered (or changed its hardware) and has not proven it yet.
        case registration
        /// An unannounced re-challenge of a proven node.
        case scheduled
        /// The node failed earlier and gets another chance.
        case retry
        /// Another node reports one of the same GPUs: both are challenged at once.
        case duplicate
    }

    public var challengeId: String
    public var nodeId: String
    public var reason: Reason
    public var devices: [ChallengeDevice]
    /// Compute time allowed from the start, before the measured round trip is added: the slowest device's budget.
    public var budgetMs: Int64

    public init(challengeId: String, nodeId: String, reason: Reason, devices: [ChallengeDevice], budgetMs: Int64) {
        self.challengeId = challengeId
        self.nodeId = nodeId
        self.reason = reason
        self.devices = devices
        self.budgetMs = budgetMs
    }
}

/// The outcome of a challenge, with what anyone needs to recheck it: the revealed seeds, the entries recomputed.
public struct ChallengeVerdict: Codable, Sendable, Equatable {
    /// The columns recomputed in one opened row.
    public struct Check: Codable, Sendable, Equatable {
        public var t: Int
        public var i: Int
        public var columns: [Int]
        public init(t: Int, i: Int, columns: [Int]) {
            self.t = t
            self.i = i
            self.columns = columns
        }
    }

    public var challengeId: String
    public var nodeId: String
    public var passed: Bool
    /// Why it failed, for people.
    public var reason: String?
    /// Commit time less the start time less the credited round trip; nil when no commitment came.
    public var computeMs: Int64?
    /// Achieved INT8 TOPS per device; empty when no commitment came.
    public var deviceTops: [Double]
    /// Per device, the rows opened and the columns recomputed in each.
    public var checks: [[Check]]
    /// The seeds, revealed now that they can no longer help the node (hex).
    public var seeds: [String]

    public init(challengeId: String, nodeId: String, passed: Bool, reason: String?, computeMs: Int64?, deviceTops: [Double], checks: [[Check]], seeds: [String]) {
        self.challengeId = challengeId
        self.nodeId = nodeId
        self.passed = passed
        self.reason = reason
        self.computeMs = computeMs
        self.deviceTops = deviceTops
        self.checks = checks
        self.seeds = seeds
    }
}

/// A challenge as the network knows it: issued → started → committed → queried → opened → passed | failed.
public struct ChallengeRecord: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        case issued, started, committed, queried, opened, passed, failed
        /// Open when the coordinator stopped: its clock ran while nobody could answer, so it is withdrawn unjudged.
        case voided

        public var isOpen: Bool { self != .passed && self != .failed && self != .voided }
    }

    public var issue: ChallengeIssue
    public var issuedMs: Int64
    public var state: State = .issued
    public var startedMs: Int64?
    public var roundTripMs: Int64?
    /// When the commitment is due: start + budget + round trip.
    public var deadlineMs: Int64?
    public var committedMs: Int64?
    public var roots: [String] = []
    public var queries: [[ChallengeVerifier.Query]] = []
    public var queriedMs: Int64?
    public var openingsSha256: String?
    public var verdict: ChallengeVerdict?

    public var id: String { issue.challengeId }
    public var nodeId: String { issue.nodeId }

    /// Commit time less start time less the credited round trip: the time the devices computed.
    public var computeMs: Int64? {
        guard let started = startedMs, let committed = committedMs else { return nil }
        return max(committed - started - (roundTripMs ?? 0), 1)
    }

    /// INT8 TOPS each device showed, counting a multiply and an add per step as datasheets do.
    public var achievedTops: [Double] {
        guard let computeMs else { return [] }
        return issue.devices.map { 2 * Double($0.m) * pow(Double($0.n), 3) / (Double(computeMs) / 1000) / 1e12 }
    }

    /// The challenge a device was given, once its seed is known.
    public func challenge(device: Int, seed: Data) throws -> GPUChallenge {
        try GPUChallenge(seed: seed, n: issue.devices[device].n, m: issue.devices[device].m)
    }
}

/// What a node has proven about its hardware.
public struct NodeProof: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// A model the catalog does not know: listed, never scored, not matched.
        case unverified
        /// Registered, not proven yet.
        case pending
        case proven
        /// Its last challenge failed: not matched until it passes again.
        case failed
    }

    public var status: Status
    /// Achieved INT8 TOPS per device at the last passed challenge.
    public var deviceTops: [Double] = []
    public var passed = 0
    public var failed = 0
    public var consecutiveFailures = 0
    public var lastJudgedMs: Int64?
    public var openChallengeId: String?

    public var provenTops: Double { deviceTops.reduce(0, +) }
}
