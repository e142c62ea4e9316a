import CrucibleCore
import Foundation

/// The coordinator's secret source of challenge seeds: a seed is derived from the coordinator's key and the
/// challenge and device, so it is unpredictable to everyone else, the same after a restart, and revealed only in
/// the verdict. The issue publishes its SHA-256, which binds the coordinator to it before the node answers.
public struct ChallengeSeeds: Sendable {
    let identity: SigningIdentity

    public init(identity: SigningIdentity) {
        self.identity = identity
    }

    public func seed(challengeId: String, device: Int) -> Data {
        identity.derivedSecret(purpose: "crucible/challenge-seed/v1", message: Data("\(challengeId)/\(device)".utf8))
    }

    public func seeds(for issue: ChallengeIssue) -> [Data] {
        issue.devices.indices.map { seed(challengeId: issue.challengeId, device: $0) }
    }
}
