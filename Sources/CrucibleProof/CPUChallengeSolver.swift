import CrucibleCore
import Foundation

/// The honest prover on the CPU: computes every product exactly (int8 × int8 → int32), hashes every row and
/// builds the commitment. It is the reference the CUDA backend must agree with, and the devnet's solver.
public enum CPUChallengeSolver {
    public struct Solution: Sendable {
        public let challenge: GPUChallenge
        /// Rows of all products, in (t, i) order.
        public let rows: [[Int32]]
        public let tree: MerkleTree

        public var root: Data { tree.root }

        public func open(t: Int, i: Int) -> RowOpening {
            let index = challenge.leafIndex(t: t, i: i)
            return RowOpening(t: t, i: i, row: rows[index], proof: tree.proof(forLeaf: index))
        }
    }

    public static func solve(_ challenge: GPUChallenge) -> Solution {
        let rows = (0..<challenge.m).flatMap { product(challenge, t: $0) }
        return Solution(challenge: challenge, rows: rows, tree: MerkleTree(leaves: rows.map(GPUChallenge.rowHash)))
    }

    /// The same, with the products computed concurrently, one task per product, on all cores.
    public static func solveConcurrently(_ challenge: GPUChallenge) async -> Solution {
        let products = await withTaskGroup(of: (Int, [[Int32]]).self) { group in
            for t in 0..<challenge.m {
                group.addTask { (t, product(challenge, t: t)) }
            }
            var byIndex = [Int: [[Int32]]]()
            for await (t, rows) in group { byIndex[t] = rows }
            return byIndex
        }
        let rows = (0..<challenge.m).flatMap { products[$0]! }
        return Solution(challenge: challenge, rows: rows, tree: MerkleTree(leaves: rows.map(GPUChallenge.rowHash)))
    }

    /// C_t = A_t · B_t: entry (i, j) is the dot product of row i of A and column j of B, both generated as
    /// contiguous int8 arrays.
    public static func product(_ challenge: GPUChallenge, t: Int) -> [[Int32]] {
        let n = challenge.n
        let generator = challenge.generator
        let columns = (0..<n).map { generator.row(.b, t: t, row: $0, n: n) }
        return (0..<n).map { i in
            let a = generator.row(.a, t: t, row: i, n: n)
            return columns.map { GPUChallenge.dot(a, $0) }
        }
    }
}
