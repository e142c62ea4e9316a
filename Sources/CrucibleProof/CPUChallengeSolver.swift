import CrucibleCore
import Foundation

/// The honest prover on the CPU: computes every product exactly (int8 × int8 → int32), hashes every row and
/// builds the commitment. It is the reference the CUDA backend must agree with, and the devnet's solver.
public enum CPUChallengeSolver {
    /// Every row of every product, kept: the reference for tests and small challenges.
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

    /// A commitment that keeps only the row hashes and recomputes an opened row on demand in O(n²), so memory
    /// stays at 32 bytes per row whatever the challenge's size.
    public struct Commitment: Sendable {
        public let challenge: GPUChallenge
        public let tree: MerkleTree

        public var root: Data { tree.root }

        public func open(t: Int, i: Int) -> RowOpening {
            let columns = CPUChallengeSolver.columns(challenge, t: t)
            let a = challenge.generator.row(.a, t: t, row: i, n: challenge.n)
            let row = CPUChallengeSolver.productRow(a, columns: columns, n: challenge.n)
            return RowOpening(t: t, i: i, row: row, proof: tree.proof(forLeaf: challenge.leafIndex(t: t, i: i)))
        }
    }

    public static func solve(_ challenge: GPUChallenge) -> Solution {
        let rows = (0..<challenge.m).flatMap { product(challenge, t: $0) }
        return Solution(challenge: challenge, rows: rows, tree: MerkleTree(leaves: rows.map(GPUChallenge.rowHash)))
    }

    /// Computes and commits on all cores, one band of rows per core; throws `CancellationError` soon after the
    /// task is cancelled (an agent gives up at the deadline rather than grind on).
    public static func commit(_ challenge: GPUChallenge, cores: Int = ProcessInfo.processInfo.activeProcessorCount) async throws -> Commitment {
        let n = challenge.n
        let bands = max(1, min(cores, n))
        let bandRows = (n + bands - 1) / bands
        var leaves = [Data]()
        leaves.reserveCapacity(challenge.leafCount)
        for t in 0..<challenge.m {
            try Task.checkCancellation()
            let columns = Self.columns(challenge, t: t)
            let hashes = try await withThrowingTaskGroup(of: (Int, [Data]).self) { group in
                for start in stride(from: 0, to: n, by: bandRows) {
                    group.addTask {
                        var band = [Data]()
                        band.reserveCapacity(bandRows)
                        for i in start..<min(start + bandRows, n) {
                            if i & 15 == 0 { try Task.checkCancellation() }
                            let a = challenge.generator.row(.a, t: t, row: i, n: n)
                            band.append(GPUChallenge.rowHash(productRow(a, columns: columns, n: n)))
                        }
                        return (start, band)
                    }
                }
                var byStart = [Int: [Data]]()
                for try await (start, band) in group { byStart[start] = band }
                return byStart.keys.sorted().flatMap { byStart[$0]! }
            }
            leaves.append(contentsOf: hashes)
        }
        return Commitment(challenge: challenge, tree: MerkleTree(leaves: leaves))
    }

    /// C_t = A_t · B_t: entry (i, j) is the dot product of row i of A and column j of B, both generated as
    /// contiguous int8 arrays.
    public static func product(_ challenge: GPUChallenge, t: Int) -> [[Int32]] {
        let columns = Self.columns(challenge, t: t)
        return (0..<challenge.n).map { i in
            productRow(challenge.generator.row(.a, t: t, row: i, n: challenge.n), columns: columns, n: challenge.n)
        }
    }

    /// The columns of B_t, column j at offset j·n.
    static func columns(_ challenge: GPUChallenge, t: Int) -> [Int8] {
        let n = challenge.n
        var columns = [Int8]()
        columns.reserveCapacity(n * n)
        for j in 0..<n { columns.append(contentsOf: challenge.generator.row(.b, t: t, row: j, n: n)) }
        return columns
    }

    /// Row i of C_t from row i of A_t and the columns of B_t, in exact int32 arithmetic.
    static func productRow(_ a: [Int8], columns: [Int8], n: Int) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: n) { row, count in
            a.withUnsafeBufferPointer { a in
                columns.withUnsafeBufferPointer { columns in
                    for j in 0..<n {
                        let column = columns.baseAddress! + j * n
                        var sum: Int32 = 0
                        for k in 0..<n { sum &+= Int32(a[k]) &* Int32(column[k]) }
                        row[j] = sum
                    }
                }
            }
            count = n
        }
    }
}
