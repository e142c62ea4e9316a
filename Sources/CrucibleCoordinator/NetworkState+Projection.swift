import CrucibleCore
import CrucibleLedger
import CrucibleStore
import Foundation

extension NetworkState {
    /// The rows that `changes` touched, as they are now.
    public func projectionRows(for changes: Changes) -> ProjectionBatch {
        var batch = ProjectionBatch()
        for address in changes.ledger.addresses.sorted() {
            batch.accounts.append(AccountRow(address: address, balanceMicro: ledger.balance(of: address)))
        }
        for jobId in changes.ledger.escrowJobs.sorted() {
            if let escrow = ledger.escrows[jobId] {
                batch.escrows.append(EscrowRow(jobId: jobId, payer: escrow.payer, amountMicro: escrow.amountMicro))
            } else {
                batch.closedEscrows.append(jobId)
            }
        }
        if !changes.ledger.addresses.isEmpty || !changes.ledger.escrowJobs.isEmpty || changes.totals {
            batch.totals = totalRows()
        }
        for address in changes.stakes.sorted() {
            if let row = stakeRow(address) { batch.stakes.append(row) } else { batch.clearedStakes.append(address) }
        }
        batch.epochs = changes.epochs.compactMap { number in epochs.first { $0.epoch == number }.map(epochRow) }
        let slashIds = Set(changes.slashes)
        batch.slashes = slashes.filter { slashIds.contains($0.id) }.map(slashRow)
        batch.proposals = changes.proposals.sorted().compactMap { governance.proposals[$0].map(proposalRow) }
        batch.nodes = changes.nodes.sorted().compactMap { nodes[$0].map(nodeRow) }
        batch.nodeProofs = changes.nodes.sorted().compactMap { nodes[$0].map(nodeProofRow) }
        for jobId in changes.jobs.sorted() {
            guard let job = jobs[jobId] else { continue }
            batch.jobs.append(jobRow(job))
            batch.tasks += job.tasks.map { taskRow(job, $0) }
        }
        batch.runs = changes.runs.sorted().compactMap { runs[$0].map(runRow) }
        return batch
    }

    /// Every row, as a replay computes it; the audit compares this with the stored tables.
    public func projectionSnapshot() -> ProjectionSnapshot {
        ProjectionSnapshot(
            accounts: ledger.balances.map { AccountRow(address: $0.key, balanceMicro: $0.value) },
            escrows: ledger.escrows.map { EscrowRow(jobId: $0.key, payer: $0.value.payer, amountMicro: $0.value.amountMicro) },
            totals: totalRows(),
            nodes: nodes.values.map(nodeRow),
            nodeProofs: nodes.values.map(nodeProofRow),
            jobs: jobs.values.map(jobRow),
            tasks: jobs.values.flatMap { job in job.tasks.map { taskRow(job, $0) } },
            runs: runs.values.map(runRow),
            stakes: Set(ledger.stakes.keys).union(ledger.unbonding.keys).compactMap(stakeRow),
            epochs: epochs.map(epochRow),
            slashes: slashes.map(slashRow),
            proposals: governance.proposals.values.map(proposalRow)
        ).normalized()
    }

    func totalRows() -> [TotalRow] {
        [
            TotalRow(name: "burned", amountMicro: ledger.burnedMicro),
            TotalRow(name: "genesis", amountMicro: ledger.genesisMicro),
            TotalRow(name: "minted", amountMicro: ledger.mintedMicro),
            TotalRow(name: "staked", amountMicro: ledger.totalStakeMicro),
            TotalRow(name: "treasury", amountMicro: ledger.treasuryMicro),
            TotalRow(name: "unbonding", amountMicro: ledger.totalUnbondingMicro),
        ]
    }

    func stakeRow(_ address: String) -> StakeRow? {
        let staked = ledger.stake(of: address)
        let unbonding = ledger.unbondingAmount(of: address)
        guard staked > 0 || unbonding > 0 else { return nil }
        return StakeRow(address: address, stakedMicro: staked, unbondingMicro: unbonding)
    }

