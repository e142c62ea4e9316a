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
            return contentHolds(record, verdict: verdict, openings: openings, seeds: seeds)
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
        return contentHolds(record, verdict: verdict, openings: openings, seeds: seeds) ? nil : "\(record.id): passed, yet a recomputed entry does not match"
    }

    private static func contentHolds(_ record: ChallengeRecord, verdict: ChallengeVerdict, openings: [[RowOpening]], seeds: [Data]) -> Bool {
        guard openings.count == record.queries.count, verdict.checks.count == record.queries.count else { return false }
        for device in record.queries.indices {
            guard let challenge = try? record.challenge(device: device, seed: seeds[device]),
                  let root = Data(hexString: record.roots[device]),
                  openings[device].count == record.queries[device].count
            else { return false }
            for (index, query) in record.queries[device].enumerated() {
                let columns = verdict.checks[device].indices.contains(index) ? verdict.checks[device][index].columns : []
                if ChallengeVerifier.check(openings[device][index], for: query, of: challenge, root: root, columns: columns) != nil { return false }
            }
        }
        return true
    }
}
