import CrucibleCore
import Foundation

/// Checks a committed challenge at a tiny fraction of the prover's cost: s random rows, each with its Merkle
/// path and k random entries recomputed in O(n). A prover that computed only a fraction f of the rows passes
/// with probability at most f^s; one that computed a fraction g of each row's entries, at most g^(k·s).
public enum ChallengeVerifier {
    public struct Query: Sendable, Equatable, Codable {
        public var t: Int
        public var i: Int

        public init(t: Int, i: Int) {
            self.t = t
            self.i = i
        }
    }

    /// The rows to open, drawn after the commitment arrived.
    public static func queries(for challenge: GPUChallenge, count: Int, using generator: inout some RandomNumberGenerator) -> [Query] {
        (0..<count).map { _ in Query(t: Int.random(in: 0..<challenge.m, using: &generator), i: Int.random(in: 0..<challenge.n, using: &generator)) }
    }

    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case wrongRow(expected: Query, got: Query)
        case wrongLength
        case notInCommitment
        case wrongEntry(j: Int)

        public var description: String {
            switch self {
            case .wrongRow(let expected, let got): "opened row (\(got.t), \(got.i)) where (\(expected.t), \(expected.i)) was asked"
            case .wrongLength: "an opened row has the wrong length"
            case .notInCommitment: "an opened row is not the one committed to"
            case .wrongEntry(let j): "an opened row has a wrong entry in column \(j)"
            }
        }
    }

    /// Checks one opening against the commitment, recomputing `entriesPerRow` random entries.
    public static func check(
        _ opening: RowOpening, for query: Query, of challenge: GPUChallenge, root: Data, entriesPerRow: Int,
        using generator: inout some RandomNumberGenerator
    ) -> Failure? {
        let columns = (0..<entriesPerRow).map { _ in Int.random(in: 0..<challenge.n, using: &generator) }
        return check(opening, for: query, of: challenge, root: root, columns: columns)
    }

    /// Checks one opening against the commitment, recomputing the entries in the given columns.
    public static func check(_ opening: RowOpening, for query: Query, of challenge: GPUChallenge, root: Data, columns: [Int]) -> Failure? {
        guard opening.t == query.t, opening.i == query.i else { return .wrongRow(expected: query, got: Query(t: opening.t, i: opening.i)) }
        guard opening.row.count == challenge.n else { return .wrongLength }
        guard MerkleTree.verify(
            leaf: GPUChallenge.rowHash(opening.row), index: challenge.leafIndex(t: query.t, i: query.i),
            leafCount: challenge.leafCount, proof: opening.proof, root: root
        ) else { return .notInCommitment }
        let rowA = challenge.generator.row(.a, t: query.t, row: query.i, n: challenge.n)
        for (j, expected) in zip(columns, challenge.entries(t: query.t, columns: columns, rowA: rowA)) where opening.row[j] != expected {
            return .wrongEntry(j: j)
        }
        return nil
    }

    /// Multiply-adds the verifier does for s openings of k entries, against the prover's m·n³.
    public static func costRatio(_ challenge: GPUChallenge, openings: Int, entriesPerRow: Int) -> Double {
        Double(openings * entriesPerRow * challenge.n) / challenge.multiplyAdds
    }
}
