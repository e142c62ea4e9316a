import CrucibleCore
import CrucibleProof
import Foundation
import Testing

/// Adversaries 4 (downclass), 7 (late) and 8 (honest under jitter) of issue 3, on the timing rule alone.
@Suite struct ChallengeTimingTests {
    /// Sized so that the work (2·512·16384³ ≈ 4.5e15 operations, 2.3 s at an H100's peak) dwarfs round-trip noise.
    let challenge = try! GPUChallenge(seed: Data(count: 32), n: 16_384, m: 512)
    let h100 = GPUCatalog.models.first { $0.id == "H100-SXM" }!.denseInt8Tops
    let slack = 3.0
    let floorShare = 0.4

    func judge(elapsedMs: Int64, roundTripMs: Int64 = 20, claimed: Double? = nil) -> ChallengeTiming.Verdict {
        ChallengeTiming.judge(challenge, claimedTops: claimed ?? h100, elapsedMs: elapsedMs, roundTripMs: roundTripMs, slack: slack, floorShare: floorShare)
    }

    @Test func aDeviceAtHalfItsPeakIsProvenAtWhatItShowed() {
        let ops = ChallengeTiming.operations(challenge)
        let computeMs = Int64((ops / (h100 / 2 * 1e12) * 1000).rounded())
        guard case .proven(let tops) = judge(elapsedMs: computeMs + 20) else { Issue.record("an honest H100 was refused"); return }
        #expect(abs(tops - h100 / 2) / (h100 / 2) < 0.05)
    }

    @Test func aLateAnswerIsRefusedEvenIfCorrect() {
        let deadline = ChallengeTiming.deadlineMs(challenge, claimedTops: h100, slack: slack, roundTripMs: 20)
        #expect(judge(elapsedMs: deadline + 1) == .late(elapsedMs: deadline + 1, deadlineMs: deadline))
    }

    @Test func aSlowerDeviceClaimingAFasterClassIsCaught() {
        // A T4 (130 TOPS) claiming to be an H100 needs 15× longer than the H100 would.
        let t4Ms = Int64((ChallengeTiming.operations(challenge) / (130e12) * 1000).rounded())
        guard case .late = judge(elapsedMs: t4Ms + 20) else { Issue.record("a T4 passed as an H100"); return }
        // A device throttled to 35% of the claim answers within the slack (a third) but below the floor (40%).
        let throttledMs = Int64((ChallengeTiming.operations(challenge) / (h100 * 0.35 * 1e12) * 1000).rounded())
        guard case .belowFloor = judge(elapsedMs: throttledMs + 20) else { Issue.record("a throttled device passed"); return }
    }

    /// 10,000 honest devices at 45–95% of peak with round trips of 5–200 ms measured with ±30% error: none refused.
    @Test func honestDevicesUnderJitterAreNeverRefused() {
        var generator = SeededJitter(state: 8)
        var refused = 0
        for _ in 0..<10_000 {
            let efficiency = Double.random(in: 0.45...0.95, using: &generator)
            let trueRoundTripMs = Double.random(in: 5...200, using: &generator)
            let measuredRoundTripMs = Int64(trueRoundTripMs * Double.random(in: 0.7...1.3, using: &generator))
            let computeMs = ChallengeTiming.operations(challenge) / (h100 * efficiency * 1e12) * 1000
            let elapsedMs = Int64((computeMs + trueRoundTripMs).rounded(.up))
            if case .proven = judge(elapsedMs: elapsedMs, roundTripMs: measuredRoundTripMs) { continue }
            refused += 1
        }
        #expect(refused == 0)
    }

    struct SeededJitter: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state ^ (state >> 29)
        }
    }
}
