import CrucibleCore

/// The token's governed rules (ARCHITECTURE §7): stake per device class, unbonding, slashing shares, epochs and their
/// emission, and the terms of governance itself. Every field is an integer so that a proposal can name it and set it.
public struct EconomyPolicy: Codable, Sendable, Equatable {
    /// Stake an operator bonds per listed device of each class, in µCRU, before its nodes are matched.
    public var stakeFlagshipMicro: Int64
    public var stakeHighMicro: Int64
    public var stakeMidMicro: Int64
    public var stakeEntryMicro: Int64
    public var stakeCpuMicro: Int64
    /// How long unbonded stake stays slashable before it can be withdrawn.
    public var unbondingMs: Int64
    /// Share of an operator's stake slashed for work that failed verification (a lost dispute).
    public var slashFailedWorkBps: Int64
    /// Share slashed for proven spoofing: hardware that forged its proof.
    public var slashSpoofBps: Int64
    /// Share of a slash paid to whoever proved the fault, when someone other than the protocol did.
    public var slashReporterBps: Int64
    /// Share of a slash that goes to the treasury; the rest (after the reporter's part) is burned.
    public var slashTreasuryBps: Int64
    /// Length of an emission epoch.
    public var epochMs: Int64
    /// Tokens minted at the close of each epoch, split between the pools below.
    public var emissionMicroPerEpoch: Int64
    /// Shares of each emission: verified work, proven availability, the treasury. They add up to 10,000.
    public var workShareBps: Int64
    public var availabilityShareBps: Int64
    public var treasuryShareBps: Int64
    /// Concentration damping: an operator's weight above this share of a pool's total weight…
    public var dampingThresholdBps: Int64
    /// …counts at this rate (10,000 = no damping).
    public var dampingRateBps: Int64
    /// Share of the stake bonded at a proposal's snapshot that must vote for the result to count.
    public var quorumBps: Int64
    /// Share of the stake voting that must vote yes for a proposal to pass.
    public var thresholdBps: Int64
    /// How long a proposal is open to votes.
    public var votingPeriodMs: Int64
    /// Stake a proposer must have bonded, so proposals are not free to spam.
    public var proposalStakeMicro: Int64

    public init(
        stakeFlagshipMicro: Int64 = 2_000 * Amount.microPerCRU, stakeHighMicro: Int64 = 1_000 * Amount.microPerCRU,
        stakeMidMicro: Int64 = 400 * Amount.microPerCRU, stakeEntryMicro: Int64 = 200 * Amount.microPerCRU,
        stakeCpuMicro: Int64 = 20 * Amount.microPerCRU,
        unbondingMs: Int64 = 7 * 86_400_000,
        slashFailedWorkBps: Int64 = 1_000, slashSpoofBps: Int64 = 10_000, slashReporterBps: Int64 = 5_000, slashTreasuryBps: Int64 = 0,
        epochMs: Int64 = 7 * 86_400_000, emissionMicroPerEpoch: Int64 = 100_000 * Amount.microPerCRU,
        workShareBps: Int64 = 6_000, availabilityShareBps: Int64 = 3_000, treasuryShareBps: Int64 = 1_000,
        dampingThresholdBps: Int64 = 100, dampingRateBps: Int64 = 5_000,
        quorumBps: Int64 = 2_000, thresholdBps: Int64 = 5_000, votingPeriodMs: Int64 = 3 * 86_400_000,
        proposalStakeMicro: Int64 = 1_000 * Amount.microPerCRU
    ) {
        self.stakeFlagshipMicro = stakeFlagshipMicro
        self.stakeHighMicro = stakeHighMicro
        self.stakeMidMicro = stakeMidMicro
        self.stakeEntryMicro = stakeEntryMicro
        self.stakeCpuMicro = stakeCpuMicro
        self.unbondingMs = unbondingMs
        self.slashFailedWorkBps = slashFailedWorkBps
        self.slashSpoofBps = slashSpoofBps
        self.slashReporterBps = slashReporterBps
        self.slashTreasuryBps = slashTreasuryBps
        self.epochMs = epochMs
        self.emissionMicroPerEpoch = emissionMicroPerEpoch
        self.workShareBps = workShareBps
        self.availabilityShareBps = availabilityShareBps
        self.treasuryShareBps = treasuryShareBps
        self.dampingThresholdBps = dampingThresholdBps
        self.dampingRateBps = dampingRateBps
        self.quorumBps = quorumBps
        self.thresholdBps = thresholdBps
        self.votingPeriodMs = votingPeriodMs
        self.proposalStakeMicro = proposalStakeMicro
    }

    /// The rules of a network whose genesis predates the economy: no stake required, nothing minted. A log keeps
    /// replaying under the rules it was written with.
    public static let none = EconomyPolicy(
        stakeFlagshipMicro: 0, stakeHighMicro: 0, stakeMidMicro: 0, stakeEntryMicro: 0, stakeCpuMicro: 0,
        emissionMicroPerEpoch: 0
    )

    public func stakeMicro(per stakeClass: StakeClass) -> Int64 {
        switch stakeClass {
        case .flagship: stakeFlagshipMicro
        case .high: stakeHighMicro
        case .mid: stakeMidMicro
        case .entry: stakeEntryMicro
        case .cpu: stakeCpuMicro
        }
    }

