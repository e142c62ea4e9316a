import CChallengeKernels
import CrucibleCore
import Foundation
import Synchronization

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

    /// Computes and commits on all cores, one band of rows per core, with the widest int8 instructions this
    /// processor has (`CChallengeKernels/cpu_int8.c`); throws `CancellationError` soon after the task is cancelled
    /// (an agent gives up at the deadline rather than grind on).
    public static func commit(_ challenge: GPUChallenge, cores: Int = ProcessInfo.processInfo.activeProcessorCount) async throws -> Commitment {
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await onOwnThread { try commit(challenge, cores: cores, unless: cancelled) }
        } onCancel: {
            cancelled.raise()
        }
    }

    /// The work of `commit`, on threads of its own: seconds of arithmetic on the cooperative pool's threads (two on a
    /// two-core machine) stalled every other task of the process meanwhile — an agent's heartbeats and polls, and in
    /// the tests every coordinator's server.
    static func commit(_ challenge: GPUChallenge, cores: Int, unless cancelled: CancellationFlag) throws -> Commitment {
        let n = challenge.n
        let bands = max(1, min(cores, n))
        let bandRows = (n + bands - 1) / bands
        var leaves = [Data]()
        leaves.reserveCapacity(challenge.leafCount)
        for t in 0..<challenge.m {
            try cancelled.check()
            let columns = Self.columns(challenge, t: t)
            let sums = Self.columnSums(columns, n: n)
            let hashed = BandHashes()
            onOwnThreads(bands) { band in
                let rows = min(band * bandRows, n)..<min((band + 1) * bandRows, n)
                var hashes = [Data]()
                hashes.reserveCapacity(rows.count)
                var i = rows.lowerBound
                while i < rows.upperBound, !cancelled.isRaised {
                    let count = min(Self.rowsPerCall, rows.upperBound - i)
                    var rowsA = [Int8]()
                    rowsA.reserveCapacity(count * n)
                    for row in i..<(i + count) { rowsA.append(contentsOf: challenge.generator.row(.a, t: t, row: row, n: n)) }
                    let products = Self.productRows(rowsA, count: count, columns: columns, sums: sums, n: n)
                    for r in 0..<count { hashes.append(GPUChallenge.rowHash(Array(products[(r * n)..<((r + 1) * n)]))) }
                    i += count
                }
                hashed.set(band, hashes)
            }
            try cancelled.check()
            leaves.append(contentsOf: hashed.inBandOrder(bands))
        }
        return Commitment(challenge: challenge, tree: MerkleTree(leaves: leaves))
    }

    /// The row hashes of one product, by band, as the solver's threads finish them.
    private final class BandHashes: Sendable {
        private let byBand = Mutex([Int: [Data]]())

        func set(_ band: Int, _ hashes: [Data]) { byBand.withLock { $0[band] = hashes } }
        func inBandOrder(_ bands: Int) -> [Data] { byBand.withLock { byBand in (0..<bands).flatMap { byBand[$0] ?? [] } } }
    }

    /// Rows computed per call into the vector kernel: enough to amortize the call, few enough to stay in cache.
    static let rowsPerCall = 32

    /// The vector path this machine's products take, and one core's peak int8 multiply-add rate on it.
    public static var vectorPath: String { String(cString: crucible_cpu_int8_path()) }
    public static func peakMultiplyAddsPerCore() -> Double { crucible_cpu_int8_peak_per_core() }

    /// C_t = A_t · B_t: entry (i, j) is the dot product of row i of A and column j of B, both generated as
    /// contiguous int8 arrays.
    public static func product(_ challenge: GPUChallenge, t: Int) -> [[Int32]] {
        let n = challenge.n
        let columns = Self.columns(challenge, t: t)
        let sums = columnSums(columns, n: n)
        return (0..<n).map { i in productRows(challenge.generator.row(.a, t: t, row: i, n: n), count: 1, columns: columns, sums: sums, n: n) }
    }

    /// The columns of B_t, column j at offset j·n.
    static func columns(_ challenge: GPUChallenge, t: Int) -> [Int8] {
        let n = challenge.n
        var columns = [Int8]()
        columns.reserveCapacity(n * n)
        for j in 0..<n { columns.append(contentsOf: challenge.generator.row(.b, t: t, row: j, n: n)) }
        return columns
    }

    static func columnSums(_ columns: [Int8], n: Int) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: n) { sums, count in
            columns.withUnsafeBufferPointer { crucible_cpu_column_sums($0.baseAddress, Int64(n), sums.baseAddress) }
            count = n
        }
    }

    /// `count` rows of C_t from those rows of A_t (flat) and the columns of B_t, in exact int32 arithmetic.
    static func productRows(_ rowsA: [Int8], count: Int, columns: [Int8], sums: [Int32], n: Int) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: count * n) { out, written in
            rowsA.withUnsafeBufferPointer { a in
                columns.withUnsafeBufferPointer { b in
                    sums.withUnsafeBufferPointer { s in
                        crucible_cpu_product_rows(a.baseAddress, Int64(count), b.baseAddress, s.baseAddress, Int64(n), out.baseAddress)
                    }
                }
            }
            written = count * n
        }
    }

    /// Row i of C_t from row i of A_t and the columns of B_t, in exact int32 arithmetic.
    static func productRow(_ a: [Int8], columns: [Int8], n: Int) -> [Int32] {
        productRows(a, count: 1, columns: columns, sums: columnSums(columns, n: n), n: n)
    }
}
