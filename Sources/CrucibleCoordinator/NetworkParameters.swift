import CrucibleCore
import CrucibleLedger
import CrucibleProof

/// The rules the coordinator runs by, fixed in the genesis entry so every replay uses the same ones.
public struct NetworkParameters: Codable, Sendable, Equatable {
    /// Protocol fee on every payment, burned, in basis points.
    public var feeBps: Int64
    /// How long a node has to answer an offer.
    public var offerTimeoutMs: Int64
    /// A running lease without a heartbeat for this long is lost and its task rescheduled.
    public var leaseTimeoutMs: Int64
    /// Extra time past a job's maxDurationS before a silent run is declared lost.
    public var leaseGraceMs: Int64
    /// Runs of one task and role before the task fails.
    public var attemptsMax: Int
    /// A signed checkpoint every this many entries.
    public var checkpointInterval: Int
    /// Envelopes whose timestamp is further than this from the coordinator's clock are refused.
    public var timestampWindowMs: Int64
    /// A node counts as online if it polled or sent a heartbeat this recently.
    public var onlineWindowMs: Int64
    /// A node that declined, ignored or lost a run is not offered that run again for this long.
    public var declineCooldownMs: Int64
    /// A replica that finds no node of another operator for this long is waived, so the task is settled on its
    /// primary result alone and the job can close; the waiver is in the log for everyone to see.
    public var replicaWaitMs: Int64
    /// Asks within this share above the cheapest that may take a run compete on fit (fragmentation) rather than
    /// price, in basis points: the most a requester pays to keep the network's big holes free for the next job.
    public var priceBandBps: Int64
    /// A link measurement older than this no longer places a cluster: agents measure their links again well before.
    public var linkFreshMs: Int64
    /// How far a validator's re-run of a train segment may end from the reference's weights (relative, in parts per
    /// million of their fingerprint's norm) and still count as the same training.
    public var trainDeviationPpmMax: Int64
    /// The least PSNR, in thousandths of a decibel, at which a validator's re-rendered crop still matches the
    /// submitted frame (proof of render). On one Blender build a crop re-renders to identical pixels; a frame at 15 of
    /// its 16 samples is 45.6 dB away, another seed 34 dB, a neighbouring frame 25 dB.
    public var renderPsnrMilliDbMin: Int64
    /// The share of a sampled frame's area a validator re-renders, in parts per million, split into
    /// `renderCropTiles` tiles scattered over the frame.
    public var renderCropPpm: Int64
    public var renderCropTiles: Int64
    /// What stakers agree 1 CRU is worth, in millionths of a US dollar, so that the explorer can set the network's
    /// prices against clouds' dollar prices; 0: no rate agreed, and no spread is shown. A reference for reading, never
    /// used to settle anything.
    public var referenceMicroUsdPerCru: Int64
    /// How a job with verification `adaptive` samples each node's results.
    public var adaptive: AdaptiveReplication
    /// How hardware is challenged and judged (ARCHITECTURE §4).
    public var challenges: ChallengePolicy
    /// Stake, slashing, epochs and their emission, and governance (ARCHITECTURE §7).
    public var economy: EconomyPolicy

    public init(
        feeBps: Int64 = 500, offerTimeoutMs: Int64 = 10_000, leaseTimeoutMs: Int64 = 20_000, leaseGraceMs: Int64 = 30_000,
        attemptsMax: Int = 3, checkpointInterval: Int = 64, timestampWindowMs: Int64 = 300_000, onlineWindowMs: Int64 = 45_000,
        declineCooldownMs: Int64 = 15_000, replicaWaitMs: Int64 = 600_000, priceBandBps: Int64 = 1_000,
        linkFreshMs: Int64 = 1_800_000, trainDeviationPpmMax: Int64 = 1_000, renderPsnrMilliDbMin: Int64 = 48_000, renderCropPpm: Int64 = 62_500, renderCropTiles: Int64 = 16,
        referenceMicroUsdPerCru: Int64 = 0,
        adaptive: AdaptiveReplication = AdaptiveReplication(), challenges: ChallengePolicy = ChallengePolicy(), economy: EconomyPolicy = EconomyPolicy()
    ) {
        self.challenges = challenges
        self.economy = economy
        self.declineCooldownMs = declineCooldownMs
        self.replicaWaitMs = replicaWaitMs
        self.priceBandBps = priceBandBps
        self.linkFreshMs = linkFreshMs
        self.trainDeviationPpmMax = trainDeviationPpmMax
        self.renderPsnrMilliDbMin = renderPsnrMilliDbMin
        self.renderCropPpm = renderCropPpm
        self.renderCropTiles = renderCropTiles
        self.referenceMicroUsdPerCru = referenceMicroUsdPerCru
        self.adaptive = adaptive
        self.feeBps = feeBps
        self.offerTimeoutMs = offerTimeoutMs
        self.leaseTimeoutMs = leaseTimeoutMs
        self.leaseGraceMs = leaseGraceMs
        self.attemptsMax = attemptsMax
        self.checkpointInterval = checkpointInterval
        self.timestampWindowMs = timestampWindowMs
        self.onlineWindowMs = onlineWindowMs
    }

    /// How long a node's capacity still counts a run the network ended while the node ran it (a cancelled gang member,
    /// a lease lost to silence) when the node does not report it gone: a live agent hears of the stop within a lease
    /// time-out and stops the run within the grace.
    public var releaseWaitMs: Int64 { leaseTimeoutMs + leaseGraceMs }

