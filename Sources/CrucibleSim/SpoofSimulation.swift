import CrucibleCore
import CrucibleProof
import Foundation

/// `crucible sim spoof`: a population of honest and cheating nodes, each challenged as the network challenges
/// them (ARCHITECTURE §4). Answers are real — small challenges generated, solved, committed, opened and
/// spot-checked by the same code as the network's — and time is simulated at the network's real sizes: each
/// device computes 2·m·n³ operations at its true throughput with jitter, behind a jittery round trip, and is
/// judged by the network's deadline and floor.
public struct SpoofSimulation {
    /// Who a simulated node is.
    public enum Kind: String, CaseIterable, Sendable {
        case honest
        case replay = "replay (answers of an earlier seed)"
        case lazyRows = "lazy rows (half the rows computed)"
        case lazyEntries = "lazy entries (half of each row computed)"
        case tweaker = "tweaker (garbage committed, true rows opened)"
        case cpuAsGPU = "downclass: CPU solver claiming an H100"
        case throttled = "downclass: H100 at half speed claiming full"
        case sybil = "sybil: one H100 behind two identities"
        case halfPrecision = "wrong arithmetic (FP16 accumulation)"
        case late = "late (correct, after the deadline)"
        case stretcher = "stretcher (stalls to widen its round-trip credit)"
    }

    public struct Configuration: Sendable {
        public var seed: UInt64
        /// Honest nodes, each challenged `cycles` times.
        public var honestNodes: Int
        public var cycles: Int
        /// Cheaters of each kind, each challenged once (their first cycle).
        public var cheatersPerKind: Int
        public var policy: ChallengePolicy
        /// The model every GPU node claims.
        public var model: GPUModel
        /// Share of the datasheet peak an honest device really reaches (an int8 GEMM with generation and hashing).
        public var honestShare: ClosedRange<Double>
        /// Size of the real challenge each answer is checked on.
        public var checkN: Int
        public var checkM: Int

        public init(
            seed: UInt64, honestNodes: Int = 1_000, cycles: Int = 10, cheatersPerKind: Int = 100,
            policy: ChallengePolicy = ChallengePolicy(), model: GPUModel = GPUCatalog.model(id: "H100-SXM")!,
            honestShare: ClosedRange<Double> = 0.55...0.75, checkN: Int = 32, checkM: Int = 4
        ) {
            self.seed = seed
            self.honestNodes = honestNodes
            self.cycles = cycles
            self.cheatersPerKind = cheatersPerKind
            self.policy = policy
            self.model = model
            self.honestShare = honestShare
            self.checkN = checkN
            self.checkM = checkM
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var kind: Kind
        public var challenges = 0
        public var rejected = 0
        /// Rejections by reason: wrong answers, late, below the floor.
        public var wrongAnswers = 0
        public var late = 0
        public var belowFloor = 0

        /// For cheaters, the share caught; for the honest, the share wrongly refused.
        public var rejectedShare: Double { challenges == 0 ? 0 : Double(rejected) / Double(challenges) }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    public func run() throws -> [Outcome] {
        var generator = SplitMix64(seed: configuration.seed)
        var outcomes = [Outcome]()
        for kind in Kind.allCases {
            var outcome = Outcome(kind: kind)
            let nodes = kind == .honest ? configuration.honestNodes : configuration.cheatersPerKind
            let rounds = kind == .honest ? configuration.cycles : 1
            for _ in 0..<nodes {
                // A device keeps its true speed across cycles; jitter varies per challenge.
                let share = Double.random(in: configuration.honestShare, using: &generator)
                for _ in 0..<rounds {
                    try challenge(kind, share: share, outcome: &outcome, using: &generator)
                }
            }
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// One challenge of one node: the answer checked for real, the timing judged at the network's sizes.
    private func challenge(_ kind: Kind, share: Double, outcome: inout Outcome, using generator: inout SplitMix64) throws {
        let policy = configuration.policy
        outcome.challenges += 1
        let seed = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let small = try GPUChallenge(seed: seed, n: configuration.checkN, m: configuration.checkM)
        let answer: SimulatedProver.Answer = switch kind {
        case .replay: .replay
        case .lazyRows: .lazyRows(0.5)
        case .lazyEntries: .lazyEntries(0.5)
        case .tweaker: .tweaker
        case .halfPrecision: .halfPrecision
        default: .honest
        }
        let prover = try SimulatedProver(answer, challenge: small, using: &generator)
        let answersHold = prover.passes(openings: policy.openings, entriesPerRow: policy.entriesPerRow, using: &generator)

        // Timing at the network's real size for the claimed model.
        let claimed = configuration.model.denseInt8Tops
        let size = policy.size(claimedTops: claimed, kind: configuration.model.kind)
        let real = try GPUChallenge(seed: seed, n: size.n, m: size.m)
        var actualTops = claimed * share
        switch kind {
        case .cpuAsGPU: actualTops = 0.77  // this machine's two cores with AVX-512 VNNI, measured by `crucible node bench`
        case .throttled: actualTops = claimed * share / 2
        case .sybil: actualTops = claimed * share / 2  // the one device answers both identities' challenges at once
        default: break
        }
        // Compute jitter: ±5% per challenge, and a stall of up to 20% one time in a hundred.
        var computeMs = ChallengeTiming.operations(real) / (actualTops * 1e12) * 1000 * Double.random(in: 0.95...1.05, using: &generator)
        if Double.random(in: 0..<1, using: &generator) < 0.01 { computeMs *= Double.random(in: 1...1.2, using: &generator) }
        let roundTripMs = Double.random(in: 5...150, using: &generator)
        var stallMs = 0.0
        if kind == .stretcher {
            // It stalls before fetching the seeds to be credited a longer round trip, on a device at 35% of peak.
            stallMs = 2_000
            computeMs = ChallengeTiming.operations(real) / (claimed * 0.35 * 1e12) * 1000
        }
        let creditedMs = min(Int64((roundTripMs + stallMs).rounded()), policy.roundTripMaxMs)
        var elapsedMs = Int64((computeMs + roundTripMs).rounded(.up))
        let budgetMs = policy.budgetMs(real, claimedTops: claimed)
        if kind == .late { elapsedMs = budgetMs + creditedMs + Int64(Double.random(in: 1...500, using: &generator)) }
        let verdict = ChallengeTiming.judge(
            real, claimedTops: claimed, elapsedMs: elapsedMs, roundTripMs: creditedMs,
            slack: Double(policy.slackPercent) / 100, floorShare: Double(policy.floorBps) / 10_000
        )
        switch verdict {
        case .late:
            outcome.late += 1
            outcome.rejected += 1
        case .belowFloor:
            outcome.belowFloor += 1
            outcome.rejected += 1
        case .proven:
            if !answersHold {
                outcome.wrongAnswers += 1
                outcome.rejected += 1
            }
        }
    }
}
