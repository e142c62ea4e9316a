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
        let checks = zip(record.issue.devices, record.queries).map { device, queries in
            queries.map { query in
                ChallengeVerdict.Check(t: query.t, i: query.i, columns: (0..<entriesPerRow).map { _ in Int.random(in: 0..<device.n, using: &generator) })
            }
        }
        let failure = firstFailure(openings, of: record, seeds: seeds, checks: checks)
        return ChallengeVerdict(
            challengeId: record.id, nodeId: record.nodeId, passed: failure == nil, reason: failure, computeMs: record.computeMs,
            deviceTops: record.achievedTops, checks: checks, seeds: seeds.map(\.hexString)
        )
    }

    /// The first thing wrong with the openings at the given checks: a row that is not the queried one, not in the
    /// commitment, or wrong at a recomputed column. Nil when every check holds.
    static func firstFailure(_ openings: [[RowOpening]], of record: ChallengeRecord, seeds: [Data], checks: [[ChallengeVerdict.Check]]) -> String? {
        guard openings.count == record.queries.count else { return "openings for \(openings.count) devices, not \(record.queries.count)" }
        for (device, queries) in record.queries.enumerated() {
            guard device < seeds.count, device < record.roots.count, device < checks.count,
                  let challenge = try? record.challenge(device: device, seed: seeds[device]),
                  let root = Data(hexString: record.roots[device]),
                  openings[device].count == queries.count, checks[device].count == queries.count
            else { return "device \(device) has no valid challenge, openings or checks" }
            for (index, query) in queries.enumerated() {
                if let problem = ChallengeVerifier.check(openings[device][index], for: query, of: challenge, root: root, columns: checks[device][index].columns) {
                    return "device \(record.issue.devices[device].index): \(problem)"
                }
            }
        }
        return nil
    }
}

extension ChallengeJudge {
    /// Rechecks a logged verdict from what the log holds and the openings blob: the revealed seeds, the logged
    /// times, the committed roots, the queried rows and the columns the verdict says it recomputed. Returns what is
    /// wrong with the verdict, or nil when anyone can reach it again. `openings` is nil when none were uploaded.
    public static func recheck(_ record: ChallengeRecord, openings: [[RowOpening]]?, policy: ChallengePolicy) -> String? {
        guard let verdict = record.verdict else { return nil }
        let seeds = verdict.seeds.compactMap { Data(hexString: $0) }
        guard seeds.count == record.issue.devices.count else { return "\(record.id): the verdict does not reveal a seed per device" }
        guard verdict.passed else {
            // A failure is justified by time alone, or by an opening that does not hold.
            if record.state == .failed, record.openingsSha256 == nil { return nil }
            guard let openings else { return "\(record.id): failed on openings that are not in the store" }
            return firstFailure(openings, of: record, seeds: seeds, checks: verdict.checks) == nil
                ? "\(record.id): failed, yet every recomputed entry matches" : nil
        }
        guard let committed = record.committedMs, let deadline = record.deadlineMs, committed <= deadline else {
            return "\(record.id): passed without a commitment before the deadline"
        }
        let tops = record.achievedTops
        guard tops == verdict.deviceTops else { return "\(record.id): the verdict's TOPS are not the ones the logged times give" }
        for (device, achieved) in zip(record.issue.devices, tops) where achieved < policy.floorTops(claimedTops: device.claimedTops) {
            return "\(record.id): passed below the floor"
        }
        guard verdict.checks.map(\.count) == record.queries.map(\.count),
              zip(verdict.checks, record.queries).allSatisfy({ zip($0.0, $0.1).allSatisfy { $0.0.t == $0.1.t && $0.0.i == $0.1.i } }),
              verdict.checks.allSatisfy({ $0.allSatisfy { $0.columns.count == policy.entriesPerRow } })
        else { return "\(record.id): the verdict did not check the queried rows at \(policy.entriesPerRow) columns each" }
        guard let openings else { return "\(record.id): passed on openings that are not in the store" }
        return firstFailure(openings, of: record, seeds: seeds, checks: verdict.checks) == nil ? nil : "\(record.id): passed, yet a recomputed entry does not match"
    }
}
