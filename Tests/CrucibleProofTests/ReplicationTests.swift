import CrucibleProof
import Testing

@Suite struct ReplicationTests {
    struct Counter: RandomNumberGenerator {
        var state: UInt64 = 1
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    @Test func samplingFollowsTheRate() {
        var generator = Counter()
        #expect(!Replication.shouldReplicate(samplePpm: 0, using: &generator))
        #expect(Replication.shouldReplicate(samplePpm: 1_000_000, using: &generator))
        let draws = (0..<20_000).filter { _ in Replication.shouldReplicate(samplePpm: 250_000, using: &generator) }.count
        #expect((4_500...5_500).contains(draws), "drew \(draws) of 20000 at 25%")
    }

    @Test func digestsDecide() {
        #expect(Replication.compare(primaryDigest: "abc", replicaDigest: "abc") == .match)
        #expect(Replication.compare(primaryDigest: "abc", replicaDigest: "abd") == .mismatch)
    }
}
