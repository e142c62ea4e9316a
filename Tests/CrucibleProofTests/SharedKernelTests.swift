import CChallengeKernels
import CrucibleCore
import CrucibleProof
import Foundation
import Testing

/// The C generator and row hash that the CUDA kernels are built from reproduce the checked-in vectors and agree
/// with the Swift implementation, so the GPU runs code that was checked on this machine.
@Suite struct SharedKernelTests {
    func vectors() throws -> ChallengeVectorTests.Vectors {
        try JSONDecoder().decode(ChallengeVectorTests.Vectors.self, from: Data(contentsOf: ChallengeVectorTests.file))
    }

    func cHash(_ row: [Int32]) -> String {
        var out = [UInt8](repeating: 0, count: 32)
        row.withUnsafeBufferPointer { crucible_kernels_row_hash($0.baseAddress, Int64(row.count), &out) }
        return Data(out).hexString
    }

    @Test func theCGeneratorReproducesTheVectors() throws {
        let vectors = try vectors()
        let seed = [UInt8](Data(hexString: vectors.seed)!)
        for entry in vectors.entries {
            let value = crucible_kernels_entry(seed, entry.matrix == "A" ? 0 : 1, UInt64(entry.t), UInt64(entry.row), UInt64(entry.col))
            #expect(value == entry.value, "\(entry)")
        }
    }

    @Test func theCRowHashReproducesTheVectorsAndSwiftsHash() throws {
        let vectors = try vectors()
        let challenge = try GPUChallenge(seed: Data(hexString: vectors.seed)!, n: vectors.n, m: vectors.m)
        let rows = CPUChallengeSolver.solve(challenge).rows
        for expected in vectors.rowHashes {
            #expect(cHash(rows[challenge.leafIndex(t: expected.t, i: expected.i)]) == expected.sha256)
        }
        // Every tail length, including those whose padding spills into a second block.
        var generator = SplitMix64(seed: 11)
        for length in [1, 13, 14, 15, 16, 17, 29, 30, 31, 32, 100, 4_096] {
            let row = (0..<length).map { _ in Int32.random(in: Int32.min...Int32.max, using: &generator) }
            #expect(cHash(row) == GPUChallenge.rowHash(row).hexString, "length \(length)")
        }
    }

    @Test func theCMerkleLevelsGiveTheSameRootAsMerkleTree() throws {
        var generator = SplitMix64(seed: 5)
        for count in [1, 2, 3, 7, 64, 100] {
            let hashes = (0..<count).map { _ in Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
            var flat = [UInt8]()
            for hash in hashes { flat += hash }
            var scratch = [UInt8](repeating: 0, count: 2 * count * 32)
            var root = [UInt8](repeating: 0, count: 32)
            crucible_kernels_merkle_root(flat, Int64(count), &scratch, &root)
            #expect(Data(root) == MerkleTree(leaves: hashes).root, "\(count) leaves")
        }
    }
}

/// Every int8 product path this processor has gives the same exact rows as the portable loop, tails included.
@Suite struct CPUProductPathTests {
    @Test(arguments: [1, 5, 64, 130])
    func everyVectorPathAgreesWithThePortableOne(n: Int) throws {
        var generator = SplitMix64(seed: UInt64(n))
        let rows = 5
        let a = (0..<(rows * n)).map { _ in Int8.random(in: Int8.min...Int8.max, using: &generator) }
        let b = (0..<(n * n)).map { _ in Int8.random(in: Int8.min...Int8.max, using: &generator) }
        var sums = [Int32](repeating: 0, count: n)
        crucible_cpu_column_sums(b, Int64(n), &sums)
        func product(_ path: Int32) -> [Int32]? {
            var out = [Int32](repeating: 0, count: rows * n)
            return crucible_cpu_product_rows_on(path, a, Int64(rows), b, sums, Int64(n), &out) == 0 ? out : nil
        }
        let portable = try #require(product(0))
        // The portable loop against the definition, on one entry.
        var expected: Int32 = 0
        for k in 0..<n { expected += Int32(a[2 * n + k]) * Int32(b[(n - 1) * n + k]) }
        #expect(portable[2 * n + n - 1] == expected)
        for path: Int32 in [1, 2] {
            if let vector = product(path) { #expect(vector == portable, "path \(path)") }
        }
        // Extremes: -128 × -128 summed n times, the largest entry a row can hold.
        var extreme = [Int32](repeating: 0, count: n)
        let lows = [Int8](repeating: -128, count: n)
        let lowColumns = [Int8](repeating: -128, count: n * n)
        var lowSums = [Int32](repeating: 0, count: n)
        crucible_cpu_column_sums(lowColumns, Int64(n), &lowSums)
        for path: Int32 in [0, 1, 2] where crucible_cpu_product_rows_on(path, lows, 1, lowColumns, lowSums, Int64(n), &extreme) == 0 {
            #expect(extreme.allSatisfy { $0 == Int32(n) * 16_384 }, "path \(path)")
        }
    }
}
