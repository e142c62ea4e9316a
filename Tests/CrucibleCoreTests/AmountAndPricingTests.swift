import CrucibleCore
import Testing

@Suite struct AmountAndPricingTests {
    @Test func formatsExactly() {
        #expect(Amount.format(0) == "0.00")
        #expect(Amount.format(1_500_000) == "1.50")
        #expect(Amount.format(12_345_678) == "12.345678")
        #expect(Amount.format(1) == "0.000001")
        #expect(Amount.format(-2_000_000) == "-2.00")
    }

    @Test func parsesCRUAmounts() {
        #expect(Amount.parseCRU("2") == 2_000_000)
        #expect(Amount.parseCRU("0.5") == 500_000)
        #expect(Amount.parseCRU("1.000001") == 1_000_001)
        for bad in ["", "-1", "1.", ".5", "1.0000001", "abc", "1e3", "99999999999999999999"] {
            #expect(Amount.parseCRU(bad) == nil, "\(bad) parsed")
        }
    }

    @Test func runCostIsUnitsTimesPriceTimesTime() {
        // One GPU at 2 CRU/h for 30 minutes costs 1 CRU.
        #expect(Pricing.runCostMicro(unitMilli: 1000, priceMicroPerUnitHour: 2_000_000, durationMs: 1_800_000) == 1_000_000)
        // Half a GPU for an hour at 3 CRU/h: 1.5 CRU.
        #expect(Pricing.runCostMicro(unitMilli: 500, priceMicroPerUnitHour: 3_000_000, durationMs: 3_600_000) == 1_500_000)
        // The largest spec the validator allows does not overflow.
        let cost = Pricing.runCostMicro(unitMilli: Int64(JobSpec.gpuMilliMax), priceMicroPerUnitHour: JobSpec.priceMicroPerUnitHourMax, durationMs: Int64(JobSpec.durationSMax) * 1000)
        #expect(cost == 8 * 1_000 * 1_000_000 * 168)
        #expect(Pricing.feeMicro(on: 1_000_000, feeBps: 500) == 50_000)
    }

    @Test func escrowCoversEveryRunAndFee() {
        let spec = JobSpec(name: "j", command: "true", taskCount: 3, resources: .init(gpuMilli: 1000), maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 1800,
                           verification: .init(policy: .replicate, samplePpm: 500_000))
        // 3 tasks × up to 2 runs × 1 CRU + 5% fee each.
        #expect(spec.maxCostMicro(feeBps: 500) == 6 * 1_050_000)
    }
}
