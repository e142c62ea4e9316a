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
