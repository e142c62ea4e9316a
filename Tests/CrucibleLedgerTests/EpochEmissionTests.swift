import CrucibleCore
import CrucibleLedger
import Testing

@Suite struct EpochEmissionTests {
    let policy = EconomyPolicy(
        emissionMicroPerEpoch: 1_000_000, workShareBps: 6_000, availabilityShareBps: 3_000, treasuryShareBps: 1_000,
        dampingThresholdBps: 2_500, dampingRateBps: 5_000
    )
    let people = (0..<4).map { _ in SigningIdentity().address }

    @Test func poolsArePaidProRataAndEveryMicroIsAccountedFor() {
        let work = [people[0]: 100, people[1]: 100, people[2]: 100] as [String: Int64]
        let availability = [people[3]: 7] as [String: Int64]
        let emission = EpochEmission.compute(policy: policy, workWeights: work, availabilityWeights: availability)
        // No weight is above a quarter of its pool's total but the lone availability earner, who is alone, so it is
        // damped against itself and still takes the whole pool.
        let byAddress = Dictionary(uniqueKeysWithValues: emission.shares.map { ($0.address, $0) })
        #expect(byAddress[people[0]]?.workMicro == 200_000)
        #expect(byAddress[people[3]]?.availabilityMicro == 300_000)
        #expect(emission.treasuryMicro == 100_000)
        #expect(emission.totalMicro == 1_000_000)
        #expect(emission.shares.map(\.address) == emission.shares.map(\.address).sorted())
    }

    @Test func dampingShrinksTheLargestShare() {
        // One operator with 90% of the work weight, nine with about 1% each.
        var work = [people[0]: Int64(900)]
        for _ in 0..<9 { work[SigningIdentity().address] = 11 }
        let undamped = EconomyPolicy(emissionMicroPerEpoch: 1_000_000, dampingRateBps: 10_000)
        let plain = EpochEmission.compute(policy: undamped, workWeights: work, availabilityWeights: [:])
        let damped = EpochEmission.compute(policy: policy, workWeights: work, availabilityWeights: [:])
        let largest = { (emission: EpochEmission) in emission.shares.first { $0.address == people[0] }!.workMicro }
        let pool = EconomyPolicy.portion(1_000_000, bps: 6_000)
        #expect(largest(plain) == Amount.scaled(pool, by: 900, over: 999))
        // The threshold is 249 of 999; the 651 above it count half: 574 against the others' 99.
        #expect(largest(damped) == Amount.scaled(pool, by: 574, over: 673))
        // Damping moves tokens to the others; it never mints more than the pool or loses any.
        #expect(damped.shares.reduce(0) { $0 + $1.workMicro } + (damped.treasuryMicro - EconomyPolicy.portion(1_000_000, bps: 1_000)) == pool)
    }

    @Test func aPoolNobodyEarnedIsNotMinted() {
        let emission = EpochEmission.compute(policy: policy, workWeights: [people[0]: 0, people[1]: -5], availabilityWeights: [:])
        #expect(emission.shares.isEmpty)
        #expect(emission.totalMicro == 100_000)
    }

    @Test func mintingAndTreasurySpendingKeepConservation() throws {
        var ledger = LedgerState()
        try ledger.apply(.genesis(allocations: [.init(address: people[0], amountMicro: 1_000)]))
        let undamped = EconomyPolicy(emissionMicroPerEpoch: 1_000_000, dampingRateBps: 10_000)
        let emission = EpochEmission.compute(policy: undamped, workWeights: [people[1]: 3, people[2]: 1], availabilityWeights: [people[1]: 1])
        try ledger.apply(emission.mintEvent)
        #expect(ledger.mintedMicro == 1_000_000 && ledger.supplyMicro == 1_001_000)
        #expect(ledger.balance(of: people[1]) == 450_000 + 300_000 && ledger.balance(of: people[2]) == 150_000)
        #expect(ledger.treasuryMicro == 100_000)
        try ledger.checkConservation()
        let before = ledger
        for refused: LedgerEvent in [
            .spendTreasury(to: people[3], amountMicro: 100_001), .spendTreasury(to: people[3], amountMicro: 0),
            .spendTreasury(to: "nobody", amountMicro: 1), .mint(recipients: [.init(address: people[3], amountMicro: -1)], treasuryMicro: 0),
            .mint(recipients: [.init(address: people[3], amountMicro: Int64.max)], treasuryMicro: 0),
        ] {
            #expect(throws: CrucibleError.self, "\(refused)") { try ledger.apply(refused) }
            #expect(ledger == before)
        }
        try ledger.apply(.spendTreasury(to: people[3], amountMicro: 40_000))
        #expect(ledger.treasuryMicro == 60_000 && ledger.balance(of: people[3]) == 40_000)
        // A slash can feed the treasury too.
        try ledger.apply(.bond(operator: people[2], amountMicro: 100_000))
        try ledger.apply(.slash(operator: people[2], amountMicro: 100_000, burnMicro: 50_000, treasuryMicro: 30_000, reporter: people[3]))
        #expect(ledger.treasuryMicro == 90_000 && ledger.balance(of: people[3]) == 60_000 && ledger.burnedMicro == 50_000)
        try ledger.checkConservation()
    }

    @Test func policiesThatMakeNoSenseAreRefused() {
        #expect(throws: Never.self) { try EconomyPolicy().validate() }
        let bad: [EconomyPolicy] = [
            EconomyPolicy(slashSpoofBps: 10_001),
            EconomyPolicy(workShareBps: 6_000, availabilityShareBps: 3_000, treasuryShareBps: 2_000),
            EconomyPolicy(stakeFlagshipMicro: 1, stakeHighMicro: 2),
            EconomyPolicy(stakeCpuMicro: -1),
            EconomyPolicy(epochMs: 0),
            EconomyPolicy(thresholdBps: 4_000),
            EconomyPolicy(dampingRateBps: 0),
            EconomyPolicy(slashReporterBps: 6_000, slashTreasuryBps: 5_000),
        ]
        for policy in bad {
            #expect(throws: CrucibleError.self) { try policy.validate() }
        }
    }

    @Test func stakeClassesFollowTheCatalog() {
        #expect(GPUCatalog.model(id: "H100-SXM")?.stakeClass == .flagship)
        #expect(GPUCatalog.model(id: "RTX-4090")?.stakeClass == .high)
        #expect(GPUCatalog.model(id: "L4")?.stakeClass == .mid)
        #expect(GPUCatalog.model(id: "T4")?.stakeClass == .entry)
        #expect(GPUCatalog.cpu.stakeClass == .cpu)
        #expect(EconomyPolicy().requiredStakeMicro(for: [.flagship, .flagship, .cpu]) == 4_020 * Amount.microPerCRU)
    }
}
