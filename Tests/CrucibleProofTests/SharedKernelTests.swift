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

    @Test func theCRowHashReproducesTheVectors() throws {
        let vectors = try vectors()
        let challenge = try GPUChallenge(seed: Data(hexString: vectors.seed)!, n: vectors.n, m: vectors.m)
        let rows = CPUChallengeSolver.solve(challenge).rows
        for expected in vectors.rowHashes {
            #expect(cHash(rows[challenge.leafIndex(t: expected.t, i: expected.i)]) == expected.blake3)
        }
    }

    /// BLAKE3's own test vectors (the reference's `test_vectors.json`: input byte i is i mod 251, first 32 bytes of
    /// the default hash) at every length there that is whole int32 entries: one block, one chunk, whole and partial
    /// subtrees (31 and 100 chunks promote odd nodes).
    static let blake3Reference: [Int: String] = [
        4: "f30f5ab28fe047904037f77b6da4fea1e27241c5d132638d8bedce9d40494f32",
        64: "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98",
        1024: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
        2048: "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a",
        3072: "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2",
        4096: "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969",
        5120: "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833",
        8192: "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63",
        16384: "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4",
        31744: "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47",
        102400: "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085",
    ]

    @Test(arguments: blake3Reference.keys.sorted())
    func theRowHashIsBLAKE3OnOneThreadAndLevelByLevel(bytes: Int) throws {
        let input = (0..<bytes).map { UInt8($0 % 251) }
        let row = stride(from: 0, to: bytes, by: 4).map { offset -> Int32 in
            var word: UInt32 = 0
            for b in 0..<4 { word |= UInt32(input[offset + b]) << (8 * b) }
            return Int32(bitPattern: word)
        }
        let expected = try #require(Self.blake3Reference[bytes])
        #expect(cHash(row) == expected)
        #expect(GPUChallenge.rowHash(row).hexString == expected)
        // The GPU's order of work: every chunk at once, then each level of the row's tree.
        var scratch = [UInt32](repeating: 0, count: 16 * (row.count / 256 + 1))
        var out = [UInt8](repeating: 0, count: 32)
        row.withUnsafeBufferPointer { crucible_kernels_row_hash_by_levels($0.baseAddress, Int64(row.count), &scratch, &out) }
        #expect(Data(out).hexString == expected)
    }

    /// Any change to a row, however small, changes its hash: one bit of one entry, or one entry more or fewer.
    @Test func everyEntryOfARowIsBound() throws {
        var generator = SplitMix64(seed: 11)
        let row = (0..<1_000).map { _ in Int32.random(in: Int32.min...Int32.max, using: &generator) }
        let hash = GPUChallenge.rowHash(row)
        var seen: Set<Data> = [hash]
        for index in [0, 255, 256, 511, 999] {
            var changed = row
            changed[index] ^= 1 << Int32(index % 32)
            seen.insert(GPUChallenge.rowHash(changed))
        }
        seen.insert(GPUChallenge.rowHash(Array(row.dropLast())))
        seen.insert(GPUChallenge.rowHash(row + [0]))
        #expect(seen.count == 8)
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
