import CrucibleCore
import CrucibleProof
import Foundation

/// What a node commits to and how it answers openings, honest or not. The arithmetic is real: small challenges
/// solved, committed and opened exactly as the agent would, with each cheat applied to the rows.
struct SimulatedProver {
    enum Answer: Sendable {
        /// The true products.
        case honest
        /// Products of an earlier challenge's seed.
        case replay
        /// Only a fraction of the rows computed; the rest filled with noise.
        case lazyRows(Double)
        /// In every row, only a fraction of the entries computed.
        case lazyEntries(Double)
        /// Noise committed, true rows opened.
        case tweaker
        /// Products accumulated in half precision (FP16 tensor math) instead of exact int32.
        case halfPrecision
    }

    let challenge: GPUChallenge
    let rows: [[Int32]]
    let tree: MerkleTree
    /// Rows to open where they differ from the committed ones (the tweaker's).
    let openedRows: [[Int32]]

    init(_ answer: Answer, challenge: GPUChallenge, using generator: inout SplitMix64) throws {
        self.challenge = challenge
        let truth = CPUChallengeSolver.solve(challenge).rows
        func noise() -> Int32 { Int32.random(in: -200_000...200_000, using: &generator) }
        switch answer {
        case .honest:
            rows = truth
        case .replay:
            let earlier = try GPUChallenge(seed: Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }), n: challenge.n, m: challenge.m)
            rows = CPUChallengeSolver.solve(earlier).rows
        case .lazyRows(let fraction):
            rows = truth.map { row in Double.random(in: 0..<1, using: &generator) < fraction ? row : row.map { _ in noise() } }
        case .lazyEntries(let fraction):
            rows = truth.map { row in row.map { Double.random(in: 0..<1, using: &generator) < fraction ? $0 : noise() } }
        case .tweaker:
            rows = truth.map { row in row.map { _ in noise() } }
        case .halfPrecision:
            rows = Self.halfPrecisionRows(challenge)
        }
        tree = MerkleTree(leaves: rows.map(GPUChallenge.rowHash))
        if case .tweaker = answer { openedRows = truth } else { openedRows = rows }
    }

    var root: Data { tree.root }

    func open(_ query: ChallengeVerifier.Query) -> RowOpening {
        let index = challenge.leafIndex(t: query.t, i: query.i)
        return RowOpening(t: query.t, i: query.i, row: openedRows[index], proof: tree.proof(forLeaf: index))
    }

    /// C_t computed with every partial sum rounded to FP16, as tensor cores with half-precision accumulators do.
    static func halfPrecisionRows(_ challenge: GPUChallenge) -> [[Int32]] {
        let n = challenge.n
        let generator = challenge.generator
        return (0..<challenge.m).flatMap { t in
            let columns = (0..<n).map { generator.row(.b, t: t, row: $0, n: n) }
            return (0..<n).map { i in
                let a = generator.row(.a, t: t, row: i, n: n)
                return columns.map { b in
                    var sum: Float16 = 0
                    for k in 0..<n { sum += Float16(Int32(a[k]) * Int32(b[k])) }
                    let value = Float(sum)
                    guard value.isFinite else { return value > 0 ? Int32.max : Int32.min }
                    return Int32(clamping: Int64(value.rounded()))
                }
            }
        }
    }

    /// Whether this prover's answers survive `openings` queries with `entriesPerRow` recomputed entries each.
    func passes(openings: Int, entriesPerRow: Int, using generator: inout SplitMix64) -> Bool {
        ChallengeVerifier.queries(for: challenge, count: openings, using: &generator).allSatisfy { query in
            ChallengeVerifier.check(open(query), for: query, of: challenge, root: root, entriesPerRow: entriesPerRow, using: &generator) == nil
        }
    }
}
