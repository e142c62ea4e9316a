import CrucibleCore
import CrucibleLedger
import Foundation

extension NetworkState {
    /// Kinds that change state and therefore enter the log. Polls, heartbeats and task logs are signed too but
    /// change nothing that a replay needs.
    public static let loggedKinds: Set<EnvelopeKind> = [.registerNode, .submitJob, .cancelJob, .reviewFrames, .respondOffer, .reportResult, .commitChallenge, .openChallenge, .stake, .propose, .vote, .transfer, .reportLinks]

    /// Applies a signed input whose signature `apply` has checked (or the coordinator, on admission).
    mutating func applyEnvelope(_ envelope: SignedEnvelope, atMs nowMs: Int64, changes: inout Changes) throws -> String? {
        switch envelope.kind {
        case .registerNode:
            try registerNode(envelope.signer, try envelope.decodePayload(as: NodeRegistration.self), atMs: nowMs, changes: &changes)
        case .submitJob:
            return try submitJob(envelope, try envelope.decodePayload(as: JobSubmission.self).spec, atMs: nowMs, changes: &changes)
        case .reviewFrames:
            try reviewFrames(envelope.signer, try envelope.decodePayload(as: FrameReview.self), atMs: nowMs, changes: &changes)
        case .cancelJob:
            try cancelJob(envelope.signer, try envelope.decodePayload(as: JobCancellation.self).jobId, atMs: nowMs, changes: &changes)
        case .respondOffer:
            try respondOffer(envelope.signer, try envelope.decodePayload(as: OfferResponse.self), atMs: nowMs, changes: &changes)
        case .reportResult:
            try reportResult(envelope.signer, try envelope.decodePayload(as: RunReport.self), atMs: nowMs, changes: &changes)
        case .commitChallenge:
            try commitChallenge(envelope.signer, try envelope.decodePayload(as: ChallengeCommitment.self), atMs: nowMs, changes: &changes)
        case .openChallenge:
            try openChallenge(envelope.signer, try envelope.decodePayload(as: ChallengeOpenings.self), atMs: nowMs, changes: &changes)
        case .stake:
            try applyStake(envelope.signer, try envelope.decodePayload(as: StakeRequest.self), atMs: nowMs, changes: &changes)
        case .propose:
            try propose(envelope.signer, try envelope.decodePayload(as: GovernanceProposal.self), atMs: nowMs, changes: &changes)
        case .vote:
            try vote(envelope.signer, try envelope.decodePayload(as: GovernanceVote.self), atMs: nowMs, changes: &changes)
        case .transfer:
            let transfer = try envelope.decodePayload(as: TokenTransfer.self)
            let total = try transfer.validate(from: envelope.signer)
            // All payments or none: the total is checked before the first moves.
            let balance = ledger.balance(of: envelope.signer)
            guard balance >= total else {
                throw CrucibleError(.insufficientFunds, "the payments total \(Amount.format(total)) CRU; the balance holds \(Amount.format(balance)) CRU")
            }
            for payment in transfer.payments {
                try moveLedger(.transfer(from: envelope.signer, to: payment.to, amountMicro: payment.amountMicro), changes: &changes)
            }
        case .reportLinks:
            try reportLinks(envelope.signer, try envelope.decodePayload(as: LinkReport.self), atMs: nowMs, changes: &changes)
        case .pollOffers, .heartbeat, .appendTaskLog, .putBlob, .startChallenge:
            throw CrucibleError(.wrongKind, "\(envelope.kind.rawValue) envelopes are not logged")
        }
        return nil
    }

