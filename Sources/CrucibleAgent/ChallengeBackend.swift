import CrucibleCore
import CrucibleProof
import Foundation

/// A committed challenge on one device: the root, and any row with its Merkle path on demand.
public protocol ChallengeProof: Sendable {
    var root: Data { get }
    func open(t: Int, i: Int) async throws -> RowOpening
}

/// Computes a proof-of-GPU challenge on some device and commits to its rows. Every backend reproduces the same
/// generator, products and row hashes (pinned by the challenge test vectors), so the verifier does not care which
/// one answered; only the time it took differs.
public protocol ChallengeBackend: Sendable {
    /// For people: which device and how.
    var name: String { get }
    /// Proves `challenge` on device `device` (the GPU's index; 0 for the CPU); throws soon after the task is cancelled.
    func commit(_ challenge: GPUChallenge, device: Int) async throws -> any ChallengeProof
}

extension CPUChallengeSolver.Commitment: ChallengeProof {}

/// The Swift solver on all of this machine's cores: the backend of CPU nodes, tests and the devnet.
public struct CPUChallengeBackend: ChallengeBackend {
    public var cores: Int

    public init(cores: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.cores = cores
    }

    public var name: String { "CPU (Swift, \(cores) cores)" }

    public func commit(_ challenge: GPUChallenge, device: Int) async throws -> any ChallengeProof {
        try await CPUChallengeSolver.commit(challenge, cores: cores)
    }
}
