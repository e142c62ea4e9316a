import CrucibleCore
import Foundation

/// The counter-based generator that defines a proof-of-GPU challenge's matrices (ARCHITECTURE §4).
///
/// From a 256-bit seed, read as four little-endian 64-bit words s0…s3, every int8 entry of A_t (n×n) and
/// B_t (n×n) is computable on its own in O(1):
///
///     counter(matrix, t, row, col) = matrix << 63 | t << 48 | row << 24 | (col >> 3)
///         matrix: 0 for A, 1 for B; t < 2^15; row < 2^24; col < 2^27
///     h = fmix64(counter ^ s0); h = fmix64(h ^ s1); h = fmix64(h ^ s2); h = fmix64(h ^ s3)
///     entry = the byte (col & 7) of h, little-endian, as a two's-complement int8
///
/// where fmix64 is MurmurHash3's 64-bit finalizer (x ^= x >> 33; x *= 0xff51afd7ed558ccd; x ^= x >> 33;
/// x *= 0xc4ceb9fe1a85ec53; x ^= x >> 33). Eight consecutive entries of a row share one hash, so a prover
/// generates a matrix with n²/8 hashes, and a verifier gets one entry of B's column with one hash.
/// A_t is indexed A_t[i][k] (row i, column k) and B_t as B_t[k][j]. `Tests/CrucibleProofTests/challenge-vectors.json`
/// pins this definition; every backend (the Swift CPU solver, the CUDA kernel) must reproduce it.
public struct ChallengeGenerator: Sendable, Equatable {
    public enum Matrix: UInt64, Sendable {
        case a = 0
        case b = 1
    }

    let s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public static let seedBytes = 32
    public static let matricesMax = 1 << 15
    public static let sizeMax = 1 << 24

    public init(seed: Data) throws {
        guard seed.count == Self.seedBytes else {
            throw CrucibleError(.malformed, "a challenge seed is \(Self.seedBytes) bytes, not \(seed.count)")
        }
        let bytes = [UInt8](seed)
        func word(_ index: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[index * 8 + $1]) << (8 * UInt64($1)) }
        }
        s0 = word(0)
        s1 = word(1)
        s2 = word(2)
        s3 = word(3)
    }

    @inline(__always)
    static func fmix64(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }

    /// The hash that carries the eight entries (col & ~7) … (col | 7) of a row.
    @inline(__always)
    public func block(_ matrix: Matrix, t: Int, row: Int, col: Int) -> UInt64 {
        let counter = matrix.rawValue << 63 | UInt64(t) << 48 | UInt64(row) << 24 | UInt64(col >> 3)
        var h = Self.fmix64(counter ^ s0)
        h = Self.fmix64(h ^ s1)
        h = Self.fmix64(h ^ s2)
        return Self.fmix64(h ^ s3)
    }

    @inline(__always)
    public func entry(_ matrix: Matrix, t: Int, row: Int, col: Int) -> Int8 {
        Int8(truncatingIfNeeded: block(matrix, t: t, row: row, col: col) >> (8 * UInt64(col & 7)))
    }

    /// Row `row` of a matrix of width `n`.
    public func row(_ matrix: Matrix, t: Int, row: Int, n: Int) -> [Int8] {
        var values = [Int8](repeating: 0, count: n)
        var col = 0
        while col < n {
            let h = block(matrix, t: t, row: row, col: col)
            for offset in 0..<min(8, n - col) {
                values[col + offset] = Int8(truncatingIfNeeded: h >> (8 * UInt64(offset)))
            }
            col += 8
        }
        return values
    }
}
