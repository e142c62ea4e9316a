import CrucibleCore

/// A proposal and its votes. Votes weigh what each voter had staked when the proposal was made (its snapshot), so
/// stake bonded afterwards cannot buy the outcome; each voter votes once.
public struct ProposalRecord: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        case open
        /// Quorum met and yes above the threshold; waits for its epoch.
        case passed
        /// Quorum met, yes at or below the threshold.
        case rejected
        /// Too little of the snapshot's stake voted.
        case expired
        /// In force from its epoch.
        case enacted
        /// Passed, but could not take effect (its values conflict with what is in force by then, or the treasury
        /// cannot pay its grants); nothing of it changed.
        case failed
    }

    public var id: String
    public var proposer: String
    public var proposal: GovernanceProposal
    public var submittedMs: Int64
    public var votingEndsMs: Int64
    /// The terms it is judged by, fixed when it is made.
    public var quorumBps: Int64
    public var thresholdBps: Int64
    public var snapshot: [String: Int64]
    public var snapshotTotalMicro: Int64
    public var votes: [String: GovernanceVote.Choice] = [:]
    public var yesMicro: Int64 = 0
    public var noMicro: Int64 = 0
    public var abstainMicro: Int64 = 0
    public var status: Status = .open
    /// Why it was rejected, expired or failed, for people.
    public var note: String?

    public var votedMicro: Int64 { yesMicro + noMicro + abstainMicro }

    /// The outcome once voting has closed: quorum over all votes cast (abstentions count toward it), then the
    /// threshold over yes and no.
    public var outcome: (status: Status, note: String) {
        let quorum = EconomyPolicy.portion(snapshotTotalMicro, bps: quorumBps)
        guard snapshotTotalMicro > 0, votedMicro >= quorum, votedMicro > 0 else {
            return (.expired, "\(Amount.format(votedMicro)) CRU voted; quorum is \(Amount.format(quorum)) CRU of \(Amount.format(snapshotTotalMicro)) CRU staked")
        }
        let decided = yesMicro + noMicro
        guard decided > 0, yesMicro > EconomyPolicy.portion(decided, bps: thresholdBps) else {
            return (.rejected, "yes \(Amount.format(yesMicro)) CRU, no \(Amount.format(noMicro)) CRU; passing needs more than \(thresholdBps / 100)% yes")
        }
        return (.passed, "yes \(Amount.format(yesMicro)) CRU, no \(Amount.format(noMicro)) CRU, abstain \(Amount.format(abstainMicro)) CRU")
    }
}

/// Proposals and votes as a pure state machine. The coordinator checks what a proposal changes (names and values
/// it knows) before it submits one here, and carries out passed proposals at their epoch.
public struct Governance: Sendable, Equatable {
    public private(set) var proposals: [String: ProposalRecord] = [:]
    /// Ids in the order proposals were made.
    public private(set) var order: [String] = []

    public init() {}

    public static let titleBytesMax = 200
    public static let rationaleBytesMax = 8_192
    public static let changesMax = 32

    public func proposal(_ id: String) throws -> ProposalRecord {
        guard let record = proposals[id] else { throw CrucibleError(.notFound, "no proposal \(id)") }
        return record
    }

    public var nextId: String { "proposal-\(order.count + 1)" }

    /// Checks a proposal's form and its proposer's standing; its changes are checked by the caller.
    public func checkSubmission(
        _ proposal: GovernanceProposal, by proposer: String, stakes: [String: Int64], policy: EconomyPolicy, currentEpoch: Int
    ) throws {
        func malformed(_ message: String) -> CrucibleError { CrucibleError(.malformed, "proposal: \(message)") }
        guard !proposal.title.isEmpty, proposal.title.utf8.count <= Self.titleBytesMax else { throw malformed("title must be 1 to \(Self.titleBytesMax) bytes") }
        guard proposal.rationale.utf8.count <= Self.rationaleBytesMax else { throw malformed("rationale is at most \(Self.rationaleBytesMax) bytes") }
        guard !proposal.changes.isEmpty || !proposal.grants.isEmpty else { throw malformed("a proposal changes a parameter or pays a grant") }
        guard proposal.changes.count + proposal.grants.count <= Self.changesMax else { throw malformed("at most \(Self.changesMax) changes and grants") }
        guard Set(proposal.changes.map(\.name)).count == proposal.changes.count else { throw malformed("each parameter at most once") }
        for grant in proposal.grants {
            guard Address.isValid(grant.to) else { throw malformed("grant to an invalid address") }
            guard grant.amountMicro > 0 else { throw malformed("grants must be positive") }
        }
        guard Amount.total(proposal.grants.map(\.amountMicro)) != nil else { throw malformed("grants overflow") }
        let earliest = Self.earliestEffectiveEpoch(currentEpoch: currentEpoch, policy: policy)
        guard proposal.effectiveEpoch >= earliest else {
            throw malformed("effectiveEpoch must be at least \(earliest): voting lasts \(policy.votingPeriodMs / 1000) s and epoch \(currentEpoch) is under way")
        }
        guard proposal.effectiveEpoch <= currentEpoch + 1_000 else { throw malformed("effectiveEpoch is more than 1,000 epochs away") }
        let staked = stakes[proposer] ?? 0
        guard staked >= policy.proposalStakeMicro else {
            throw CrucibleError(.forbidden, "proposing needs \(Amount.format(policy.proposalStakeMicro)) CRU staked; \(Address.short(proposer)) has \(Amount.format(staked)) CRU")
        }
    }

