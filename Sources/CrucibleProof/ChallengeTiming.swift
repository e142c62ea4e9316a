import CrucibleCore

/// Time is half of the proof of GPU: the commitment must arrive before a deadline derived from the claimed
/// model's throughput, and the throughput it shows must reach a floor of that claim (ARCHITECTURE §4.5).
public enum ChallengeTiming {
    /// Operations in a challenge, counted as datasheets count INT8 TOPS: a multiply and an add per step.
    public static func operations(_ challenge: GPUChallenge) -> Double { 2 * challenge.multiplyAdds }

    /// How long a device of `claimedTops` dense INT8 TOPS may take to commit, with `slack` for real kernels
    /// falling short of the datasheet, plus the measured round trip.
    public static func deadlineMs(_ challenge: GPUChallenge, claimedTops: Double, slack: Double, roundTripMs: Int64) -> Int64 {
        let computeS = operations(challenge) / (claimedTops * 1e12)
        return Int64((computeS * slack * 1000).rounded(.up)) + roundTripMs
    }

    /// Throughput shown by a commitment that arrived `elapsedMs` after the challenge was sent.
    public static func achievedTops(_ challenge: GPUChallenge, elapsedMs: Int64, roundTripMs: Int64) -> Double {
        let computeMs = max(elapsedMs - roundTripMs, 1)
        return operations(challenge) / (Double(computeMs) / 1000) / 1e12
    }

    public enum Verdict: Equatable, Sendable {
        /// On time and fast enough: the achieved figure becomes the node's proven score.
        case proven(tops: Double)
        case late(elapsedMs: Int64, deadlineMs: Int64)
        /// On time but slower than the floor: the device is not the class it claims.
        case belowFloor(tops: Double, floorTops: Double)
    }

    /// Judges a commitment's timing against the claim. `floorShare` of the claimed peak is the least accepted.
    public static func judge(
        _ challenge: GPUChallenge, claimedTops: Double, elapsedMs: Int64, roundTripMs: Int64, slack: Double, floorShare: Double
    ) -> Verdict {
        let deadline = deadlineMs(challenge, claimedTops: claimedTops, slack: slack, roundTripMs: roundTripMs)
        guard elapsedMs <= deadline else { return .late(elapsedMs: elapsedMs, deadlineMs: deadline) }
        let tops = achievedTops(challenge, elapsedMs: elapsedMs, roundTripMs: roundTripMs)
        let floor = claimedTops * floorShare
        return tops >= floor ? .proven(tops: tops) : .belowFloor(tops: tops, floorTops: floor)
    }
}
