import CrucibleCore
import CrucibleLedger
import CrucibleMarket
import CrucibleProof
import Foundation

extension NetworkState {
    mutating func applyDecision(_ event: LogEvent, atMs nowMs: Int64, changes: inout Changes) throws {
        switch event {
        case .genesis, .envelope:
            preconditionFailure("not a decision")

        case .challengesIssued(let issues):
            try issueChallenges(issues, atMs: nowMs, changes: &changes)
        case .challengeStarted(let challengeId, let roundTripMs):
            try startChallenge(challengeId, roundTripMs: roundTripMs, atMs: nowMs, changes: &changes)
        case .challengeQueried(let challengeId, let queries):
            try queryChallenge(challengeId, queries: queries, atMs: nowMs, changes: &changes)
        case .challengeJudged(let verdict):
            try judgeChallenge(verdict, atMs: nowMs, changes: &changes)
        case .challengesVoided(let ids):
            try voidChallenges(ids, changes: &changes)
        case .epochClosed(let close):
            try closeEpoch(close, atMs: nowMs, changes: &changes)
        case .proposalTallied(let proposalId):
            try tallyProposal(proposalId, atMs: nowMs, changes: &changes)

        case .offer(let runId, let nodeId, let price, let deadlineMs, let offeredGPUs):
            let run = try run(runId)
            guard run.state == .queued else { throw CrucibleError(.conflict, "run \(runId) is \(run.state.rawValue), not queued") }
            guard run.rank == nil else { throw CrucibleError(.conflict, "run \(runId) is a member of a gang; it is offered with its gang") }
            var gpus = offeredGPUs
            if gpus.isEmpty, let demand = demand(of: run, atMs: nowMs), demand.gpus > 0 {
                gpus = supplyNode(nodeId, atMs: nowMs)?.gpuChoices(for: demand)?.first ?? []
            }
            try checkOffer(of: run, to: nodeId, price: price, gpuIndices: gpus, atMs: nowMs)
            updateRun(runId) {
                $0.nodeId = nodeId
                $0.gpuIndices = gpus
                $0.priceMicroPerUnitHour = price
                $0.offerDeadlineMs = deadlineMs
                $0.failure = nil
            }
            setRunState(runId, .offered, atMs: nowMs, changes: &changes)

        case .gangOffer(let offer):
            try offerGang(offer, atMs: nowMs, changes: &changes)

        case .offerLapsed(let runId):
            let run = try run(runId)
            guard run.state == .offered, let deadline = run.offerDeadlineMs, nowMs > deadline else {
                throw CrucibleError(.conflict, "run \(runId) has no lapsed offer")
            }
            if run.rank != nil {
                lapseGangOffer(run, atMs: nowMs, changes: &changes)
                return
            }
            updateRun(runId) { if let node = $0.nodeId { $0.declinedBy[node] = nowMs } }
            setRunState(runId, .queued, reason: "offer lapsed", atMs: nowMs, changes: &changes)

        case .runLost(let runId, let reason):
            let run = try run(runId)
            guard run.state == .running else { throw CrucibleError(.conflict, "run \(runId) is \(run.state.rawValue), not running") }
            setRunState(runId, .lost, reason: reason, atMs: nowMs, changes: &changes)
            retryOrFail(runId: runId, atMs: nowMs, changes: &changes)

        case .cropsCompared(let checks):
            try recordCropChecks(checks, changes: &changes)

        case .reviewLapsed(let jobId, let taskIndex):
            let job = try job(jobId)
            guard job.tasks.indices.contains(taskIndex), let due = reviewDueMs(job, job.tasks[taskIndex]), nowMs >= due else {
                throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) has no frame whose review period is over")
            }
            approveFrame(jobId: jobId, taskIndex: taskIndex, auto: true, atMs: nowMs, changes: &changes)

        case .sampled(let jobId, let taskIndex, let replicate, let segment, let crops):
            let job = try job(jobId)
            guard job.tasks.indices.contains(taskIndex) else { throw CrucibleError(.notFound, "no task \(taskIndex) in \(jobId)") }
            let task = job.tasks[taskIndex]
            guard task.state == .verifying, task.replicate == nil, job.spec.verification.policy != .none,
                  let primary = completedRun(of: task, role: .primary)
            else { throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) is not awaiting a sample decision") }
            // A train task's replica re-runs one segment, which must be one the reference run can be resumed at.
            var steps: (from: Int, to: Int)?
            if replicate, job.spec.kind == .train {
                guard let segment, trainSegments(jobId: jobId, taskIndex: taskIndex).contains(segment),
                      let reference = trainReference(of: task)
                else { throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) has no segment \(segment.map(String.init) ?? "nil") to re-run") }
                steps = (reference.checkpoints[segment].step, reference.checkpoints[segment + 1].step)
            } else if segment != nil {
                throw CrucibleError(.conflict, "only a replicated train task has a segment")
            }
            // A render task's replica re-renders tiles of the frame, which must lie inside it.
            if replicate, let render = job.spec.render {
                guard let crops, (1...FrameCrop.tilesMax).contains(crops.count),
                      crops.allSatisfy({ $0.fits(frameWidth: render.width, frameHeight: render.height) })
                else {
                    throw CrucibleError(.conflict, "a replicated render task needs 1 to \(FrameCrop.tilesMax) tiles inside its \(render.width)×\(render.height) frame")
                }
            } else if crops != nil {
                throw CrucibleError(.conflict, "only a replicated render task has tiles to re-render")
            }
            jobs[jobId]!.tasks[taskIndex].crops = crops ?? []
            jobs[jobId]!.tasks[taskIndex].replicate = replicate
            jobs[jobId]!.tasks[taskIndex].sampledMs = nowMs
            jobs[jobId]!.tasks[taskIndex].segmentFromStep = steps?.from
            jobs[jobId]!.tasks[taskIndex].segmentToStep = steps?.to
            changes.jobs.insert(jobId)
            if replicate {
                // The validator runs under none of the operators whose work it checks (every member of a gang).
                let checked = completedGang(of: task) ?? [primary]
                let operators = Set(checked.compactMap { $0.nodeId.flatMap { nodes[$0]?.registration.operatorAddress } }).sorted()
                createRun(
                    jobId: jobId, taskIndex: taskIndex, role: .replica, attempt: nextAttempt(of: task, role: .replica),
                    declinedBy: Dictionary(checked.compactMap { $0.nodeId.map { ($0, nowMs) } }, uniquingKeysWith: max),
                    excludedOperators: operators, changes: &changes
                )
            }

        case .replicaWaived(let jobId, let taskIndex):
            let job = try job(jobId)
            guard job.tasks.indices.contains(taskIndex) else { throw CrucibleError(.notFound, "no task \(taskIndex) in \(jobId)") }
            guard let waiting = replicaWaitingForNode(job.tasks[taskIndex]),
                  let sampled = job.tasks[taskIndex].sampledMs, nowMs - sampled > parameters.replicaWaitMs
            else { throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) has no replica overdue for a node") }
            let reason = "waived: no node of another operator within \(parameters.replicaWaitMs / 1000) s"
            setRunState(waiting.id, .cancelled, reason: reason, atMs: nowMs, changes: &changes)
            jobs[jobId]!.tasks[taskIndex].replicate = false

        case .arbitrationOpened(let jobId, let taskIndex):
            let job = try job(jobId)
            guard job.tasks.indices.contains(taskIndex), needsArbitration(job.tasks[taskIndex], of: job) else {
                throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) has no disagreement awaiting an arbiter")
            }
            let task = job.tasks[taskIndex]
            // The arbiter runs under none of the operators it decides between: every gang member's and the replica's.
            let checked = (completedGang(of: task) ?? [completedRun(of: task, role: .primary)].compactMap { $0 })
                + [completedRun(of: task, role: .replica)].compactMap { $0 }
            jobs[jobId]!.tasks[taskIndex].arbitrationMs = nowMs
            createRun(
                jobId: jobId, taskIndex: taskIndex, role: .arbiter, attempt: nextAttempt(of: task, role: .arbiter),
                declinedBy: Dictionary(checked.compactMap { $0.nodeId.map { ($0, nowMs) } }, uniquingKeysWith: max),
                excludedOperators: Set(checked.compactMap { $0.nodeId.flatMap { nodes[$0]?.registration.operatorAddress } }).sorted(),
                changes: &changes
            )