    func epochRow(_ record: EpochRecord) -> EpochRow {
        EpochRow(
            epoch: record.epoch, startMs: record.startMs, endMs: record.endMs, mintedMicro: record.mintedMicro, burnedMicro: record.burnedMicro,
            treasuryMicro: record.emission.treasuryMicro, workWeight: record.workWeight, availabilityWeight: record.availabilityWeight,
            emission: Self.json(record.emission), enacted: Self.json(record.enacted)
        )
    }

    func slashRow(_ record: SlashRecord) -> SlashRow {
        SlashRow(
            id: record.id, operatorAddress: record.operatorAddress, nodeId: record.nodeId, reason: record.reason.rawValue, evidence: record.evidence,
            amountMicro: record.amountMicro, burnedMicro: record.burnedMicro, treasuryMicro: record.treasuryMicro, reporter: record.reporter, atMs: record.atMs
        )
    }

    func proposalRow(_ record: ProposalRecord) -> ProposalRow {
        ProposalRow(
            id: record.id, proposer: record.proposer, title: record.proposal.title, status: record.status.rawValue, proposal: Self.json(record.proposal),
            submittedMs: record.submittedMs, votingEndsMs: record.votingEndsMs, effectiveEpoch: record.proposal.effectiveEpoch,
            snapshotTotalMicro: record.snapshotTotalMicro, yesMicro: record.yesMicro, noMicro: record.noMicro, abstainMicro: record.abstainMicro,
            votes: Self.json(record.votes.mapValues(\.rawValue)), note: record.note
        )
    }

    func nodeRow(_ node: NodeRecord) -> NodeRow {
        NodeRow(
            id: node.id, operatorAddress: node.registration.operatorAddress, region: node.registration.region,
            registration: Self.json(node.registration), registeredMs: node.registeredMs,
            runsDone: node.runsDone, earnedMicro: node.earnedMicro
        )
    }

    func nodeProofRow(_ node: NodeRecord) -> NodeProofRow {
        let proof = node.proof
        return NodeProofRow(
            nodeId: node.id, status: proof.status.rawValue, provenMilliTops: Int64((proof.provenTops * 1000).rounded()),
            passed: proof.passed, failed: proof.failed, consecutiveFailures: proof.consecutiveFailures,
            lastJudgedMs: proof.lastJudgedMs, openChallengeId: proof.openChallengeId
        )
    }

    func jobRow(_ job: JobRecord) -> JobRow {
        JobRow(
            id: job.id, requester: job.requester, name: job.spec.name, state: job.state.rawValue, spec: Self.json(job.spec),
            submittedMs: job.submittedMs, closedMs: job.closedMs, escrowLockedMicro: job.escrowLockedMicro,
            paidMicro: job.paidMicro, burnedMicro: job.burnedMicro, refundedMicro: job.refundedMicro
        )
    }

    func taskRow(_ job: JobRecord, _ task: TaskRecord) -> TaskRow {
        TaskRow(id: "\(job.id)/\(task.index)", jobId: job.id, taskIndex: task.index, state: task.state.rawValue, digest: task.digest)
    }

    func runRow(_ run: RunRecord) -> RunRow {
        RunRow(
            id: run.id, jobId: run.jobId, taskIndex: run.taskIndex, role: run.role.rawValue, attempt: run.attempt,
            state: run.state.rawValue, nodeId: run.nodeId, priceMicroPerUnitHour: run.priceMicroPerUnitHour,
            startedMs: run.startedMs, endedMs: run.endedMs, exitCode: run.exitCode.map(Int.init), digest: run.digest,
            outputs: Self.json(run.outputs), paidMicro: run.paidMicro
        )
    }

    static func json(_ value: some Encodable) -> String {
        // Encoding plain value types to JSON cannot fail.
        String(decoding: (try? CanonicalJSON.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }
}
