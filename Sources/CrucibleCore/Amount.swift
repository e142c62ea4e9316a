/// Token amounts are exact integers in µCRU (1 CRU = 10^6 µCRU); never floating point.
public enum Amount {
    public static let microPerCRU: Int64 = 1_000_000

    /// "12.345678" for 12_345_678 µCRU; trailing zeros are trimmed but at least two decimals stay.
    public static func format(_ micro: Int64) -> String {
        let sign = micro < 0 ? "-" : ""
        let magnitude = micro.magnitude
        let whole = magnitude / UInt64(microPerCRU)
        var fraction = String(magnitude % UInt64(microPerCRU))
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.count > 2 && fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(sign)\(whole).\(fraction)"
    }

    /// `amount × numerator / denominator`, rounded down, through a 128-bit product so no share of any amount
    /// overflows. The caller keeps `numerator ≤ denominator` (a share), `denominator > 0`, all three non-negative.
    public static func scaled(_ amount: Int64, by numerator: Int64, over denominator: Int64) -> Int64 {
        precondition(amount >= 0 && numerator >= 0 && numerator <= denominator && denominator > 0, "not a share")
        return denominator.dividingFullWidth(amount.multipliedFullWidth(by: numerator)).quotient
    }

    /// The sum of `amounts`, or nil if it overflows.
    public static func total(_ amounts: some Sequence<Int64>) -> Int64? {
        var sum: Int64 = 0
        for amount in amounts {
            let (next, overflow) = sum.addingReportingOverflow(amount)
            if overflow { return nil }
            sum = next
        }
        return sum
    }

    /// Parses a CRU amount written with up to six decimals ("2", "0.5", "1.000001").
    public static func parseCRU(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let wholeText = parts.first, !wholeText.isEmpty,
              wholeText.allSatisfy(\.isASCII), let whole = Int64(wholeText), whole >= 0
        else { return nil }
        var fractionMicro: Int64 = 0
        if parts.count == 2 {
            let fractionText = parts[1]
            guard !fractionText.isEmpty, fractionText.count <= 6, fractionText.allSatisfy(\.isNumber),
                  let value = Int64(fractionText + String(repeating: "0", count: 6 - fractionText.count))
            else { return nil }
            fractionMicro = value
        }
        let (product, overflow) = whole.multipliedReportingOverflow(by: microPerCRU)
        guard !overflow else { return nil }
        let (sum, overflow2) = product.addingReportingOverflow(fractionMicro)
        return overflow2 ? nil : sum
    }
}
