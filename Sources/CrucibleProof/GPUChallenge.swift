import CChallengeKernels
import CrucibleCore
import Crypto
import Foundation

/// One proof-of-GPU challenge (ARCHITECTURE §4): m products C_t = A_t·B_t of n×n int8 matrices defined by a
/// fresh seed. The prover commits to the Merkle root over the BLAKE3 hash of every row of every C_t, ordered by
/// (t, i), then opens the rows the verifier asks for.
public struct GPUChallenge: Codable, Sendable, Equatable {
    public let seed: Data
    public let n: Int
    public let m: Int
    /// Built once from the seed: the verifier and the solver call it for every row.
    public let generator: ChallengeGenerator

    public init(seed: Data, n: Int, m: Int) throws {
        self.seed = seed
        self.n = n
        self.m = m
        generator = try ChallengeGenerator(seed: seed)
        try validate()
    }

    private enum CodingKeys: String, CodingKey {
        case seed, n, m
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            seed: try container.decode(Data.self, forKey: .seed), n: try container.decode(Int.self, forKey: .n),
            m: try container.decode(Int.self, forKey: .m)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seed, forKey: .seed)
        try container.encode(n, forKey: .n)
        try container.encode(m, forKey: .m)
    }

    /// A challenge with a seed from the system's cryptographic random source.
    public static func fresh(n: Int, m: Int) throws -> GPUChallenge {
        var generator = SystemRandomNumberGenerator()
        let seed = Data((0..<ChallengeGenerator.seedBytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return try GPUChallenge(seed: seed, n: n, m: m)
    }

    public func validate() throws {
        guard seed.count == ChallengeGenerator.seedBytes else { throw CrucibleError(.malformed, "a challenge seed is 32 bytes") }
        guard (8...ChallengeGenerator.sizeMax).contains(n) else { throw CrucibleError(.malformed, "n must be between 8 and \(ChallengeGenerator.sizeMax)") }
        guard (1...ChallengeGenerator.matricesMax).contains(m) else { throw CrucibleError(.malformed, "m must be between 1 and \(ChallengeGenerator.matricesMax)") }
    }

    /// Rows committed to: n per product.
    public var leafCount: Int { m * n }
    /// Multiply-adds the prover must do.
    public var multiplyAdds: Double { Double(m) * Double(n) * Double(n) * Double(n) }

    public func leafIndex(t: Int, i: Int) -> Int { t * n + i }

    /// The Merkle leaf of a row: BLAKE3 of its int32 entries as little-endian bytes, in C (`challenge_kernels.h`)
    /// as the GPU computes it. A tree hash, so that a GPU spreads one row over many threads (issue 19: SHA-256 of
    /// 64 KiB rows, one thread a row, cost an H200 77% of its GEMM's time); still a cryptographic commitment.
    public static func rowHash(_ row: [Int32]) -> Data {
        precondition(!row.isEmpty, "a challenge row has entries")
        var out = [UInt8](repeating: 0, count: 32)
        row.withUnsafeBufferPointer { crucible_kernels_row_hash($0.baseAddress, Int64($0.count), &out) }
        return Data(out)
    }

    /// The exact entry C_t[i][j], from row i of A_t and column j of B_t: O(n) for the verifier.
    public func entry(t: Int, i: Int, j: Int) -> Int32 {
        entry(t: t, j: j, rowA: generator.row(.a, t: t, row: i, n: n))
    }

    /// The entry C_t[i][j] given row i of A_t, in Swift straight from the generator's definition: the reference the
    /// vector paths in C are tested against. Column j of B is generated eight entries at a time, never stored.
    public func entry(t: Int, j: Int, rowA: [Int8]) -> Int32 {
        let generator = generator
        let n = n
        return rowA.withUnsafeBufferPointer { a in
            var sum: Int32 = 0
            var k = 0
            while k < n {
                let h = generator.block(.b, t: t, row: j, col: k)
                for offset in 0..<min(8, n - k) {
                    sum &+= Int32(a[k + offset]) &* Int32(Int8(truncatingIfNeeded: h >> (8 * UInt64(offset))))
                }
                k += 8
            }
            return sum
        }
    }

    /// The entries C_t[i][j] for several columns j, given row i of A_t: in C, eight columns' hash chains side by
    /// side in AVX-512 lanes where the processor has them (`CChallengeKernels/cpu_int8.c`).
    public func entries(t: Int, columns: [Int], rowA: [Int8]) -> [Int32] {
        let seed = [generator.s0, generator.s1, generator.s2, generator.s3]
        let wide = columns.map(Int64.init)
        return [Int32](unsafeUninitializedCapacity: columns.count) { out, count in
            crucible_cpu_entries(seed, UInt64(t), rowA, Int64(n), wide, Int64(columns.count), out.baseAddress)
            count = columns.count
        }
    }
}

/// A row the verifier asked for, with its Merkle path.
public struct RowOpening: Codable, Sendable, Equatable {
    public var t: Int
    public var i: Int
    public var row: [Int32]
    public var proof: MerkleTree.Proof

    public init(t: Int, i: Int, row: [Int32], proof: MerkleTree.Proof) {
        self.t = t
        self.i = i
        self.row = row
        self.proof = proof
    }
}
