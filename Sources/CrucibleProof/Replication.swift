import CrucibleCore

/// Proof of work by replication (ARCHITECTURE §5): a sampled share of tasks runs again on a node of another
/// operator and the two output manifests must agree exactly.
public enum Replication {
    /// Draws whether a finished task is re-run. The draw happens only after the primary result is in, so the
    /// node cannot know while working which of its tasks will be checked.
    public static func shouldReplicate(samplePpm: Int, using generator: inout some RandomNumberGenerator) -> Bool {
        guard samplePpm > 0 else { return false }
        guard samplePpm < 1_000_000 else { return true }
        return Int.random(in: 0..<1_000_000, using: &generator) < samplePpm
    }

    public enum Verdict: String, Codable, Sendable, Equatable {
        case match
        case mismatch
    }

    /// Compares two runs' manifest digests (see `OutputFile.manifestDigest`).
    public static func compare(primaryDigest: String, replicaDigest: String) -> Verdict {
        primaryDigest == replicaDigest ? .match : .mismatch
    }
}

/// Adaptive replication (BOINC's, with a warm-up and a floor): a node's results are all re-run until it has
/// `warmupVerified` verified by a replica in a row, then each with probability 1/streak, never below `floorPpm`. Trust
/// is slow to earn — only a replicated result that matched counts, an unchecked one is no evidence — and fast to lose:
/// a result found wrong sets the streak back to zero.
public struct AdaptiveReplication: Codable, Sendable, Equatable {
    public var warmupVerified: Int64
    public var floorPpm: Int64

    public init(warmupVerified: Int64 = 50, floorPpm: Int64 = 10_000) {
        self.warmupVerified = warmupVerified
        self.floorPpm = floorPpm
    }

    /// BOINC's rule as published: trusted with probability 1 − 1/CV once CV ≥ 10, no other floor.
    public static let boinc = AdaptiveReplication(warmupVerified: 10, floorPpm: 0)

    /// The chance, in parts per million, that a result of a node with `streak` verified results in a row is re-run.
    public func samplePpm(streak: Int64) -> Int {
        guard streak >= warmupVerified, streak > 0 else { return 1_000_000 }
        return Int(max(floorPpm, 1_000_000 / streak))
    }

    public func validate() throws {
        guard (0...1_000_000).contains(warmupVerified) else { throw CrucibleError(.malformed, "adaptive.warmupVerified must be between 0 and 1000000") }
        guard (1...1_000_000).contains(floorPpm) else { throw CrucibleError(.malformed, "adaptive.floorPpm must be above 0 and at most 1000000: the rate never reaches zero") }
    }
}
