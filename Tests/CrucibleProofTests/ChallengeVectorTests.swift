import CrucibleCore
import CrucibleProof
import Foundation
import Testing

/// The generator's definition is pinned by `challenge-vectors.json`: entries at chosen positions, row hashes
/// and the commitment of a small challenge. Every backend must reproduce them.
@Suite struct ChallengeVectorTests {
    struct Vectors: Codable, Equatable {
        struct Entry: Codable, Equatable {
            var matrix: String
            var t: Int
            var row: Int
            var col: Int
            var value: Int8
        }

        struct RowHash: Codable, Equatable {
            var t: Int
            var i: Int
            var blake3: String
        }

        var seed: String
        var n: Int
        var m: Int
        var entries: [Entry]
        var rowHashes: [RowHash]
        var root: String
        /// The root of one product at n = 300, the same seed: rows of two BLAKE3 chunks, the second partial.
        var wideRoot: String
    }

    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("challenge-vectors.json")

    static func compute() throws -> Vectors {
        let seed = Data((0..<32).map { UInt8($0 * 7 + 3) })
        let challenge = try GPUChallenge(seed: seed, n: 16, m: 2)
        let generator = challenge.generator
        let positions = [(0, 0, 0), (0, 0, 7), (0, 0, 8), (1, 15, 15), (1, 3, 9), (32_767, 16_777_215, 134_217_727), (5, 1_000, 4_095)]
        var entries = [Vectors.Entry]()
        for (t, row, col) in positions {
            for matrix in [ChallengeGenerator.Matrix.a, .b] {
                entries.append(.init(matrix: matrix == .a ? "A" : "B", t: t, row: row, col: col, value: generator.entry(matrix, t: t, row: row, col: col)))
            }
        }
        let solution = CPUChallengeSolver.solve(challenge)
        let rowHashes = [(0, 0), (0, 15), (1, 5)].map { t, i in
            Vectors.RowHash(t: t, i: i, blake3: GPUChallenge.rowHash(solution.rows[challenge.leafIndex(t: t, i: i)]).hexString)
        }
        let wide = CPUChallengeSolver.solve(try GPUChallenge(seed: seed, n: 300, m: 1))
        return Vectors(
            seed: seed.hexString, n: 16, m: 2, entries: entries, rowHashes: rowHashes, root: solution.root.hexString,
            wideRoot: wide.root.hexString
        )
    }

    @Test func theGeneratorReproducesTheCheckedInVectors() throws {
        let computed = try Self.compute()
        // Regenerate only when the definition changes on purpose, and say so in the commit:
        // CRUCIBLE_WRITE_CHALLENGE_VECTORS=1 swift test --filter ChallengeVectorTests
        if ProcessInfo.processInfo.environment["CRUCIBLE_WRITE_CHALLENGE_VECTORS"] == "1" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try (encoder.encode(computed) + Data("\n".utf8)).write(to: Self.file)
        }
        let pinned = try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: Self.file))
        #expect(computed == pinned)
    }

    @Test(arguments: [20, 64, 100, 200])
    func rowsAgreeWithSingleEntries(n: Int) throws {
        let challenge = try GPUChallenge(seed: Data(repeating: 9, count: 32), n: n, m: 3)
        let generator = challenge.generator
        for row in [0, 7, n - 1] {
            for matrix in [ChallengeGenerator.Matrix.a, .b] {
                #expect(generator.row(matrix, t: 2, row: row, n: n) == (0..<n).map { generator.entry(matrix, t: 2, row: row, col: $0) })
            }
        }
        #expect(throws: CrucibleError.self) { try ChallengeGenerator(seed: Data(count: 31)) }
    }

    @Test(arguments: [20, 24, 33, 64, 100, 130, 200])
    func theVerifiersEntriesAreTheProductsEntries(n: Int) throws {
        let challenge = try GPUChallenge(seed: Data(repeating: 5, count: 32), n: n, m: 2)
        let product = CPUChallengeSolver.product(challenge, t: 1)
        // Seventeen columns: two groups of eight through the vector path, one left over, repeats allowed.
        let columns = [0, n - 1, 3, n / 2, 3] + (0..<12).map { ($0 * 7 + 1) % n }
        for i in [0, 9, n - 1] {
            let rowA = challenge.generator.row(.a, t: 1, row: i, n: n)
            #expect(challenge.entries(t: 1, columns: columns, rowA: rowA) == columns.map { product[i][$0] })
            #expect(columns.map { challenge.entry(t: 1, j: $0, rowA: rowA) } == columns.map { product[i][$0] })
        }
    }
}
