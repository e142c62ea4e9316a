import CrucibleAPI
import CrucibleClient
import CrucibleCore
import CrucibleProof
import Foundation
import Logging

extension NodeAgent {
    /// Answers a proof-of-GPU challenge: fetch the seeds, prove every device before the deadline, commit the
    /// roots, open the rows the coordinator asks for. A device that cannot finish in time is given up at the
    /// deadline rather than left grinding.
    func answer(_ notice: Components.Schemas.ChallengeNotice) async {
        let id = notice.challengeId
        do {
            let work = try await client.startChallenge(id, by: configuration.nodeKey)
            let challenges = try work.devices.map { device -> GPUChallenge in
                guard let hex = device.seed, let seed = Data(hexString: hex) else {
                    throw CrucibleError(.malformed, "the coordinator sent no seed for device \(device.index)")
                }
                return try GPUChallenge(seed: seed, n: device.n, m: device.m)
            }
            let backend = configuration.challengeBackend
            logger.info("proving hardware", metadata: [
                "challenge": "\(id)", "devices": "\(challenges.count)", "backend": "\(backend.name)", "budgetMs": "\(work.remainingMs)",
            ])
            let indices = work.devices.map(\.index)
            // Every device at once, as the coordinator times them together.
            let solving = Task {
                try await withThrowingTaskGroup(of: (Int, any ChallengeProof).self) { group in
                    for (position, challenge) in challenges.enumerated() {
                        group.addTask { (position, try await backend.commit(challenge, device: indices[position])) }
                    }
                    var proofs = [Int: any ChallengeProof]()
                    for try await (position, proof) in group { proofs[position] = proof }
                    return challenges.indices.map { proofs[$0]! }
                }
            }
            let timer = Task {
                try await Task.sleep(for: .milliseconds(work.remainingMs))
                solving.cancel()
            }
            let proofs: [any ChallengeProof]
            do {
                proofs = try await solving.value
                timer.cancel()
            } catch {
                if solving.isCancelled {
                    recordChallenge(id, "given_up", "given up: the devices could not finish within \(work.remainingMs) ms")
                    return
                }
                throw error
            }
            let committed = try await client.commitChallenge(
                ChallengeCommitment(challengeId: id, roots: proofs.map(\.root.hexString)), by: configuration.nodeKey
            )
            guard committed.state == .queried else {
                recordChallenge(id, committed.state.rawValue, "\(committed.state.rawValue)\(committed.failure.map { ": \($0)" } ?? "")")
                return
            }
            var openings = [[RowOpening]]()
            for (proof, queries) in zip(proofs, committed.queries) {
                var opened = [RowOpening]()
                for query in queries { opened.append(try await proof.open(t: query.t, i: query.i)) }
                openings.append(opened)
            }
            let judged = try await client.openChallenge(id, openings: try JSONEncoder().encode(openings), by: configuration.nodeKey)
            let tops = judged.devices.compactMap(\.achievedTops).map { String(format: "%.4g", $0) }.joined(separator: ", ")
            recordChallenge(id, judged.state.rawValue, "\(judged.state.rawValue)\(judged.failure.map { ": \($0)" } ?? "") (TOPS: \(tops))")
        } catch {
            recordChallenge(id, "unanswered", "failed to answer: \(error)")
        }
    }

    /// `state` is the challenge's state as the coordinator judged it, or `given_up` / `unanswered`; `outcome` says more.
    private func recordChallenge(_ id: String, _ state: String, _ outcome: String) {
        challengesAnswered += 1
        lastChallengeState = outcome
        metrics.challengeAnswered(state: state)
        logger.info("challenge answered", metadata: ["challenge": "\(id)", "outcome": "\(outcome)"])
    }
}
