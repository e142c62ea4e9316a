import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation

/// One log entry said in words, for the explorer's log pages: what happened and to whom. The entry's JSON stays
/// the evidence; this is only its reading. `state` names the node a run went to (without it, the run is named).
public enum LogEntryText {
    public static func describe(_ event: LogEvent, in state: NetworkState) -> String {
        switch event {
        case .genesis(let genesis):
            let funded = genesis.allocations.reduce(Int64(0)) { $0 + $1.amountMicro }
            return "genesis: coordinator \(Address.short(genesis.coordinator)), \(genesis.allocations.count) accounts funded with \(Amount.format(funded)) CRU"
        case .envelope(let envelope):
            return describe(envelope)
        case .offer(let runId, let nodeId, let price, _, let gpus):
            return "run \(runId) offered to node \(Address.short(nodeId)) at \(Amount.format(price)) CRU per unit-hour"
                + (gpus.isEmpty ? "" : " on GPU \(gpus.map(String.init).joined(separator: ", "))")
        case .gangOffer(let offer):
            return "gang of \(offer.members.count) offered: " + offer.members.map { "\($0.runId) → \(Address.short($0.nodeId))" }.joined(separator: ", ")
        case .offerLapsed(let runId):
            return "offer of run \(runId) lapsed unanswered"
        case .runLost(let runId, let reason):
            return "run \(runId) lost: \(reason)"
        case .sampled(let jobId, let taskIndex, let replicate, let segment, let crops):
            guard replicate else { return "task \(taskIndex) of \(jobId) not sampled for a check" }
            if let crops, !crops.isEmpty { return "task \(taskIndex) of \(jobId) sampled: \(crops.count) tiles to re-render" }
            if let segment { return "task \(taskIndex) of \(jobId) sampled: segment \(segment) to re-run" }
            return "task \(taskIndex) of \(jobId) sampled: a replica re-runs it"
        case .cropsCompared(let checks):
            return checks.map { "tiles of \($0.runId) against \($0.againstRunId): \(comparison($0.comparison))" }.joined(separator: "; ")
        case .reviewLapsed(let jobId, let taskIndex):
            return "review of task \(taskIndex) of \(jobId) lapsed: approved"
        case .replicaWaived(let jobId, let taskIndex):
            return "replica of task \(taskIndex) of \(jobId) waived: no other operator could run it"
        case .arbitrationOpened(let jobId, let taskIndex):
            return "task \(taskIndex) of \(jobId): results disagree, an arbiter re-runs it"
        case .arbiterWaived(let jobId, let taskIndex):
            return "arbiter of task \(taskIndex) of \(jobId) waived: no third operator could run it"
        case .verdict(let verdict):
            let paid = verdict.payments.map { "\(Amount.format($0.amountMicro)) to \(nodeName(of: $0.runId, in: state))" }
            var text = "task \(verdict.taskIndex) of \(verdict.jobId) \(verdict.outcome.rawValue)"
            if !paid.isEmpty { text += ": paid " + paid.joined(separator: ", ") + ", fee \(Amount.format(verdict.feeMicro)) burned" }
            if let loser = verdict.losingRunId { text += "; \(loser) on \(nodeName(of: loser, in: state)) outvoted" }
            return text
        case .jobClosed(let jobId, let refund):
            return "\(jobId) closed, \(Amount.format(refund)) CRU refunded"
        case .challengesIssued(let issues):
            return issues.map { "\($0.challengeId) (\($0.reason.rawValue)) to node \(Address.short($0.nodeId)), \($0.devices.count) device(s)" }
                .joined(separator: "; ")
        case .challengeStarted(let challengeId, let roundTripMs):
            return "\(challengeId) started, \(roundTripMs) ms round trip credited"
        case .challengeQueried(let challengeId, let queries):
            return "\(challengeId) committed; \(queries.reduce(0) { $0 + $1.count }) rows asked for"
        case .challengeJudged(let verdict):
            if verdict.passed {
                return "\(verdict.challengeId) passed by node \(Address.short(verdict.nodeId)): \(tops(verdict)) INT8 TOPS"
            }
            return "\(verdict.challengeId) failed by node \(Address.short(verdict.nodeId)): \(verdict.reason ?? "no reason given")"
        case .challengesVoided(let ids):
            return "voided unjudged (the coordinator stopped): " + ids.joined(separator: ", ")
        case .epochClosed(let close):
            let burned = state.epochs.first { $0.epoch == close.epoch }?.burnedMicro
            return "epoch \(close.epoch) closed: \(Amount.format(close.emission.totalMicro)) CRU minted to \(close.emission.shares.count) operator(s)"
                + (burned.map { ", \(Amount.format($0)) CRU burned" } ?? "")
        case .proposalTallied(let proposalId):
            let status = state.governance.proposals[proposalId]?.status.rawValue
            return "\(proposalId) tallied" + (status.map { ": \($0)" } ?? "")
        }
    }

