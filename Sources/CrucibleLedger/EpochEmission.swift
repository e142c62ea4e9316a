import CrucibleCore

/// How one epoch's emission is shared out (ARCHITECTURE §7): the work pool pro rata to each operator's verified
/// work, the availability pool pro rata to its proven idle capacity, the treasury its share. Weights above a
/// governed share of a pool count at a reduced rate, so a few large wallets cannot take most of it. A pool nobody
/// earned is not minted; what rounding leaves of an earned pool goes to the treasury, so every figure is exact.
public struct EpochEmission: Codable, Sendable, Equatable {
    public struct Share: Codable, Sendable, Equatable {
        public var address: String
        public var workMicro: Int64
        public var availabilityMicro: Int64
        public var totalMicro: Int64 { workMicro + availabilityMicro }
    }

    /// Per operator, in address order.
    public var shares: [Share]
    public var treasuryMicro: Int64

    public var totalMicro: Int64 { shares.reduce(treasuryMicro) { $0 + $1.totalMicro } }

    /// The ledger event that mints this emission.
    public var mintEvent: LedgerEvent {
        .mint(
            recipients: shares.filter { $0.totalMicro > 0 }.map { LedgerEvent.Allocation(address: $0.address, amountMicro: $0.totalMicro) },
            treasuryMicro: treasuryMicro
        )
    }

    /// Weights are in TOPS-seconds: verified device-time × proven throughput for work, proven idle capacity for
    /// availability. Negative weights count as none.
    public static func compute(policy: EconomyPolicy, workWeights: [String: Int64], availabilityWeights: [String: Int64]) -> EpochEmission {
        let emission = policy.emissionMicroPerEpoch
        let workPool = EconomyPolicy.portion(emission, bps: policy.workShareBps)
        let availabilityPool = EconomyPolicy.portion(emission, bps: policy.availabilityShareBps)
        var treasury = emission - workPool - availabilityPool
        let work = split(workPool, damped(workWeights, policy: policy))
        let availability = split(availabilityPool, damped(availabilityWeights, policy: policy))
        treasury += work.dust + availability.dust
        let addresses = Set(work.amounts.keys).union(availability.amounts.keys).sorted()
        let shares = addresses.map { Share(address: $0, workMicro: work.amounts[$0] ?? 0, availabilityMicro: availability.amounts[$0] ?? 0) }
        return EpochEmission(shares: shares, treasuryMicro: treasury)
    }

    /// Each weight above `dampingThresholdBps` of the total counts at `dampingRateBps` beyond it.
    public static func damped(_ weights: [String: Int64], policy: EconomyPolicy) -> [String: Int64] {
        let positive = weights.filter { $0.value > 0 }
        let total = Amount.total(positive.values) ?? .max
        let threshold = EconomyPolicy.portion(total, bps: policy.dampingThresholdBps)
        return positive.mapValues { weight in
            weight <= threshold ? weight : threshold + EconomyPolicy.portion(weight - threshold, bps: policy.dampingRateBps)
        }
    }

    /// `pool` pro rata to `weights`, rounded down; the dust is what rounding left. Nothing is paid from a pool
    /// nobody earned, and then there is no dust either: the pool is simply not minted.
    static func split(_ pool: Int64, _ weights: [String: Int64]) -> (amounts: [String: Int64], dust: Int64) {
        let total = Amount.total(weights.values) ?? .max
        guard total > 0, pool > 0 else { return ([:], 0) }
        var amounts = [String: Int64]()
        var paid: Int64 = 0
        for (address, weight) in weights {
            let amount = Amount.scaled(pool, by: min(weight, total), over: total)
            if amount > 0 { amounts[address] = amount }
            paid += amount
        }
        return (amounts, pool - paid)
    }
}
