import CrucibleCore
import CrucibleLedger
import CrucibleProof
import Foundation

/// Stake, slashing, emission epochs and governance (ARCHITECTURE §7) as transitions of the network state: every
/// amount follows from logged inputs and decisions, so a replay recomputes it and the audit can check it.
extension NetworkState {
    // MARK: - Stake

    /// The stake that backs all of an operator's registered nodes.
    public func requiredStakeMicro(of operatorAddress: String) -> Int64 {
        guard let last = nodeIdsByOperator[operatorAddress]?.last else { return 0 }
        return stakeNeededThrough[last] ?? 0
    }

    /// Whether the operator's stake covers this node: an operator's stake backs its nodes in the order they
    /// registered, so bonding less than all of them need keeps the earliest ones in the market.
    public func isStaked(_ node: NodeRecord) -> Bool {
        ledger.stake(of: node.registration.operatorAddress) >= stakeNeededThrough[node.id] ?? .max
    }

    /// Sums again what each of the operator's nodes needs covered, in registration order: after a node of theirs
    /// registered or changed its hardware.
    mutating func restack(operator operatorAddress: String) {
        var needed: Int64 = 0
        for id in nodeIdsByOperator[operatorAddress] ?? [] {
            needed += parameters.economy.requiredStakeMicro(for: nodes[id]?.registration.hardware.stakeClasses ?? [])
            stakeNeededThrough[id] = needed
        }
    }

    /// After the parameters changed (the stake per class may have).
    mutating func restackAll() {
        for operatorAddress in nodeIdsByOperator.keys { restack(operator: operatorAddress) }
    }

    mutating func applyStake(_ signer: String, _ request: StakeRequest, atMs nowMs: Int64, changes: inout Changes) throws {
        switch request.action {
        case .bond:
            try moveLedger(.bond(operator: signer, amountMicro: request.amountMicro), changes: &changes)
        case .unbond:
            try checkStakeMayLeave(signer)
            try moveLedger(.unbond(operator: signer, amountMicro: request.amountMicro, releaseMs: nowMs + parameters.economy.unbondingMs), changes: &changes)
        case .withdraw:
            guard request.amountMicro == 0 else {
                throw CrucibleError(.malformed, "a withdrawal takes whatever has finished unbonding; send amountMicro 0")
            }
            try checkStakeMayLeave(signer)
            try moveLedger(.withdraw(operator: signer, atMs: nowMs), changes: &changes)
        }
        changes.stakes.insert(signer)
        changes.totals = true
    }

    /// Stake backs open leases and stands behind disputes: while either is open, none of it may leave.
    private func checkStakeMayLeave(_ operatorAddress: String) throws {
        let leases = (nodeIdsByOperator[operatorAddress] ?? []).reduce(0) { $0 + (activeRunIdsByNode[$1]?.count ?? 0) }
        guard leases == 0 else {
            throw CrucibleError(.conflict, "\(Address.short(operatorAddress)) has \(leases) open lease(s); stake stays bonded until they end")
        }
        if let disputes = openDisputes[operatorAddress], disputes > 0 {
            throw CrucibleError(.conflict, "\(Address.short(operatorAddress)) has \(disputes) disputed task(s); stake stays bonded until they are resolved")
        }
    }

    // MARK: - Slashing

