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
            let solving = Task {
                var proofs = [any ChallengeProof]()
                for challenge in challenges { proofs.append(try await backend.commit(challenge)) }
                return proofs
            }
            let timer = Task {
                try await Task.sleep(for: .milliseconds(work.remainingMs))
                solving.cancel()
            }
            let proofs: [any ChallengeProof]
            do {
                proofs = try await solving.value
                timer.cancel()
            } catch is CancellationError {
                recordChallenge(id, "given up: the devices could not finish within \(work.remainingMs) ms")
                return
            }
            let committed = try await client.commitChallenge(
                ChallengeCommitment(challengeId: id, roots: proofs.map(\.root.hexString)), by: configuration.nodeKey
            )
            guard committed.state == .queried else {
                recordChallenge(id, "\(committed.state.rawValue)\(committed.failure.map { ": \($0)" } ?? "")")
                return
            }
            let openings = zip(proofs, committed.queries).map { proof, queries in queries.map { proof.open(t: $0.t, i: $0.i) } }
            let judged = try await client.openChallenge(id, openings: try JSONEncoder().encode(openings), by: configuration.nodeKey)
            let tops = judged.devices.compactMap(\.achievedTops).map { String(format: "%.4g", $0) }.joined(separator: ", ")
            recordChallenge(id, "\(judged.state.rawValue)\(judged.failure.map { ": \($0)" } ?? "") (TOPS: \(tops))")
        } catch {
            recordChallenge(id, "failed to answer: \(error)")
        }
    }

    private func recordChallenge(_ id: String, _ outcome: String) {
        challengesAnswered += 1
        lastChallengeState = outcome
        logger.info("challenge answered", metadata: ["challenge": "\(id)", "outcome": "\(outcome)"])
    }
}
