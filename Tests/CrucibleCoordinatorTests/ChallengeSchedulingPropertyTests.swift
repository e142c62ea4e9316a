import CrucibleCoordinator
import CrucibleCore
import CrucibleProof
import CrucibleTestSupport
import Foundation
import Testing

/// The challenge scheduler reads queues kept alongside the state instead of scanning every open challenge and every
/// node. Random walks of registrations, re-registrations, starts, voids, time and nodes coming and going check each
/// of its decisions against the rule written out plainly over the whole state.
@Suite struct ChallengeSchedulingPropertyTests {
    let base = ChallengeStateTests()

    /// What the scheduler must decide about proof of GPU, computed from every challenge and every node.
    func expected(_ state: NetworkState, atMs now: Int64, online: Set<String>) -> [String] {
        let policy = state.parameters.challenges
        let open = state.openChallengeIds.sorted(by: Scheduler.challengeOrder).compactMap { state.challenges[$0] }
        for record in open {
            switch record.state {
            case .issued where now - record.issuedMs > policy.startTimeoutMs: return ["judged \(record.id)"]
            case .started where now > record.deadlineMs!: return ["judged \(record.id)"]
            default: continue
            }
        }
        let waiting = state.nodes.values.filter { $0.proof.openChallengeId == nil && online.contains($0.id) }
        let first: (NodeRecord, ChallengeIssue.Reason)?
        if let node = waiting.filter({ $0.proof.status == .pending }).min(by: { $0.id < $1.id }) {
            first = (node, .registration)
        } else if let node = waiting.filter({ $0.proof.status == .failed && now - $0.proof.lastJudgedMs! >= policy.retryMs })
            .min(by: { $0.proof.lastJudgedMs! < $1.proof.lastJudgedMs! }) {
            first = (node, .retry)
        } else {
            first = nil
        }
        guard let (node, reason) = first else { return [] }
        let uuids = Set(node.registration.hardware.gpus.compactMap(\.uuid))
        let sharing = state.nodes.values.filter {
            $0.id != node.id && $0.proof.openChallengeId == nil && $0.proof.status != .unverified
                && !uuids.isDisjoint(with: $0.registration.hardware.gpus.compactMap(\.uuid))
        }.sorted { $0.id < $1.id }
        return ["\(node.id) \(reason)"] + sharing.map { "\($0.id) duplicate" }
    }

    func summary(_ decision: LogEvent?) -> [String] {
        switch decision {
        case .challengeJudged(let verdict)?: ["judged \(verdict.challengeId)"]
        case .challengesIssued(let issues)?: issues.map { "\($0.nodeId) \($0.reason)" }
        case nil: []
        case let other?: ["unexpected \(other.typeName)"]
        }
    }

    @Test(.compute, arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func decisionsFollowTheRuleOverTheWholeState(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        var state = try base.genesis()
        var keys = [SigningIdentity]()
        var online = Set<String>()
        var now: Int64 = 1
        var decisions = 0, judged = 0, retries = 0, duplicates = 0
        // GPUs drawn from a small pool of UUIDs so that nodes report the same one; one model the catalog lacks.
        func hardware() -> HardwareProfile {
            let count = Int.random(in: 0...2, using: &random)
            if count == 0 { return ChallengeStateTests.cpu }
            let models = (0..<count).map { _ in Bool.random(using: &random) && Int.random(in: 0..<8, using: &random) == 0 ? "no-such-gpu" : "T4" }
            let first = Int.random(in: 0..<6, using: &random)
            return ChallengeStateTests.gpus(models, uuids: (0..<count).map { "GPU-\((first + $0) % 6)" })
        }
        for _ in 0..<600 {
            now += Int64.random(in: 1...700, using: &random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0 where keys.count < 24:
                let key = SigningIdentity()
                keys.append(key)
                try base.register(key, hardware(), in: &state, atMs: now)
                if Bool.random(using: &random) { online.insert(key.address) }
            case 1 where !keys.isEmpty:
                // A node registers again, with new hardware or the same.
                let key = keys.randomElement(using: &random)!
                let same = Bool.random(using: &random)
                try base.register(key, same ? state.nodes[key.address]!.registration.hardware : hardware(), in: &state, atMs: now)
            case 2 where !keys.isEmpty:
                let id = keys.randomElement(using: &random)!.address
                if online.remove(id) == nil { online.insert(id) }
            case 3:
                if let id = state.openChallengeIds.filter({ state.challenges[$0]?.state == .issued }).sorted().randomElement(using: &random) {
                    try state.apply(.challengeStarted(challengeId: id, roundTripMs: 0), atMs: now)
                }
            case 4:
                if let id = state.openChallengeIds.sorted().randomElement(using: &random) {
                    try state.apply(.challengesVoided(challengeIds: [id]), atMs: now)
                }
            default:
                var generator = SystemRandomNumberGenerator()
                let decision = Scheduler(nowMs: now, onlineNodes: online, lastHeartbeatMs: [:], seeds: base.seeds).nextDecision(in: state, using: &generator)
                #expect(summary(decision) == expected(state, atMs: now, online: online), "at \(now) ms")
                guard let decision else { continue }
                try state.apply(decision, atMs: now)
                decisions += 1
                if case .challengeJudged = decision { judged += 1 }
                if case .challengesIssued(let issues) = decision {
                    retries += issues.filter { $0.reason == .retry }.count
                    duplicates += issues.filter { $0.reason == .duplicate }.count
                }
            }
        }
        // The walk went where the queues matter: time-outs, retries after them and duplicate GPUs.
        #expect(decisions > 50 && judged > 10 && retries > 0 && duplicates > 0, "\(decisions) decisions, \(judged) judged, \(retries) retries, \(duplicates) duplicates")
    }
}