    /// Takes `bps` of what the operator has at stake (bonded, then unbonding) for a proven fault, shares it between
    /// the reporter (if any), the treasury and the burn by the governed shares, and records the evidence.
    mutating func slash(
        nodeId: String, reason: SlashRecord.Reason, bps: Int64, evidence: String, reporter: String?, atMs nowMs: Int64, changes: inout Changes
    ) throws {
        guard let node = nodes[nodeId] else { return }
        let operatorAddress = node.registration.operatorAddress
        let policy = parameters.economy
        let atStake = ledger.stake(of: operatorAddress) + ledger.unbondingAmount(of: operatorAddress)
        let amount = EconomyPolicy.portion(atStake, bps: bps)
        // Nothing staked, nothing to take; the fault itself is on record where it was found.
        guard amount > 0 else { return }
        let reporterPart = reporter == nil ? 0 : EconomyPolicy.portion(amount, bps: policy.slashReporterBps)
        let treasuryPart = EconomyPolicy.portion(amount, bps: policy.slashTreasuryBps)
        let burned = amount - reporterPart - treasuryPart
        try moveLedger(
            .slash(operator: operatorAddress, amountMicro: amount, burnMicro: burned, treasuryMicro: treasuryPart, reporter: reporterPart > 0 ? reporter : nil),
            changes: &changes
        )
        let record = SlashRecord(
            id: "slash-\(slashes.count + 1)", operatorAddress: operatorAddress, nodeId: nodeId, reason: reason, evidence: evidence,
            amountMicro: amount, burnedMicro: burned, treasuryMicro: treasuryPart, reporter: reporterPart > 0 ? reporter : nil, atMs: nowMs
        )
        slashes.append(record)
        changes.slashes.append(record.id)
        changes.stakes.insert(operatorAddress)
        changes.totals = true
    }

    // MARK: - Work and availability

    /// A node's proven throughput in thousandths of TOPS, as the proof table stores it.
    static func provenMilliTops(_ proof: NodeProof) -> Int64 {
        Int64((proof.provenTops * 1000).rounded())
    }

    /// Verified work of one paid run in milli-TOPS-seconds: billed units × time × the node's proven TOPS per unit.
    func workWeight(of run: RunRecord, spec: JobSpec, durationMs: Int64) -> Int64 {
        guard let nodeId = run.nodeId, let node = nodes[nodeId] else { return 0 }
        let hardware = node.registration.hardware
        let units = spec.resources.gpuMilli > 0 ? max(hardware.gpus.count, 1) : max(hardware.cpuCores, 1)
        let milliTopsPerUnit = Self.provenMilliTops(node.proof) / Int64(units)
        // unit-thousandths × ms × milli-TOPS is 10⁻⁹ unit·s·TOPS per count; a 128-bit product keeps it exact.
        let unitMs = spec.unitMilli * max(durationMs, 0)
        let product = unitMs.multipliedFullWidth(by: milliTopsPerUnit)
        return Int64(1_000_000).dividingFullWidth(product).quotient
    }

    mutating func creditWork(_ verdict: TaskVerdict, spec: JobSpec) {
        guard verdict.outcome == .verified else { return }
        for payment in verdict.payments {
            guard let run = runs[payment.runId], let started = run.startedMs, let ended = run.endedMs else { continue }
            let durationMs = min(max(ended - started, 0), Int64(spec.maxDurationS) * 1000)
            let weight = workWeight(of: run, spec: spec, durationMs: durationMs)
            if weight > 0 { epochWork[payment.to, default: 0] += weight }
        }
    }

    /// An unannounced challenge passed: the node was online, idle and proven when the coordinator looked. Such
    /// challenges come at exponentially distributed times with mean `meanIntervalMs` while a node is online and
    /// idle, so each pass stands for that much proven idle time on average; challenges at registration, retries
    /// and duplicates earn nothing, or re-registering would mint.
    mutating func creditAvailability(_ record: ChallengeRecord, proof: NodeProof) {
        guard record.issue.reason == .scheduled, let node = nodes[record.nodeId] else { return }
        let weight = parameters.challenges.meanIntervalMs.multipliedFullWidth(by: Self.provenMilliTops(proof))
        let credit = Int64(1_000).dividingFullWidth(weight).quotient
        if credit > 0 { epochAvailability[node.registration.operatorAddress, default: 0] += credit }
    }

    // MARK: - Epochs

    /// When the open epoch ends under the rules in force.
    public var epochEndMs: Int64 { epochStartMs + parameters.economy.epochMs }

