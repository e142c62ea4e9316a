import CrucibleCore
import CrucibleProof
import CrucibleStore
import Foundation
import Logging

extension Coordinator {
    /// What a node gets when it starts a challenge: the seeds, and how long it has.
    public struct ChallengeWork: Sendable {
        public var record: ChallengeRecord
        public var seeds: [Data]
        /// From now until the commitment is due, as the coordinator counts it.
        public var remainingMs: Int64
    }

    /// The node fetches its seeds. The clock starts now; the round trip credited is the time since the node was told
    /// of the challenge, capped, so a node cannot buy itself time by answering slowly.
    public func startChallenge(_ envelope: VerifiedEnvelope) async throws -> ChallengeWork {
        try admit(envelope, as: .startChallenge)
        let id = try envelope.decodePayload(as: ChallengeStart.self).challengeId
        var record = try state.challenge(id)
        guard record.nodeId == envelope.signer else { throw CrucibleError(.forbidden, "challenge \(id) was issued to another node") }
        markSeen(envelope.signer)
        if record.state == .issued {
            let now = clock()
            let noticed = challengeNoticedMs[id]
            let roundTrip = noticed.map { min(max(now - $0, 0), state.parameters.challenges.roundTripMaxMs) } ?? 0
            try commit(.challengeStarted(challengeId: id, roundTripMs: roundTrip))
            await drain()
            record = try state.challenge(id)
        }
        // Asking again after a lost answer gets the same seeds; the clock does not restart.
        guard record.state == .started, let deadline = record.deadlineMs else {
            throw CrucibleError(.conflict, "challenge \(id) is \(record.state.rawValue); its seeds were already used")
        }
        return ChallengeWork(record: record, seeds: seeds.seeds(for: record.issue), remainingMs: max(deadline - clock(), 0))
    }

    /// Logs the node's commitment; the decisions that follow either draw the rows to open or judge it late or slow.
    public func commitChallenge(_ envelope: VerifiedEnvelope) async throws -> ChallengeRecord {
        try admit(envelope, as: .commitChallenge)
        let id = try envelope.decodePayload(as: ChallengeCommitment.self).challengeId
        _ = try await commitAdmitted(envelope)
        markSeen(envelope.signer)
        return try state.challenge(id)
    }

    /// Checks the opened rows against the commitment, recomputing random entries, and logs the openings and the
    /// verdict together.
    public func openChallenge(_ envelope: VerifiedEnvelope) async throws -> ChallengeRecord {
        try admit(envelope, as: .openChallenge)
        let payload = try envelope.decodePayload(as: ChallengeOpenings.self)
        let record = try state.challenge(payload.challengeId)
        guard record.nodeId == envelope.signer else { throw CrucibleError(.forbidden, "challenge \(record.id) was issued to another node") }
        guard record.state == .queried else { throw CrucibleError(.conflict, "challenge \(record.id) is \(record.state.rawValue), not waiting for openings") }
        guard Digest.isValidHex(payload.openingsSha256), let blob = try await store.blob(sha256: payload.openingsSha256) else {
            throw CrucibleError(.invalidSpec, "the openings \(payload.openingsSha256.prefix(12))… were not uploaded; PUT them to /v1/blobs first")
        }
        let openings: [[RowOpening]]
        do {
            openings = try JSONDecoder().decode([[RowOpening]].self, from: blob)
        } catch {
            throw CrucibleError(.malformed, "the openings are not a JSON list of row openings per device: \(CanonicalJSON.describe(error))")
        }
        guard openings.count == record.queries.count, zip(openings, record.queries).allSatisfy({ $0.0.count == $0.1.count }) else {
            throw CrucibleError(.malformed, "open exactly the queried rows: \(record.queries.map(\.count)) per device")
        }
        // The state may have moved while the blob was read (a time-out): check again before anything is logged.
        guard try state.challenge(record.id).state == .queried else { throw CrucibleError(.conflict, "challenge \(record.id) is no longer waiting for openings") }
        let verdict = ChallengeJudge.judge(
            openings, of: record, seeds: seeds.seeds(for: record.issue), entriesPerRow: state.parameters.challenges.entriesPerRow, using: &generator
        )
        try commit(.envelope(envelope.signed), admitted: true)
        try commit(.challengeJudged(verdict))
        afterJudging(verdict)
        await drain()
        markSeen(envelope.signer)
        return try state.challenge(record.id)
    }

    /// Challenges left open by a stop ran their clocks while no node could reach the coordinator: they are voided,
    /// not failed, and the nodes challenged afresh.
    func voidChallengesOpenAtRestart() async throws {
        let open = state.openChallengeIds.sorted(by: Scheduler.challengeOrder)
        guard !open.isEmpty else { return }
        let seq = try commit(.challengesVoided(challengeIds: open)).seq
        await waitDurable(seq)
        logger.notice("voided challenges open at restart", metadata: ["challenges": "\(open.joined(separator: ","))"])
    }

    /// After a verdict the node's next unannounced challenge is drawn.
    func afterJudging(_ verdict: ChallengeVerdict) {
        drawNextChallenge(for: verdict.nodeId)
    }

    /// An exponentially distributed time (governed mean) for the node's next unannounced challenge, known only here.
    func drawNextChallenge(for nodeId: String) {
        let mean = Double(state.parameters.challenges.meanIntervalMs)
        let draw = -mean * log(1 - Double.random(in: 0..<1, using: &generator))
        challengeDraws.draw(nodeId, atMs: clock() + Int64(draw.rounded()))
    }

    /// Open challenges issued to `nodeId` that it has not started; they ride on the answer to its poll.
    func challengeNotices(for nodeId: String) -> [ChallengeRecord] {
        guard let id = state.nodes[nodeId]?.proof.openChallengeId, let record = state.challenges[id], record.state == .issued else { return [] }
        if challengeNoticedMs[id] == nil { challengeNoticedMs[id] = clock() }
        return [record]
    }
}