        case .arbiterWaived(let jobId, let taskIndex):
            let job = try job(jobId)
            guard job.tasks.indices.contains(taskIndex), let waiting = arbiterWaitingForNode(job.tasks[taskIndex]),
                  let opened = job.tasks[taskIndex].arbitrationMs, nowMs - opened > parameters.replicaWaitMs
            else { throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) has no arbiter overdue for a node") }
            let reason = "waived: no node of a third operator within \(parameters.replicaWaitMs / 1000) s"
            setRunState(waiting.id, .cancelled, reason: reason, atMs: nowMs, changes: &changes)
            jobs[jobId]!.tasks[taskIndex].arbiterWaived = true

        case .verdict(let verdict):
            let expected = try expectedVerdict(jobId: verdict.jobId, taskIndex: verdict.taskIndex)
            guard verdict == expected else {
                throw CrucibleError(.ledgerViolation, "verdict for \(verdict.jobId)/\(verdict.taskIndex) differs from what its runs give")
            }
            // Checked as a whole first, so that no payment is made unless all of them can be.
            let escrowLeft = ledger.escrows[verdict.jobId]?.amountMicro ?? 0
            guard verdict.paidMicro + verdict.feeMicro <= escrowLeft, verdict.payments.allSatisfy({ Address.isValid($0.to) }) else {
                throw CrucibleError(.ledgerViolation, "verdict for \(verdict.jobId)/\(verdict.taskIndex) pays more than its escrow holds")
            }
            for payment in verdict.payments {
                try moveLedger(.payFromEscrow(jobId: verdict.jobId, to: payment.to, amountMicro: payment.amountMicro), changes: &changes)
                if payment.feeMicro > 0 {
                    try moveLedger(.burnFromEscrow(jobId: verdict.jobId, amountMicro: payment.feeMicro), changes: &changes)
                }
                updateRun(payment.runId) { $0.paidMicro = payment.amountMicro }
                changes.runs.insert(payment.runId)
                // Paid for, a frame under review is the requester's.
                for output in runs[payment.runId]?.outputs ?? [] where withheldFrames[output.sha256] == payment.runId {
                    withheldFrames[output.sha256] = nil
                }
                if let nodeId = runs[payment.runId]?.nodeId {
                    nodes[nodeId]?.runsDone += 1
                    nodes[nodeId]?.earnedMicro += payment.amountMicro
                    changes.nodes.insert(nodeId)
                }
            }
            jobs[verdict.jobId]!.paidMicro += verdict.paidMicro
            jobs[verdict.jobId]!.burnedMicro += verdict.feeMicro
            let task = jobs[verdict.jobId]!.tasks[verdict.taskIndex]
            recordVerification(verdict, task: task, changes: &changes)
            // A render task whose frame was outvoted has paid its checkers and slashes the cheater below, but the
            // requester still has no frame: it is rendered again, away from the loser's operator.
            let redoesFrame = verdict.outcome == .verified && jobs[verdict.jobId]!.spec.kind == .render
                && verdict.losingRunId != nil && verdict.losingRunId == completedRun(of: task, role: .primary)?.id
            if verdict.outcome == .verified, !redoesFrame {
                // The digest the paid runs agree on (the primary's, unless an arbiter sided with the replica).
                jobs[verdict.jobId]!.tasks[verdict.taskIndex].digest = verdict.payments.first.flatMap { runs[$0.runId]?.digest }
                creditWork(verdict, spec: jobs[verdict.jobId]!.spec)
                if let loserId = verdict.losingRunId, let loser = runs[loserId] {
                    let failure = task.rejections.contains { $0.runId == loserId }
                        ? "rejected by the requester, and the frame rendered again on another operator's node differs from it"
                        : loser.rank != nil
                        ? "outvoted: the validator and the arbiter re-ran the segment and both ended away from the gang's weights"
                        : "outvoted: the arbiter's output matched the other run"
                    // A gang loses together: its members reported the same weights.
                    for member in gang(of: loser) {
                        try penalize(member.id, of: task, verdict: verdict, failure: failure, atMs: nowMs, changes: &changes)
                    }
                }
            } else {
                let operators = Set(task.runIds.compactMap { runs[$0] }.filter { $0.state == .completed }
                    .compactMap { $0.nodeId.flatMap { nodes[$0]?.registration.operatorAddress } })
                for operatorAddress in operators { openDisputes[operatorAddress, default: 0] += 1 }
            }
            if redoesFrame, let loser = verdict.losingRunId.flatMap({ runs[$0] }) {
                creditWork(verdict, spec: jobs[verdict.jobId]!.spec)
                try penalize(
                    loser.id, of: task, verdict: verdict, failure: "outvoted: its frame did not match the tiles the validator and the arbiter re-rendered",
                    atMs: nowMs, changes: &changes
                )
                redoFrame(of: loser, atMs: nowMs, changes: &changes)
            } else {
                setTaskState(jobId: verdict.jobId, taskIndex: verdict.taskIndex, verdict.outcome == .verified ? .verified : .disputed, changes: &changes)
            }

