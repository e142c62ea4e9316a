import CrucibleCore
import CrucibleProof
import Foundation

/// The verdict on opened rows: each must be the queried one, in the commitment, and right at `entriesPerRow`
/// random columns recomputed from the generator. Pure, so tests and audits can run it as the coordinator does.
public enum ChallengeJudge {
    public static func judge(
        _ openings: [[RowOpening]], of record: ChallengeRecord, seeds: [Data], entriesPerRow: Int,
        using generator: inout some RandomNumberGenerator
    ) -> ChallengeVerdict {
        var checks = [[ChallengeVerdict.Check]]()
        var failure: String?
        for (device, (opened, queries)) in zip(openings, record.queries).enumerated() {
            var deviceChecks = [ChallengeVerdict.Check]()
            guard device < seeds.count, device < record.roots.count,
                  let challenge = try? record.challenge(device: device, seed: seeds[device]),
                  let root = Data(hexString: record.roots[device])
            else {
                failure = failure ?? "device \(device) has no valid challenge"
                checks.append([])
                continue
            }
            for (opening, query) in zip(opened, queries) {
                let columns = (0..<entriesPerRow).map { _ in Int.random(in: 0..<challenge.n, using: &generator) }
                deviceChecks.append(.init(t: query.t, i: query.i, columns: columns))
                if failure == nil, let problem = ChallengeVerifier.check(opening, for: query, of: challenge, root: root, columns: columns) {
                    failure = "device \(record.issue.devices[device].index): \(problem)"
                }
            }
            checks.append(deviceChecks)
        }
        if openings.count != record.queries.count { failure = failure ?? "openings for \(openings.count) devices, not \(record.queries.count)" }
        return ChallengeVerdict(
            challengeId: record.id, nodeId: record.nodeId, passed: failure == nil, reason: failure, computeMs: record.computeMs,
            deviceTops: record.achievedTops, checks: checks, seeds: seeds.map(\.hexString)
        )
    }
}