    /// The stake that backs devices of these classes.
    public func requiredStakeMicro(for classes: [StakeClass]) -> Int64 {
        classes.reduce(0) { $0 + stakeMicro(per: $1) }
    }

    /// `bps` basis points of `amountMicro`, rounded down.
    public static func portion(_ amountMicro: Int64, bps: Int64) -> Int64 {
        Amount.scaled(amountMicro, by: bps, over: 10_000)
    }

    /// Every rule a policy must meet: a proposal or a parameters file that breaks one is refused whole.
    public func validate() throws {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.malformed, "economy: \(message)") }
        let stakes = [stakeFlagshipMicro, stakeHighMicro, stakeMidMicro, stakeEntryMicro, stakeCpuMicro]
        let maxAmount = 1_000_000_000 * Amount.microPerCRU
        guard stakes.allSatisfy({ (0...maxAmount).contains($0) }) else { throw fail("stakes must be between 0 and 1,000,000,000 CRU") }
        guard stakeFlagshipMicro >= stakeHighMicro, stakeHighMicro >= stakeMidMicro, stakeMidMicro >= stakeEntryMicro else {
            throw fail("a stronger class may not stake less than a weaker one")
        }
        let shares = [slashFailedWorkBps, slashSpoofBps, slashReporterBps, slashTreasuryBps, workShareBps, availabilityShareBps,
                      treasuryShareBps, dampingThresholdBps, dampingRateBps, quorumBps, thresholdBps]
        guard shares.allSatisfy({ (0...10_000).contains($0) }) else { throw fail("shares are basis points between 0 and 10000") }
        guard slashReporterBps + slashTreasuryBps <= 10_000 else { throw fail("reporter and treasury shares of a slash exceed all of it") }
        guard workShareBps + availabilityShareBps + treasuryShareBps == 10_000 else {
            throw fail("work, availability and treasury shares must add up to 10000 bps")
        }
        guard dampingRateBps > 0 else { throw fail("dampingRateBps must be positive, or the largest operators earn nothing") }
        guard thresholdBps >= 5_000 else { throw fail("a threshold below half would let a minority pass proposals") }
        let day: Int64 = 86_400_000
        // Seconds-long epochs suit test networks and devnets; a live network's proposals choose days.
        guard (1_000...365 * day).contains(epochMs) else { throw fail("epochMs must be between a second and a year") }
        guard (0...365 * day).contains(unbondingMs), (1_000...365 * day).contains(votingPeriodMs) else {
            throw fail("unbondingMs and votingPeriodMs must be under a year")
        }
        guard (0...maxAmount).contains(emissionMicroPerEpoch), (0...maxAmount).contains(proposalStakeMicro) else {
            throw fail("emission and proposal stake must be between 0 and 1,000,000,000 CRU")
        }
    }
}

extension EconomyPolicy {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case stakeFlagshipMicro, stakeHighMicro, stakeMidMicro, stakeEntryMicro, stakeCpuMicro, unbondingMs
        case slashFailedWorkBps, slashSpoofBps, slashReporterBps, slashTreasuryBps, epochMs, emissionMicroPerEpoch
        case workShareBps, availabilityShareBps, treasuryShareBps, dampingThresholdBps, dampingRateBps
        case quorumBps, thresholdBps, votingPeriodMs, proposalStakeMicro
    }

    /// The field names a parameters file may use.
    public static var fieldNames: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    /// Fields left out take their defaults, so a parameters file names only what it changes.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        func read(_ key: CodingKeys, _ field: WritableKeyPath<EconomyPolicy, Int64>) throws {
            if let value = try container.decodeIfPresent(Int64.self, forKey: key) { self[keyPath: field] = value }
        }
        try read(.stakeFlagshipMicro, \.stakeFlagshipMicro)
        try read(.stakeHighMicro, \.stakeHighMicro)
        try read(.stakeMidMicro, \.stakeMidMicro)
        try read(.stakeEntryMicro, \.stakeEntryMicro)
        try read(.stakeCpuMicro, \.stakeCpuMicro)
        try read(.unbondingMs, \.unbondingMs)
        try read(.slashFailedWorkBps, \.slashFailedWorkBps)
        try read(.slashSpoofBps, \.slashSpoofBps)
        try read(.slashReporterBps, \.slashReporterBps)
        try read(.slashTreasuryBps, \.slashTreasuryBps)
        try read(.epochMs, \.epochMs)
        try read(.emissionMicroPerEpoch, \.emissionMicroPerEpoch)
        try read(.workShareBps, \.workShareBps)
        try read(.availabilityShareBps, \.availabilityShareBps)
        try read(.treasuryShareBps, \.treasuryShareBps)
        try read(.dampingThresholdBps, \.dampingThresholdBps)
        try read(.dampingRateBps, \.dampingRateBps)
        try read(.quorumBps, \.quorumBps)
        try read(.thresholdBps, \.thresholdBps)
        try read(.votingPeriodMs, \.votingPeriodMs)
        try read(.proposalStakeMicro, \.proposalStakeMicro)
    }
}