        case .jobClosed(let jobId, let refundMicro):
            let job = try job(jobId)
            guard !job.isClosed, job.tasks.allSatisfy({ $0.state.isFinal }) else {
                throw CrucibleError(.conflict, "job \(jobId) still has open tasks")
            }
            let remaining = ledger.escrows[jobId]?.amountMicro ?? 0
            guard refundMicro == remaining else {
                throw CrucibleError(.ledgerViolation, "refund \(refundMicro) differs from the escrow left, \(remaining)")
            }
            try moveLedger(.releaseEscrow(jobId: jobId), changes: &changes)
            jobs[jobId]!.refundedMicro = refundMicro
            jobs[jobId]!.closedMs = nowMs
            closableJobs.remove(jobId)
            changes.jobs.insert(jobId)
        }
    }

    /// Marks the run a verdict found wrong and slashes its operator; the arbiter's operator proved the fault and takes
    /// the reporter's share.
    mutating func penalize(_ loserId: String, of task: TaskRecord, verdict: TaskVerdict, failure: String, atMs nowMs: Int64, changes: inout Changes) throws {
        guard let loserNode = runs[loserId]?.nodeId else { return }
        updateRun(loserId) { $0.failure = failure }
        changes.runs.insert(loserId)
        let arbiter = completedRun(of: task, role: .arbiter)?.nodeId.flatMap { nodes[$0]?.registration.operatorAddress }
        try slash(
            nodeId: loserNode, reason: .failedWork, bps: parameters.economy.slashFailedWorkBps,
            evidence: "\(verdict.jobId)/\(verdict.taskIndex)", reporter: arbiter, atMs: nowMs, changes: &changes
        )
    }

    /// The attempt number of a task's next run in `role`: runs of one role are numbered on across retries and re-renders.
    func nextAttempt(of task: TaskRecord, role: RunRecord.Role) -> Int {
        (task.runIds.compactMap { runs[$0] }.filter { $0.role == role && $0.rank == nil }.map(\.attempt).max() ?? 0) + 1
    }

    /// Queues a render task's frame again after its primary was outvoted: the task's checks start over for the new
    /// frame (the old comparisons stay as evidence), on a node of any operator but the loser's.
    mutating func redoFrame(of loser: RunRecord, atMs nowMs: Int64, changes: inout Changes) {
        let jobId = loser.jobId, index = loser.taskIndex
        jobs[jobId]!.tasks[index].replicate = nil
        jobs[jobId]!.tasks[index].sampledMs = nil
        jobs[jobId]!.tasks[index].arbitrationMs = nil
        jobs[jobId]!.tasks[index].arbiterWaived = false
        jobs[jobId]!.tasks[index].crops = []
        jobs[jobId]!.tasks[index].approvedMs = nil
        jobs[jobId]!.tasks[index].autoApproved = false
        setTaskState(jobId: jobId, taskIndex: index, .pending, changes: &changes)
        let operators = loser.nodeId.flatMap { nodes[$0]?.registration.operatorAddress }.map { [$0] } ?? []
        createRun(
            jobId: jobId, taskIndex: index, role: .primary, attempt: nextAttempt(of: jobs[jobId]!.tasks[index], role: .primary),
            declinedBy: loser.nodeId.map { [$0: nowMs] } ?? [:], excludedOperators: operators, changes: &changes
        )
    }

    /// Keeps each node's streak of verified results: a replicated task's paid runs add one, an outvoted run or a
    /// dispute sets its nodes back to zero. Tasks nobody re-ran are no evidence and change nothing.
    mutating func recordVerification(_ verdict: TaskVerdict, task: TaskRecord, changes: inout Changes) {
        guard task.replicate == true else { return }
        func update(_ runId: String, _ body: (inout Int64) -> Void) {
            guard let nodeId = runs[runId]?.nodeId, nodes[nodeId] != nil else { return }
            body(&nodes[nodeId]!.verifiedStreak)
            changes.nodes.insert(nodeId)
        }
        if verdict.outcome == .disputed {
            for runId in task.runIds where runs[runId]?.state == .completed { update(runId) { $0 = 0 } }
            return
        }
        for payment in verdict.payments { update(payment.runId) { $0 += 1 } }
        if let loser = verdict.losingRunId.flatMap({ runs[$0] }) {
            for member in gang(of: loser) { update(member.id) { $0 = 0 } }
        }
    }

    /// A task whose primary and replica both completed and disagree (different outputs, or a re-rendered crop that
    /// does not match the frame), and no arbiter asked for yet.
    public func needsArbitration(_ task: TaskRecord, of job: JobRecord) -> Bool {
        guard task.state == .verifying, task.replicate == true, task.arbitrationMs == nil, !task.arbiterWaived,
              let primary = completedRun(of: task, role: .primary), let replica = completedRun(of: task, role: .replica)
        else { return false }
        guard task.segmentFromStep == nil else {
            // A train gang whose members agree but whose segment the validator could not reproduce: a third operator's
            // node re-runs the segment. (Members that disagree with each other are a dispute no re-run settles.)
            let gang = completedGang(of: task) ?? [primary]
            return Set(gang.map(\.checkpoints)).count == 1 && !segmentMatches(task, replica)
        }
        return runsAgree(job, task, primary, replica) == false
    }

    /// The task's arbiter run when it is still waiting in the queue for a node.
    public func arbiterWaitingForNode(_ task: TaskRecord) -> RunRecord? {
        guard task.state == .verifying, task.arbitrationMs != nil, !task.arbiterWaived,
              let arbiter = task.runIds.compactMap({ runs[$0] }).last(where: { $0.role == .arbiter }), arbiter.state == .queued
        else { return nil }
        return arbiter
    }

    /// The task's replica when it is still waiting in the queue for a node (never offered out, or back after a refusal).
    public func replicaWaitingForNode(_ task: TaskRecord) -> RunRecord? {
        guard task.state == .verifying, task.replicate == true,
              let replica = task.runIds.compactMap({ runs[$0] }).last(where: { $0.role == .replica }),
              replica.state == .queued
        else { return nil }
        return replica
    }

    func completedRun(of task: TaskRecord, role: RunRecord.Role) -> RunRecord? {
        task.runIds.compactMap { runs[$0] }.last { $0.role == role && $0.state == .completed }
    }

    /// The verdict a task's runs call for, or an error if it is not ready for one. Both the coordinator (to decide)
    /// and `apply` (to check a logged verdict) use this, so a tampered payment fails replay.
    public func expectedVerdict(jobId: String, taskIndex: Int) throws -> TaskVerdict {
        let job = try job(jobId)
        guard job.tasks.indices.contains(taskIndex) else { throw CrucibleError(.notFound, "no task \(taskIndex) in \(jobId)") }
        let task = job.tasks[taskIndex]
        let gang = completedGang(of: task)
        guard task.state == .verifying, let replicate = task.replicate, let primary = gang?.first ?? completedRun(of: task, role: .primary) else {
            throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) is not ready for a verdict")
        }
        // A cluster task pays every member of the gang that completed it.
        var paidRuns = gang ?? [primary]
        var outcome = TaskVerdict.Outcome.verified
        // Data-parallel members hold the same weights after every step: a train gang whose checkpoints differ has a
        // member that did not train with the others, and nobody is paid until that is settled.
        if job.spec.kind == .train, let gang, Set(gang.map(\.checkpoints)).count > 1 {
            outcome = .disputed
        }
        var loser: RunRecord?
        if replicate, job.spec.kind == .train {
            guard let replica = completedRun(of: task, role: .replica) else {
                throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) awaits its validator")
            }
            // The validator's weights at the segment's end must be the reference's, within the network's tolerance;
            // otherwise an arbiter of a third operator re-runs the segment and sides with one of them.
            if outcome == .verified, segmentMatches(task, replica) {
                paidRuns.append(replica)
            } else if outcome == .verified, !task.arbiterWaived {
                guard task.arbitrationMs != nil, let arbiter = completedRun(of: task, role: .arbiter) else {
                    throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) awaits its arbiter")
                }
                if segmentMatches(task, arbiter) {
                    paidRuns.append(arbiter)
                    loser = replica
                } else if segmentRunsAgree(task, arbiter, replica) {
                    // The gang did not train as it says: the validator and the arbiter are paid, every member loses.
                    paidRuns = [replica, arbiter]
                    loser = primary
                } else {
                    outcome = .disputed
                }
            } else {
                outcome = .disputed
            }
        } else if replicate {
            guard let replica = completedRun(of: task, role: .replica) else {
                throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) awaits its replica")
            }
            guard let agree = runsAgree(job, task, primary, replica) else {
                throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) awaits its tiles' comparison")
            }
            if agree {
                paidRuns.append(replica)
            } else if task.arbiterWaived {
                outcome = .disputed
            } else {
                // Two results that disagree: a third run under a third operator decides, by majority.
                guard task.arbitrationMs != nil, let arbiter = completedRun(of: task, role: .arbiter) else {
                    throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) awaits its arbiter")
                }
                guard let withPrimary = runsAgree(job, task, primary, arbiter), let withReplica = runsAgree(job, task, replica, arbiter) else {
                    throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) awaits its arbiter's tiles' comparison")
                }
                if withPrimary {
                    paidRuns = [primary, arbiter]
                    loser = replica
                } else if withReplica {
                    paidRuns = [replica, arbiter]
                    loser = primary
                } else {
                    outcome = .disputed
                }
            }
        }
        if let render = job.spec.render, outcome == .verified, loser?.id != primary.id {
            // A rejected frame is settled by its re-render: rendered alike, its run is paid after all; otherwise it lost.
            if let rejected = task.rejections.last.flatMap({ runs[$0.runId] }), rejected.id != primary.id {
                guard let alike = runsAgree(job, task, rejected, primary) else {
                    throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) awaits the comparison of its re-render with the rejected frame")
                }
                if alike { paidRuns.insert(rejected, at: 0) } else if loser == nil { loser = rejected }
            }
            if render.reviewS != nil, task.approvedMs == nil {
                throw CrucibleError(.conflict, "task \(jobId)/\(taskIndex) awaits its requester's review")
            }
        }
        // A disputed task pays nobody until a dispute is resolved.
        let payments = outcome == .disputed ? [] : try paidRuns.map { run -> TaskVerdict.Payment in
            guard let nodeId = run.nodeId, let node = nodes[nodeId], let started = run.startedMs, let ended = run.endedMs else {
                throw CrucibleError(.conflict, "run \(run.id) has no node or times")
            }
            let durationMs = min(max(ended - started, 0), Int64(job.spec.maxDurationS) * 1000)
            let amount = Pricing.runCostMicro(unitMilli: job.spec.unitMilli, priceMicroPerUnitHour: run.priceMicroPerUnitHour, durationMs: durationMs)
            return TaskVerdict.Payment(
                runId: run.id, to: node.registration.operatorAddress, amountMicro: amount,
                feeMicro: Pricing.feeMicro(on: amount, feeBps: parameters.feeBps)
            )
        }
        return TaskVerdict(jobId: jobId, taskIndex: taskIndex, outcome: outcome, payments: payments, losingRunId: outcome == .disputed ? nil : loser?.id)
    }
}
