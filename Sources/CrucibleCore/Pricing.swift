/// The arithmetic of paying for work, shared by escrow, settlement and audit so all three agree to the µCRU.
public enum Pricing {
    public static let msPerHour: Int64 = 3_600_000

    /// units (thousandths) × price per unit-hour × duration, rounded down to the µCRU.
    public static func runCostMicro(unitMilli: Int64, priceMicroPerUnitHour: Int64, durationMs: Int64) -> Int64 {
        // unitMilli ≤ 8_000_000 and price ≤ 10^9 keep the first product below 2^63;
        // multiplying by the duration can pass it, so that step is done in 128 bits.
        let wide = (unitMilli * priceMicroPerUnitHour).multipliedFullWidth(by: durationMs)
        let (quotient, _) = Int64(1000 * msPerHour).dividingFullWidth(wide)
        return quotient
    }

    /// The protocol fee on `amountMicro`, in basis points, rounded down.
    public static func feeMicro(on amountMicro: Int64, feeBps: Int64) -> Int64 {
        amountMicro * feeBps / 10_000
    }
}
