import CrucibleCore
import CrucibleLedger
import CrucibleProof

/// The parameters a proposal may change, by name. Anything not listed here (time-outs of the protocol, checkpoint
/// spacing) is an operating setting of the coordinator, not a rule of the economy.
extension NetworkParameters {
    /// Each governed name with how to read and write it.
    private static func field(_ name: String) -> WritableKeyPath<NetworkParameters, Int64>? {
        switch name {
        case "feeBps": \.feeBps
        case "replicaWaitMs": \.replicaWaitMs
        case "priceBandBps": \.priceBandBps
        case "linkFreshMs": \.linkFreshMs
        case "trainDeviationPpmMax": \.trainDeviationPpmMax
        case "renderPsnrMilliDbMin": \.renderPsnrMilliDbMin
        case "renderCropPpm": \.renderCropPpm
        case "renderCropTiles": \.renderCropTiles
        case "referenceMicroUsdPerCru": \.referenceMicroUsdPerCru
        case "adaptive.warmupVerified": \.adaptive.warmupVerified
        case "adaptive.floorPpm": \.adaptive.floorPpm
        case "challenges.floorBps": \.challenges.floorBps
        case "challenges.slackPercent": \.challenges.slackPercent
        case "challenges.meanIntervalMs": \.challenges.meanIntervalMs
        case "challenges.retryMs": \.challenges.retryMs
        case "economy.stakeFlagshipMicro": \.economy.stakeFlagshipMicro
        case "economy.stakeHighMicro": \.economy.stakeHighMicro
        case "economy.stakeMidMicro": \.economy.stakeMidMicro
        case "economy.stakeEntryMicro": \.economy.stakeEntryMicro
        case "economy.stakeCpuMicro": \.economy.stakeCpuMicro
        case "economy.unbondingMs": \.economy.unbondingMs
        case "economy.slashFailedWorkBps": \.economy.slashFailedWorkBps
        case "economy.slashSpoofBps": \.economy.slashSpoofBps
        case "economy.slashReporterBps": \.economy.slashReporterBps
        case "economy.slashTreasuryBps": \.economy.slashTreasuryBps
        case "economy.epochMs": \.economy.epochMs
        case "economy.emissionMicroPerEpoch": \.economy.emissionMicroPerEpoch
        case "economy.workShareBps": \.economy.workShareBps
        case "economy.availabilityShareBps": \.economy.availabilityShareBps
        case "economy.treasuryShareBps": \.economy.treasuryShareBps
        case "economy.dampingThresholdBps": \.economy.dampingThresholdBps
        case "economy.dampingRateBps": \.economy.dampingRateBps
        case "economy.quorumBps": \.economy.quorumBps
        case "economy.thresholdBps": \.economy.thresholdBps
        case "economy.votingPeriodMs": \.economy.votingPeriodMs
        case "economy.proposalStakeMicro": \.economy.proposalStakeMicro
        default: nil
        }
    }

    public static let governedNames: [String] = [
        "feeBps", "replicaWaitMs", "priceBandBps", "linkFreshMs", "trainDeviationPpmMax", "renderPsnrMilliDbMin", "renderCropPpm", "renderCropTiles", "referenceMicroUsdPerCru", "adaptive.warmupVerified", "adaptive.floorPpm", "challenges.floorBps", "challenges.slackPercent", "challenges.meanIntervalMs", "challenges.retryMs",
        "economy.stakeFlagshipMicro", "economy.stakeHighMicro", "economy.stakeMidMicro", "economy.stakeEntryMicro", "economy.stakeCpuMicro",
        "economy.unbondingMs", "economy.slashFailedWorkBps", "economy.slashSpoofBps", "economy.slashReporterBps", "economy.slashTreasuryBps",
        "economy.epochMs", "economy.emissionMicroPerEpoch", "economy.workShareBps", "economy.availabilityShareBps", "economy.treasuryShareBps",
        "economy.dampingThresholdBps", "economy.dampingRateBps", "economy.quorumBps", "economy.thresholdBps", "economy.votingPeriodMs",
        "economy.proposalStakeMicro",
    ]

    public func value(of name: String) -> Int64? {
        Self.field(name).map { self[keyPath: $0] }
    }

    /// These parameters with `changes` made, all or none: an unknown name, or values that together break a rule,
    /// are refused with the reason.
    public func applying(_ changes: [GovernanceProposal.Change]) throws -> NetworkParameters {
        var next = self
        for change in changes {
            guard let field = Self.field(change.name) else {
                throw CrucibleError(.malformed, "`\(change.name.prefix(64))` is not a governed parameter; governed: \(Self.governedNames.joined(separator: ", "))")
            }
            next[keyPath: field] = change.value
        }
        try next.validate()
        return next
    }
}
