/// Dated on-demand prices of centralized clouds, per GPU-hour in US dollars, each with where it was read: what the
/// explorer sets the network's prices beside. A reference, not an oracle: prices move, so every row carries its date and
/// source, and a row is added rather than edited when a price changes.
public struct CloudReferencePrice: Sendable, Equatable, Codable {
    /// The catalog model (`GPUCatalog`) the offer is for.
    public var model: String
    /// Who sells it, and the offer (instance type or tier).
    public var provider: String
    public var offer: String
    /// US dollars per GPU-hour, on demand; a range where the source gives one.
    public var usdPerGpuHourLow: Double
    public var usdPerGpuHourHigh: Double
    /// When the price held: an ISO 8601 date, or the month or quarter where the source gives no day.
    public var asOf: String
    public var source: String

    public static let table: [CloudReferencePrice] = [
        .init(
            model: "H100-SXM", provider: "AWS", offer: "p5.48xlarge, 8× H100 at $98.32/h", usdPerGpuHourLow: 12.29, usdPerGpuHourHigh: 12.29,
            asOf: "2023-07-27", source: "https://www.nextplatform.com/2023/07/27/h100-gpu-instance-pricing-on-aws-grin-and-bear-it/"
        ),
        .init(
            model: "H100-SXM", provider: "AWS", offer: "p5.48xlarge after the 18% cut, $80.62/h", usdPerGpuHourLow: 10.08, usdPerGpuHourHigh: 10.08,
            asOf: "2026-01-15", source: "https://digiterialabs.com/ai/insights/cloud-gpu-pricing-q1-2026"
        ),
        .init(
            model: "H100-SXM", provider: "CoreWeave, Lambda, Crusoe", offer: "on demand, per GPU", usdPerGpuHourLow: 2.49, usdPerGpuHourHigh: 2.85,
            asOf: "2026-Q1", source: "https://digiterialabs.com/ai/insights/cloud-gpu-pricing-q1-2026"
        ),
        .init(
            model: "H100-SXM", provider: "Hyperscalers", offer: "H100 SXM5 on demand", usdPerGpuHourLow: 3.50, usdPerGpuHourHigh: 5.00,
            asOf: "2026-05", source: "https://www.mercatus-ai.com/blog/cloud-gpu-pricing"
        ),
        .init(
            model: "H200", provider: "Hyperscalers", offer: "H200 SXM5 on demand", usdPerGpuHourLow: 4.50, usdPerGpuHourHigh: 7.00,
            asOf: "2026-05", source: "https://www.mercatus-ai.com/blog/cloud-gpu-pricing"
        ),
        .init(
            model: "H200", provider: "Specialty clouds", offer: "H200 SXM5 on demand", usdPerGpuHourLow: 3.50, usdPerGpuHourHigh: 4.50,
            asOf: "2026-05", source: "https://www.mercatus-ai.com/blog/cloud-gpu-pricing"
        ),
        .init(
            model: "A100-80GB", provider: "Lambda, CoreWeave, vast.ai, RunPod", offer: "A100 80GB SXM on demand", usdPerGpuHourLow: 1.49,
            usdPerGpuHourHigh: 2.49, asOf: "2026-Q1", source: "https://pricegpu.pages.dev/blog/h100-vs-a100-cloud-price"
        ),
    ]

    /// How far a network price (US dollars per GPU-hour) lies from a cloud row's low and high price, in percent:
    /// negative is cheaper than the cloud.
    public static func spreadPercent(networkUsdPerGpuHour price: Double, low: Double, high: Double) -> (low: Double, high: Double) {
        (100 * (price / low - 1), 100 * (price / high - 1))
    }
}