    private mutating func registerNode(_ nodeId: String, _ registration: NodeRegistration, atMs nowMs: Int64, changes: inout Changes) throws {
        guard Address.isValid(registration.operatorAddress) else { throw CrucibleError(.malformed, "operatorAddress must be a 64-hex-digit address") }
        guard SigningIdentity.isValid(
            signature: registration.operatorSignature,
            of: NodeRegistration.authorizationBytes(node: nodeId),
            by: registration.operatorAddress
        ) else { throw CrucibleError(.forbidden, "the operator's authorization of this node key does not verify") }
        try registration.hardware.validate()
        try registration.policy.validate()
        guard !registration.region.isEmpty, registration.region.utf8.count <= 64 else { throw CrucibleError(.malformed, "region must be 1 to 64 bytes") }
        guard registration.agentVersion.utf8.count <= 64 else { throw CrucibleError(.malformed, "agentVersion is at most 64 bytes") }
        if let renderer = registration.renderer {
            guard !renderer.isEmpty, renderer.utf8.count <= NodeRegistration.rendererBytesMax else {
                throw CrucibleError(.malformed, "renderer must be 1 to \(NodeRegistration.rendererBytesMax) bytes")
            }
        }
        if let endpoint = registration.peerEndpoint {
            guard endpoint.utf8.count <= 255, registration.peerHostPort != nil else {
                throw CrucibleError(.malformed, "peerEndpoint must be host:port with a port from 1 to 65535")
            }
        }
        if var existing = nodes[nodeId] {
            guard existing.registration.operatorAddress == registration.operatorAddress else {
                throw CrucibleError(.conflict, "this node is enrolled under another operator")
            }
            if existing.registration.peerEndpoint != registration.peerEndpoint { forgetLinks(of: nodeId) }
            existing.proof = proofOnRegistration(registration, previous: existing)
            let restacks = existing.registration.hardware.stakeClasses != registration.hardware.stakeClasses
            let previousUUIDs = existing.registration.hardware.gpus.compactMap(\.uuid)
            existing.registration = registration
            nodes[nodeId] = existing
            reindexProof(of: nodeId)
            reindexGPUs(of: nodeId, previousUUIDs: previousUUIDs)
            if restacks { restack(operator: registration.operatorAddress) }
        } else {
            nodes[nodeId] = NodeRecord(
                id: nodeId, position: nodeOrder.count, registration: registration, registeredMs: nowMs, runsDone: 0, earnedMicro: 0,
                proof: proofOnRegistration(registration, previous: nil)
            )
            let before = nodeIdsByOperator[registration.operatorAddress]?.last.flatMap { stakeNeededThrough[$0] } ?? 0
            nodeIdsByOperator[registration.operatorAddress, default: []].append(nodeId)
            nodeOrder.append(nodeId)
            stakeNeededThrough[nodeId] = before + parameters.economy.requiredStakeMicro(for: registration.hardware.stakeClasses)
            reindexProof(of: nodeId)
            reindexGPUs(of: nodeId)
        }
        changes.nodes.insert(nodeId)
    }

    private mutating func submitJob(_ envelope: SignedEnvelope, _ spec: JobSpec, atMs nowMs: Int64, changes: inout Changes) throws -> String {
        try spec.validate()
        let id = JobRecord.makeId(signer: envelope.signer, nonce: envelope.nonce)
        guard jobs[id] == nil else { throw CrucibleError(.conflict, "job \(id) exists") }
        let escrowMicro = spec.maxCostMicro(feeBps: parameters.feeBps)
        try moveLedger(.lockEscrow(jobId: id, payer: envelope.signer, amountMicro: escrowMicro), changes: &changes)
        jobs[id] = JobRecord(
            id: id, position: jobOrder.count, requester: envelope.signer, spec: spec, submittedMs: nowMs, state: .queued, cancelled: false,
            escrowLockedMicro: escrowMicro,
            tasks: (0..<spec.taskCount).map { TaskRecord(index: $0, state: .pending, runIds: []) }
        )
        jobOrder.append(id)
        for index in 0..<spec.taskCount {
            if let cluster = spec.cluster {
                for rank in 0..<cluster.nodes { createRun(jobId: id, taskIndex: index, role: .primary, attempt: 1, rank: rank, changes: &changes) }
            } else {
                createRun(jobId: id, taskIndex: index, role: .primary, attempt: 1, changes: &changes)
            }
        }
        return id
    }

    private mutating func cancelJob(_ signer: String, _ jobId: String, atMs nowMs: Int64, changes: inout Changes) throws {
        let job = try job(jobId)
        guard job.requester == signer else { throw CrucibleError(.forbidden, "only the requester may cancel job \(jobId)") }
        guard !job.isClosed, !job.cancelled else { throw CrucibleError(.conflict, "job \(jobId) is already \(job.state.rawValue)") }
        jobs[jobId]!.cancelled = true
        // Work already delivered is not cancelled away: a task whose primary result is in goes on to its verdict and
        // is paid if verified, as a node that drops out is paid for what it verifiably finished.
        for task in job.tasks where task.state == .pending {
            for runId in task.runIds where runs[runId]?.state.isOpen == true {
                setRunState(runId, .cancelled, reason: "cancelled: the requester cancelled the job", atMs: nowMs, changes: &changes)
            }
            setTaskState(jobId: jobId, taskIndex: task.index, .cancelled, changes: &changes)
        }
        changes.jobs.insert(jobId)
    }

