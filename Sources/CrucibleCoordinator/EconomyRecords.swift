import CrucibleCore
import CrucibleLedger

/// The close of an emission epoch as the coordinator decides it: which epoch, when it ended, and what it mints.
/// `apply` recomputes the emission from the epoch's logged work and challenges and refuses any other.
public struct EpochClose: Codable, Sendable, Equatable {
    public var epoch: Int
    public var endMs: Int64
    public var emission: EpochEmission

    public init(epoch: Int, endMs: Int64, emission: EpochEmission) {
        self.epoch = epoch
        self.endMs = endMs
        self.emission = emission
    }
}

/// A closed epoch's public figures (ARCHITECTURE §8): minted, burned, the net change of supply, and the weights the
/// emission was shared by.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var startMs: Int64
    public var endMs: Int64
    public var emission: EpochEmission
    /// Burned during the epoch: protocol fees and slashes.
    public var burnedMicro: Int64
    /// Verified work and proven availability, in milli-TOPS-seconds, summed over operators before damping.
    public var workWeight: Int64
    public var availabilityWeight: Int64
    /// Proposals that took effect when this epoch closed.
    public var enacted: [String]

    public var mintedMicro: Int64 { emission.totalMicro }
    public var netSupplyChangeMicro: Int64 { mintedMicro - burnedMicro }
}

/// Stake taken for a proven fault, with what proves it.
public struct SlashRecord: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable {
        /// The node's openings did not match what it committed to or what the matrices give: forged work.
        case spoofedHardware = "spoofed_hardware"
        /// The node's work failed verification and it lost the dispute.
        case failedWork = "failed_work"
    }

    public var id: String
    public var operatorAddress: String
    public var nodeId: String
    public var reason: Reason
    /// Where the proof lies: a challenge id (its verdict, seeds and openings blob), or a task.
    public var evidence: String
    public var amountMicro: Int64
    public var burnedMicro: Int64
    public var treasuryMicro: Int64
    public var reporter: String?
    public var atMs: Int64

    public var reporterMicro: Int64 { amountMicro - burnedMicro - treasuryMicro }
}