    /// The field names a parameters file may use.
    public static var fieldNames: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case feeBps, offerTimeoutMs, leaseTimeoutMs, leaseGraceMs, attemptsMax, checkpointInterval, timestampWindowMs, onlineWindowMs
        case declineCooldownMs, replicaWaitMs, priceBandBps, linkFreshMs, trainDeviationPpmMax, renderPsnrMilliDbMin, renderCropPpm, renderCropTiles, referenceMicroUsdPerCru, adaptive, challenges, economy
    }

    /// Fields missing from an older genesis take their defaults, so a log keeps replaying as parameters are added.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = NetworkParameters()
        feeBps = try container.decodeIfPresent(Int64.self, forKey: .feeBps) ?? defaults.feeBps
        offerTimeoutMs = try container.decodeIfPresent(Int64.self, forKey: .offerTimeoutMs) ?? defaults.offerTimeoutMs
        leaseTimeoutMs = try container.decodeIfPresent(Int64.self, forKey: .leaseTimeoutMs) ?? defaults.leaseTimeoutMs
        leaseGraceMs = try container.decodeIfPresent(Int64.self, forKey: .leaseGraceMs) ?? defaults.leaseGraceMs
        attemptsMax = try container.decodeIfPresent(Int.self, forKey: .attemptsMax) ?? defaults.attemptsMax
        checkpointInterval = try container.decodeIfPresent(Int.self, forKey: .checkpointInterval) ?? defaults.checkpointInterval
        timestampWindowMs = try container.decodeIfPresent(Int64.self, forKey: .timestampWindowMs) ?? defaults.timestampWindowMs
        onlineWindowMs = try container.decodeIfPresent(Int64.self, forKey: .onlineWindowMs) ?? defaults.onlineWindowMs
        declineCooldownMs = try container.decodeIfPresent(Int64.self, forKey: .declineCooldownMs) ?? defaults.declineCooldownMs
        replicaWaitMs = try container.decodeIfPresent(Int64.self, forKey: .replicaWaitMs) ?? defaults.replicaWaitMs
        priceBandBps = try container.decodeIfPresent(Int64.self, forKey: .priceBandBps) ?? defaults.priceBandBps
        linkFreshMs = try container.decodeIfPresent(Int64.self, forKey: .linkFreshMs) ?? defaults.linkFreshMs
        trainDeviationPpmMax = try container.decodeIfPresent(Int64.self, forKey: .trainDeviationPpmMax) ?? defaults.trainDeviationPpmMax
        renderPsnrMilliDbMin = try container.decodeIfPresent(Int64.self, forKey: .renderPsnrMilliDbMin) ?? defaults.renderPsnrMilliDbMin
        renderCropPpm = try container.decodeIfPresent(Int64.self, forKey: .renderCropPpm) ?? defaults.renderCropPpm
        renderCropTiles = try container.decodeIfPresent(Int64.self, forKey: .renderCropTiles) ?? defaults.renderCropTiles
        referenceMicroUsdPerCru = try container.decodeIfPresent(Int64.self, forKey: .referenceMicroUsdPerCru) ?? defaults.referenceMicroUsdPerCru
        adaptive = try container.decodeIfPresent(AdaptiveReplication.self, forKey: .adaptive) ?? defaults.adaptive
        challenges = try container.decodeIfPresent(ChallengePolicy.self, forKey: .challenges) ?? defaults.challenges
        // A genesis written before the economy existed ran without stake or emissions, and replays so.
        economy = try container.decodeIfPresent(EconomyPolicy.self, forKey: .economy) ?? .none
    }

    /// Every rule the parameters must meet; a genesis, a parameters file or a proposal that breaks one is refused.
    public func validate() throws {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.malformed, "parameters: \(message)") }
        guard (0...10_000).contains(feeBps) else { throw fail("feeBps must be between 0 and 10000") }
        guard offerTimeoutMs > 0, leaseTimeoutMs > 0, leaseGraceMs >= 0, timestampWindowMs > 0, onlineWindowMs > 0,
              declineCooldownMs >= 0, replicaWaitMs > 0, linkFreshMs > 0
        else { throw fail("times must be positive") }
        guard (0...10_000).contains(priceBandBps) else { throw fail("priceBandBps must be between 0 and 10000") }
        guard (0...1_000_000).contains(trainDeviationPpmMax) else { throw fail("trainDeviationPpmMax must be between 0 and 1000000") }
        guard (0...200_000).contains(renderPsnrMilliDbMin) else { throw fail("renderPsnrMilliDbMin must be between 0 and 200000") }
        guard (1...1_000_000).contains(renderCropPpm) else { throw fail("renderCropPpm must be above 0 and at most 1000000") }
        guard (1...Int64(FrameCrop.tilesMax)).contains(renderCropTiles) else { throw fail("renderCropTiles must be between 1 and \(FrameCrop.tilesMax)") }
        guard (0...1_000_000_000_000).contains(referenceMicroUsdPerCru) else { throw fail("referenceMicroUsdPerCru must be between 0 (none) and 1000000000000") }
        guard attemptsMax >= 1, checkpointInterval >= 1 else { throw fail("attemptsMax and checkpointInterval must be at least 1") }
        try adaptive.validate()
        try challenges.validate()
        try economy.validate()
    }
}
