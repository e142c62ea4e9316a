import CrucibleCore

/// How the network challenges hardware (ARCHITECTURE §4), fixed in the genesis like every rule: sizes, the time
/// a challenge should take at the claimed peak, the slack on the deadline, the floor a device must reach, how
/// many rows and entries the verifier checks, and the schedule of unannounced re-challenges.
public struct ChallengePolicy: Codable, Sendable, Equatable {
    /// Nodes are matched only once a challenge proved their hardware. Off only on private test networks.
    public var required: Bool
    /// Matrix size for GPU devices; the count m follows from `targetMs`.
    public var gpuN: Int
    /// Matrix size for CPU devices.
    public var cpuN: Int
    /// Compute time a challenge is sized to at the claimed model's peak.
    public var targetMs: Int64
    /// The deadline is the claimed peak's compute time times this, in percent, plus the measured round trip.
    public var slackPercent: Int64
    /// The least achieved throughput accepted, in basis points of the claimed peak.
    public var floorBps: Int64
    /// Rows opened per device (s) and entries recomputed per row (k).
    public var openings: Int
    public var entriesPerRow: Int
    /// The most round trip credited to a node, however slow its link looks. The node can stretch what is measured
    /// (it decides when to fetch its seeds), so this cap bounds what stalling can buy: kept small against `targetMs`.
    public var roundTripMaxMs: Int64
    /// Time to fetch the seeds after the challenge is issued, and to open the queried rows after committing.
    public var startTimeoutMs: Int64
    public var openTimeoutMs: Int64
    /// Mean time between unannounced re-challenges of a proven node (exponentially distributed).
    public var meanIntervalMs: Int64
    /// A node that failed is challenged again after this long; it is not matched meanwhile.
    public var retryMs: Int64
    /// The most products in one challenge, whatever the claim.
    public var matricesMax: Int

    public init(
        required: Bool = true, gpuN: Int = 16_384, cpuN: Int = 256, targetMs: Int64 = 2_000, slackPercent: Int64 = 400,
        floorBps: Int64 = 4_000, openings: Int = 16, entriesPerRow: Int = 8, roundTripMaxMs: Int64 = 250,
        startTimeoutMs: Int64 = 30_000, openTimeoutMs: Int64 = 60_000, meanIntervalMs: Int64 = 6 * 3_600_000,
        retryMs: Int64 = 600_000, matricesMax: Int = 4_096
    ) {
        self.required = required
        self.gpuN = gpuN
        self.cpuN = cpuN
        self.targetMs = targetMs
        self.slackPercent = slackPercent
        self.floorBps = floorBps
        self.openings = openings
        self.entriesPerRow = entriesPerRow
        self.roundTripMaxMs = roundTripMaxMs
        self.startTimeoutMs = startTimeoutMs
        self.openTimeoutMs = openTimeoutMs
        self.meanIntervalMs = meanIntervalMs
        self.retryMs = retryMs
        self.matricesMax = matricesMax
    }

    public func validate() throws {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.malformed, "challenge policy: \(message)") }
        guard (8...ChallengeGenerator.sizeMax).contains(gpuN), (8...ChallengeGenerator.sizeMax).contains(cpuN) else { throw fail("sizes must be between 8 and \(ChallengeGenerator.sizeMax)") }
        guard (1...ChallengeGenerator.matricesMax).contains(matricesMax) else { throw fail("matricesMax must be between 1 and \(ChallengeGenerator.matricesMax)") }
        guard targetMs > 0, slackPercent >= 100, (1...10_000).contains(floorBps) else { throw fail("targetMs must be positive, slack at least 100%, the floor 1 to 10000 bps") }
        guard openings > 0, entriesPerRow > 0 else { throw fail("openings and entriesPerRow must be positive") }
        guard roundTripMaxMs >= 0, startTimeoutMs > 0, openTimeoutMs > 0, meanIntervalMs > 0, retryMs > 0 else { throw fail("times must be positive") }
    }

    /// The challenge size for a device claiming `claimedTops` of the given kind: n by kind, m so that the work takes
    /// about `targetMs` at the claimed peak.
    public func size(claimedTops: Double, kind: GPUModel.Kind) -> (n: Int, m: Int) {
        let n = kind == .cpu ? cpuN : gpuN
        let operationsPerProduct = 2 * Double(n) * Double(n) * Double(n)
        let wanted = claimedTops * 1e12 * Double(targetMs) / 1000 / operationsPerProduct
        return (n, Int(min(max(wanted.rounded(), 1), Double(matricesMax))))
    }

    /// How long a device claiming `claimedTops` may compute `challenge`, before the round trip is added.
    public func budgetMs(_ challenge: GPUChallenge, claimedTops: Double) -> Int64 {
        max(1, ChallengeTiming.deadlineMs(challenge, claimedTops: claimedTops, slack: Double(slackPercent) / 100, roundTripMs: 0))
    }

    /// The least throughput accepted from a device claiming `claimedTops`.
    public func floorTops(claimedTops: Double) -> Double { claimedTops * Double(floorBps) / 10_000 }
}

extension ChallengePolicy {
    /// The field names a parameters file may use.
    public static var fieldNames: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case required, gpuN, cpuN, targetMs, slackPercent, floorBps, openings, entriesPerRow, roundTripMaxMs, startTimeoutMs
        case openTimeoutMs, meanIntervalMs, retryMs, matricesMax
    }

    /// Fields missing from an older genesis take their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ChallengePolicy()
        required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? d.required
        gpuN = try c.decodeIfPresent(Int.self, forKey: .gpuN) ?? d.gpuN
        cpuN = try c.decodeIfPresent(Int.self, forKey: .cpuN) ?? d.cpuN
        targetMs = try c.decodeIfPresent(Int64.self, forKey: .targetMs) ?? d.targetMs
        slackPercent = try c.decodeIfPresent(Int64.self, forKey: .slackPercent) ?? d.slackPercent
        floorBps = try c.decodeIfPresent(Int64.self, forKey: .floorBps) ?? d.floorBps
        openings = try c.decodeIfPresent(Int.self, forKey: .openings) ?? d.openings
        entriesPerRow = try c.decodeIfPresent(Int.self, forKey: .entriesPerRow) ?? d.entriesPerRow
        roundTripMaxMs = try c.decodeIfPresent(Int64.self, forKey: .roundTripMaxMs) ?? d.roundTripMaxMs
        startTimeoutMs = try c.decodeIfPresent(Int64.self, forKey: .startTimeoutMs) ?? d.startTimeoutMs
        openTimeoutMs = try c.decodeIfPresent(Int64.self, forKey: .openTimeoutMs) ?? d.openTimeoutMs
        meanIntervalMs = try c.decodeIfPresent(Int64.self, forKey: .meanIntervalMs) ?? d.meanIntervalMs
        retryMs = try c.decodeIfPresent(Int64.self, forKey: .retryMs) ?? d.retryMs
        matricesMax = try c.decodeIfPresent(Int.self, forKey: .matricesMax) ?? d.matricesMax
    }
}