    private mutating func respondOffer(_ nodeId: String, _ response: OfferResponse, atMs nowMs: Int64, changes: inout Changes) throws {
        let run = try run(response.runId)
        guard run.state == .offered, run.nodeId == nodeId, (response.offer ?? run.offers) == run.offers else {
            throw refusal(ofAnswerTo: run, from: nodeId, offer: response.offer)
        }
        guard let deadline = run.offerDeadlineMs, nowMs <= deadline else {
            throw CrucibleError(.offerExpired, "the offer for run \(run.id) expired")
        }
        guard response.reason.utf8.count <= 512 else { throw CrucibleError(.malformed, "reason is at most 512 bytes") }
        if run.rank != nil {
            try respondGangOffer(run, response, atMs: nowMs, changes: &changes)
            return
        }
        guard response.peerPort == nil else { throw CrucibleError(.malformed, "peerPort is only for members of a cluster job") }
        if response.accept {
            setRunState(run.id, .running, atMs: nowMs, changes: &changes)
            updateRun(run.id) { $0.startedMs = nowMs }
        } else {
            updateRun(run.id) { $0.declinedBy[nodeId] = nowMs }
            setRunState(run.id, .queued, reason: response.reason.isEmpty ? "declined" : "declined: \(response.reason)", atMs: nowMs, changes: &changes)
        }
    }

    private mutating func reportResult(_ nodeId: String, _ report: RunReport, atMs nowMs: Int64, changes: inout Changes) throws {
        let run = try run(report.runId)
        guard run.nodeId == nodeId else { throw CrucibleError(.forbidden, "run \(run.id) is not leased to this node") }
        if run.unreleasedSinceMs != nil {
            // A run the network ended while the node ran it: the report says only that the node let it go.
            release(run.id, changes: &changes)
            return
        }
        guard run.state == .running else { throw CrucibleError(.conflict, "run \(run.id) is \(run.state.rawValue), not running") }
        try OutputFile.validate(report.outputs)
        guard (report.failure?.utf8.count ?? 0) <= 1024 else { throw CrucibleError(.malformed, "failure is at most 1024 bytes") }
        if let checkpoints = report.checkpoints {
            guard jobs[run.jobId]?.spec.kind == .train else { throw CrucibleError(.malformed, "only train runs report checkpoints") }
            try TrainingCheckpoint.validate(checkpoints)
        }
        let succeeded = report.exitCode == 0 && report.failure == nil
        updateRun(run.id) {
            $0.endedMs = nowMs
            $0.exitCode = report.exitCode
            $0.outputs = report.outputs
            $0.digest = OutputFile.manifestDigest(report.outputs)
            $0.checkpoints = report.checkpoints ?? []
            $0.failure = succeeded ? nil : (report.failure ?? "exited with status \(report.exitCode)")
        }
        setRunState(run.id, succeeded ? .completed : .failed, atMs: nowMs, changes: &changes)
        if succeeded, run.role == .primary, let render = jobs[run.jobId]?.spec.render, render.reviewS != nil,
           let frame = report.outputs.first(where: { $0.path == render.framePath(taskIndex: run.taskIndex) }) {
            withheldFrames[frame.sha256] = run.id
        }
        if !succeeded {
            retryOrFail(runId: run.id, atMs: nowMs, changes: &changes)
        } else if run.rank != nil {
            // A gang's task is done when every member is; only a train task's segment may then be sampled for a validator.
            if gang(of: run).allSatisfy({ $0.state == .completed }) {
                setTaskState(jobId: run.jobId, taskIndex: run.taskIndex, .verifying, changes: &changes)
                if jobs[run.jobId]?.spec.verification.policy == JobSpec.Verification.Policy.none {
                    jobs[run.jobId]!.tasks[run.taskIndex].replicate = false
                }
            }
        } else if run.role == .primary {
            setTaskState(jobId: run.jobId, taskIndex: run.taskIndex, .verifying, changes: &changes)
            if jobs[run.jobId]?.spec.verification.policy == JobSpec.Verification.Policy.none {
                jobs[run.jobId]!.tasks[run.taskIndex].replicate = false
            }
        }
    }

    /// Why an answer that does not answer the run's open offer to this node is refused: its offer ended (declined,
    /// lapsed, withdrawn with its gang, cancelled) or was made again, the run was never offered to this node, or it
    /// is past answering.
    func refusal(ofAnswerTo run: RunRecord, from nodeId: String, offer: Int?) -> CrucibleError {
        if let ended = run.endedOffers.last(where: { $0.nodeId == nodeId && (offer == nil || $0.offer == offer) }) {
            return CrucibleError(.offerWithdrawn, "offer \(ended.offer) of run \(run.id) to this node was withdrawn (\(ended.reason)); answer a new offer if one comes")
        }
        if run.state == .offered, run.nodeId == nodeId, let offer {
            return CrucibleError(.offerWithdrawn, "offer \(offer) of run \(run.id) was withdrawn; offer \(run.offers) is open now")
        }
        guard run.nodeId == nodeId else { return CrucibleError(.forbidden, "run \(run.id) was not offered to this node") }
        return CrucibleError(.conflict, "run \(run.id) is \(run.state.rawValue), not offered")
    }
}
