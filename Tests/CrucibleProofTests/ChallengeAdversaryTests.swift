import CrucibleCore
import CrucibleProof
import CrucibleTestSupport
import Foundation
import Testing

/// Cheaters fail and the honest pass (issue 3's adversaries 1–3 and a misplaced row); pass rates of lazy
/// provers are measured against the bounds f^s and g^(k·s).
@Suite struct ChallengeAdversaryTests {
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let openings = 6
    static let entriesPerRow = 4

    /// Runs the verifier over a prover's committed rows; true if every opening passes.
    func passes(_ challenge: GPUChallenge, rows: [[Int32]], generator: inout Seeded) -> Bool {
        let tree = MerkleTree(leaves: rows.map(GPUChallenge.rowHash))
        for query in ChallengeVerifier.queries(for: challenge, count: Self.openings, using: &generator) {
            let index = challenge.leafIndex(t: query.t, i: query.i)
            let opening = RowOpening(t: query.t, i: query.i, row: rows[index], proof: tree.proof(forLeaf: index))
            if ChallengeVerifier.check(opening, for: query, of: challenge, root: tree.root, entriesPerRow: Self.entriesPerRow, using: &generator) != nil {
                return false
            }
        }
        return true
    }

    @Test func theHonestProverAlwaysPasses() throws {
        var generator = Seeded(state: 1)
        for trial in 0..<20 {
            let challenge = try GPUChallenge(seed: Data((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ trial) }), n: 24, m: 2)
            #expect(passes(challenge, rows: CPUChallengeSolver.solve(challenge).rows, generator: &generator))
        }
    }

    /// The solver's row tiles (two rows by four columns, 64-byte vectors, tails of each) against the one-row
    /// reference path and the verifier's single entries.
    @Test(arguments: [24, 130])
    func theAllCoreCommitmentMatchesTheReferenceAndReopensRowsOnDemand(n: Int) async throws {
        let challenge = try GPUChallenge(seed: Data(repeating: 7, count: 32), n: n, m: 3)
        let reference = CPUChallengeSolver.solve(challenge)
        let rowA = challenge.generator.row(.a, t: 2, row: 17, n: n)
        #expect(reference.open(t: 2, i: 17).row == (0..<n).map { challenge.entry(t: 2, j: $0, rowA: rowA) })
        for cores in [1, 3, 64] {
            let commitment = try await CPUChallengeSolver.commit(challenge, cores: cores)
            #expect(commitment.root == reference.root)
            #expect(commitment.open(t: 2, i: 17) == reference.open(t: 2, i: 17))
        }
    }

    @Test func aCancelledCommitmentStops() async throws {
        let challenge = try GPUChallenge(seed: Data(repeating: 9, count: 32), n: 2048, m: 64)
        let task = Task { try await CPUChallengeSolver.commit(challenge) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func answersFromAnEarlierSeedFail() throws {
        var generator = Seeded(state: 2)
        let earlier = CPUChallengeSolver.solve(try GPUChallenge(seed: Data(repeating: 1, count: 32), n: 24, m: 2))
        let fresh = try GPUChallenge(seed: Data(repeating: 2, count: 32), n: 24, m: 2)
        #expect(!passes(fresh, rows: earlier.rows, generator: &generator))
    }

    @Test func committingGarbageThenAnsweringTrueRowsFails() throws {
        var generator = Seeded(state: 3)
        let challenge = try GPUChallenge(seed: Data(repeating: 3, count: 32), n: 24, m: 1)
        let honest = CPUChallengeSolver.solve(challenge)
        // The tweaker commits to rows it never computed...
        let garbage = (0..<challenge.leafCount).map { _ in (0..<challenge.n).map { _ in Int32.random(in: -1000...1000, using: &generator) } }
        let committed = MerkleTree(leaves: garbage.map(GPUChallenge.rowHash))
        // ...then computes the true row on demand and presents it with the committed path.
        let query = ChallengeVerifier.Query(t: 0, i: 5)
        let opening = RowOpening(t: 0, i: 5, row: honest.rows[5], proof: committed.proof(forLeaf: 5))
        #expect(ChallengeVerifier.check(opening, for: query, of: challenge, root: committed.root, entriesPerRow: 4, using: &generator) == .notInCommitment)
    }

    @Test func aTrueRowFromAnotherPositionFails() throws {
        var generator = Seeded(state: 4)
        let challenge = try GPUChallenge(seed: Data(repeating: 4, count: 32), n: 24, m: 2)
        let solution = CPUChallengeSolver.solve(challenge)
        // Row (1, 3) is in the commitment, but it is not row (0, 3).
        var opening = solution.open(t: 1, i: 3)
        opening.t = 0
        let query = ChallengeVerifier.Query(t: 0, i: 3)
        #expect(ChallengeVerifier.check(opening, for: query, of: challenge, root: solution.root, entriesPerRow: 4, using: &generator) == .notInCommitment)
        #expect(ChallengeVerifier.check(solution.open(t: 0, i: 3), for: query, of: challenge, root: solution.root, entriesPerRow: 4, using: &generator) == nil)
    }

    /// How often a lazy prover passes in `trials` tries, each on rows `lazy` made from the honest ones; expected to be
    /// within sampling noise (3 standard deviations) of `bound`, neither above it nor much below: the verifier samples
    /// as the bound assumes.
    func expectPassRate(near bound: Double, _ challenge: GPUChallenge, seed: UInt64, trials: Int = 400,
                        lazy: ([[Int32]], inout Seeded) -> [[Int32]], _ name: String) {
        var generator = Seeded(state: seed)
        let honest = CPUChallengeSolver.solve(challenge).rows
        var passed = 0
        for _ in 0..<trials {
            let rows = lazy(honest, &generator)
            if passes(challenge, rows: rows, generator: &generator) { passed += 1 }
        }
        let noise = 3 * (bound * (1 - bound) / Double(trials)).squareRoot()
        #expect(abs(Double(passed) / Double(trials) - bound) <= noise, "\(name) passed \(passed) of \(trials), bound \(bound)")
    }

    /// A prover that computed only a fraction f of the rows passes with probability about f^s (0.118 at s = 6).
    @Test(.compute) func lazyRowsPassNoMoreOftenThanTheBound() async throws {
        let f = 0.7
        let challenge = try GPUChallenge(seed: Data(repeating: 5, count: 32), n: 16, m: 2)
        expectPassRate(near: pow(f, Double(Self.openings)), challenge, seed: 5, lazy: { honest, generator in
            honest.map { row in Double.random(in: 0..<1, using: &generator) < f ? row : row.map { $0 &+ 1 } }
        }, "lazy rows")
    }

    /// A prover that computed a fraction g of each row's entries passes with probability about g^(k·s).
    @Test(.compute) func lazyEntriesPassNoMoreOftenThanTheBound() async throws {
        let g = 0.9
        let challenge = try GPUChallenge(seed: Data(repeating: 6, count: 32), n: 32, m: 1)
        expectPassRate(near: pow(g, Double(Self.openings * Self.entriesPerRow)), challenge, seed: 6, lazy: { honest, generator in
            honest.map { row in row.map { Double.random(in: 0..<1, using: &generator) < g ? $0 : $0 &- 7 } }
        }, "lazy entries")
    }

    @Test func verifyingCostsAVanishingShareOfProving() throws {
        let large = try GPUChallenge(seed: Data(count: 32), n: 16_384, m: 4)
        // s = 32 openings of k = 8 entries: O(s·k·n) against m·n³.
        #expect(ChallengeVerifier.costRatio(large, openings: 32, entriesPerRow: 8) < 1e-5)
        let cpu = try GPUChallenge(seed: Data(count: 32), n: 4_096, m: 2)
        #expect(ChallengeVerifier.costRatio(cpu, openings: 32, entriesPerRow: 8) < 1e-4)
    }
}