    private static func describe(_ envelope: SignedEnvelope) -> String {
        let signer = Address.short(envelope.signer)
        switch envelope.kind {
        case .registerNode:
            guard let registration = try? envelope.decodePayload(as: NodeRegistration.self) else { break }
            return "node \(signer) registered by operator \(Address.short(registration.operatorAddress)): \(registration.hardware.summary), \(registration.region)"
        case .submitJob:
            guard let spec = try? envelope.decodePayload(as: JobSubmission.self).spec else { break }
            return "\(JobRecord.makeId(signer: envelope.signer, nonce: envelope.nonce)) (\(spec.name), \(spec.taskCount) task(s)) submitted by \(signer)"
        case .cancelJob:
            guard let cancel = try? envelope.decodePayload(as: JobCancellation.self) else { break }
            return "\(cancel.jobId) cancelled by \(signer)"
        case .reviewFrames:
            return "frames reviewed by \(signer)"
        case .respondOffer:
            guard let response = try? envelope.decodePayload(as: OfferResponse.self) else { break }
            return "node \(signer) \(response.accept ? "accepted" : "declined") run \(response.runId)" + (response.accept || response.reason.isEmpty ? "" : ": \(response.reason)")
        case .reportResult:
            guard let report = try? envelope.decodePayload(as: RunReport.self) else { break }
            let how = report.exitCode == 0 ? "completed" : "failed (exit \(report.exitCode))"
            // A run the network had ended is reported too: that is how its node says the run is gone.
            return "node \(signer) reported run \(report.runId) \(how) after \(String(format: "%.1f", Double(report.durationMs) / 1000)) s, \(report.outputs.count) output(s)"
                + (report.failure.map { " (\($0))" } ?? "")
        case .commitChallenge:
            guard let commitment = try? envelope.decodePayload(as: ChallengeCommitment.self) else { break }
            return "node \(signer) committed to \(commitment.challengeId)"
        case .openChallenge:
            guard let openings = try? envelope.decodePayload(as: ChallengeOpenings.self) else { break }
            return "node \(signer) opened the asked rows of \(openings.challengeId)"
        case .stake:
            guard let request = try? envelope.decodePayload(as: StakeRequest.self) else { break }
            return "\(signer) \(request.action.rawValue) \(Amount.format(request.amountMicro)) CRU"
        case .propose:
            guard let proposal = try? envelope.decodePayload(as: GovernanceProposal.self) else { break }
            return "\(signer) proposed “\(proposal.title)” for epoch \(proposal.effectiveEpoch)"
        case .vote:
            guard let vote = try? envelope.decodePayload(as: GovernanceVote.self) else { break }
            return "\(signer) voted \(vote.choice.rawValue) on \(vote.proposalId)"
        case .transfer:
            guard let transfer = try? envelope.decodePayload(as: TokenTransfer.self) else { break }
            return "\(signer) paid " + transfer.payments.map { "\(Amount.format($0.amountMicro)) CRU to \(Address.short($0.to))" }.joined(separator: ", ")
        case .reportLinks:
            guard let report = try? envelope.decodePayload(as: LinkReport.self) else { break }
            return "node \(signer) measured links to \(report.links.count) peer(s)"
        case .pollOffers, .heartbeat, .appendTaskLog, .putBlob, .startChallenge:
            break
        }
        return "\(envelope.kind.rawValue) signed by \(signer)"
    }

    /// What `event` did to node `nodeId`'s standing — a challenge passed or failed, a result verified by a replica or
    /// found wrong — or nil when it did nothing to it. Results nobody re-ran are no evidence either way.
    static func standing(of nodeId: String, after event: LogEvent, in state: NetworkState) -> (text: String, good: Bool)? {
        func isOnNode(_ runId: String) -> Bool { state.runs[runId]?.nodeId == nodeId }
        switch event {
        case .challengeJudged(let verdict) where verdict.nodeId == nodeId:
            return verdict.passed
                ? ("challenge passed at \(tops(verdict)) TOPS", true)
                : ("challenge failed: \(verdict.reason ?? "no reason given")", false)
        case .verdict(let verdict):
            if let loser = verdict.losingRunId, isOnNode(loser) { return ("result outvoted: streak reset, stake slashed", false) }
            let ran = state.jobs[verdict.jobId]?.tasks.first { $0.index == verdict.taskIndex }
            if verdict.outcome == .disputed, ran?.runIds.contains(where: isOnNode) == true { return ("dispute: streak reset", false) }
            guard verdict.payments.contains(where: { isOnNode($0.runId) }) else { return nil }
            return ran?.replicate == true ? ("result verified by a replica: streak +1", true) : nil
        default:
            return nil
        }
    }

    /// What a passed challenge proved, all devices together.
    private static func tops(_ verdict: ChallengeVerdict) -> String {
        String(format: "%.4g", verdict.deviceTops.reduce(0, +))
    }

    private static func comparison(_ comparison: ProofOfRender.Comparison) -> String {
        if let failure = comparison.failure { return failure }
        return comparison.psnrMilliDb.map { String(format: "PSNR %.1f dB", Double($0) / 1000) } ?? "identical"
    }

    private static func nodeName(of runId: String, in state: NetworkState) -> String {
        state.runs[runId]?.nodeId.map { "node " + Address.short($0) } ?? runId
    }
}