    /// The first epoch a proposal made now can take effect in: after the current epoch and every epoch its vote
    /// may still be open in.
    public static func earliestEffectiveEpoch(currentEpoch: Int, policy: EconomyPolicy) -> Int {
        currentEpoch + 1 + Int((policy.votingPeriodMs + policy.epochMs - 1) / policy.epochMs)
    }

    @discardableResult
    public mutating func submit(
        _ proposal: GovernanceProposal, by proposer: String, stakes: [String: Int64], policy: EconomyPolicy, currentEpoch: Int, atMs nowMs: Int64
    ) throws -> String {
        try checkSubmission(proposal, by: proposer, stakes: stakes, policy: policy, currentEpoch: currentEpoch)
        let id = nextId
        proposals[id] = ProposalRecord(
            id: id, proposer: proposer, proposal: proposal, submittedMs: nowMs, votingEndsMs: nowMs + policy.votingPeriodMs,
            quorumBps: policy.quorumBps, thresholdBps: policy.thresholdBps, snapshot: stakes,
            snapshotTotalMicro: stakes.values.reduce(0, +)
        )
        order.append(id)
        return id
    }

    public mutating func vote(_ vote: GovernanceVote, by voter: String, atMs nowMs: Int64) throws {
        let record = try proposal(vote.proposalId)
        guard record.status == .open, nowMs <= record.votingEndsMs else {
            throw CrucibleError(.conflict, "voting on \(record.id) is closed")
        }
        guard record.votes[voter] == nil else { throw CrucibleError(.conflict, "\(Address.short(voter)) has already voted on \(record.id)") }
        guard let weight = record.snapshot[voter], weight > 0 else {
            throw CrucibleError(.forbidden, "\(Address.short(voter)) had no stake when \(record.id) was made, so it has no vote")
        }
        proposals[record.id]!.votes[voter] = vote.choice
        switch vote.choice {
        case .yes: proposals[record.id]!.yesMicro += weight
        case .no: proposals[record.id]!.noMicro += weight
        case .abstain: proposals[record.id]!.abstainMicro += weight
        }
    }

    /// Closes voting on a proposal whose period is over, with the outcome its votes give.
    public mutating func tally(_ id: String, atMs nowMs: Int64) throws {
        let record = try proposal(id)
        guard record.status == .open, nowMs > record.votingEndsMs else { throw CrucibleError(.conflict, "\(id) is not due for a tally") }
        let outcome = record.outcome
        proposals[id]!.status = outcome.status
        proposals[id]!.note = outcome.note
    }

    /// Open proposals whose voting period is over at `nowMs`, oldest first.
    public func dueForTally(atMs nowMs: Int64) -> [String] {
        order.filter { proposals[$0]!.status == .open && nowMs > proposals[$0]!.votingEndsMs }
    }

    /// Passed proposals that take effect in `epoch`, oldest first.
    public func passed(effectiveIn epoch: Int) -> [ProposalRecord] {
        order.compactMap { proposals[$0] }.filter { $0.status == .passed && $0.proposal.effectiveEpoch <= epoch }
    }

    public mutating func settle(_ id: String, enacted: Bool, note: String?) {
        proposals[id]?.status = enacted ? .enacted : .failed
        if let note { proposals[id]?.note = note }
    }
}