    /// What closing the open epoch mints.
    public func expectedEmission() -> EpochEmission {
        EpochEmission.compute(policy: parameters.economy, workWeights: epochWork, availabilityWeights: epochAvailability)
    }

    mutating func closeEpoch(_ close: EpochClose, atMs nowMs: Int64, changes: inout Changes) throws {
        guard close.epoch == epoch else { throw CrucibleError(.conflict, "epoch \(epoch) is open, not \(close.epoch)") }
        guard close.endMs == epochEndMs, nowMs >= epochEndMs else {
            throw CrucibleError(.conflict, "epoch \(epoch) ends at \(epochEndMs), not \(close.endMs) (now \(nowMs))")
        }
        let expected = expectedEmission()
        guard close.emission == expected else { throw CrucibleError(.ledgerViolation, "epoch \(epoch)'s emission differs from what its work and challenges give") }
        if expected.totalMicro > 0 { try moveLedger(expected.mintEvent, changes: &changes) }
        var record = EpochRecord(
            epoch: epoch, startMs: epochStartMs, endMs: close.endMs, emission: expected,
            burnedMicro: ledger.burnedMicro - burnedAtEpochStart,
            workWeight: epochWork.values.reduce(0, +), availabilityWeight: epochAvailability.values.reduce(0, +), enacted: []
        )
        epoch += 1
        epochStartMs = close.endMs
        epochWork = [:]
        epochAvailability = [:]
        for proposal in governance.passed(effectiveIn: epoch) {
            if try enact(proposal, changes: &changes) { record.enacted.append(proposal.id) }
        }
        burnedAtEpochStart = ledger.burnedMicro
        epochs.append(record)
        changes.epochs.append(record.epoch)
        changes.totals = true
    }

    // MARK: - Governance

    mutating func propose(_ proposer: String, _ proposal: GovernanceProposal, atMs nowMs: Int64, changes: inout Changes) throws {
        // The changes must make sense against the rules in force now; they are checked again when they take effect.
        _ = try parameters.applying(proposal.changes)
        let id = try governance.submit(
            proposal, by: proposer, stakes: ledger.stakes, policy: parameters.economy, currentEpoch: epoch, atMs: nowMs
        )
        changes.proposals.insert(id)
    }

    mutating func vote(_ voter: String, _ vote: GovernanceVote, atMs nowMs: Int64, changes: inout Changes) throws {
        try governance.vote(vote, by: voter, atMs: nowMs)
        changes.proposals.insert(vote.proposalId)
    }

    mutating func tallyProposal(_ id: String, atMs nowMs: Int64, changes: inout Changes) throws {
        try governance.tally(id, atMs: nowMs)
        changes.proposals.insert(id)
    }

    /// Puts a passed proposal in force, whole or not at all: its values must still make sense with whatever took
    /// effect since, and the treasury must hold its grants.
    private mutating func enact(_ record: ProposalRecord, changes: inout Changes) throws -> Bool {
        changes.proposals.insert(record.id)
        let next: NetworkParameters
        do {
            next = try parameters.applying(record.proposal.changes)
        } catch let error as CrucibleError {
            governance.settle(record.id, enacted: false, note: "not enacted: \(error.message)")
            return false
        }
        let granted = record.proposal.grants.reduce(Int64(0)) { $0 + $1.amountMicro }
        guard granted <= ledger.treasuryMicro else {
            governance.settle(record.id, enacted: false, note: "not enacted: the treasury holds \(Amount.format(ledger.treasuryMicro)) CRU, the grants ask \(Amount.format(granted)) CRU")
            return false
        }
        for grant in record.proposal.grants {
            try moveLedger(.spendTreasury(to: grant.to, amountMicro: grant.amountMicro), changes: &changes)
        }
        parameters = next
        restackAll()
        governance.settle(record.id, enacted: true, note: nil)
        return true
    }
}
