import Foundation

/// A binary Merkle tree over SHA-256 with domain-separated leaves and nodes, so that a leaf can never be
/// passed off as an inner node. An odd node at any level is promoted unchanged.
public struct MerkleTree: Sendable {
    public struct Proof: Sendable, Equatable, Codable {
        /// Sibling hashes from the leaf upwards; `isLeft` says the sibling sits on the left.
        public var steps: [Step]
        public struct Step: Sendable, Equatable, Codable {
            public var sibling: Data
            public var isLeft: Bool
        }
    }

    /// levels[0] are the hashed leaves; the last level holds the root.
    private let levels: [[Data]]

    public init(leaves: [Data]) {
        precondition(!leaves.isEmpty, "a Merkle tree needs at least one leaf")
        var levels = [leaves.map(MerkleTree.hashLeaf)]
        while levels[levels.count - 1].count > 1 {
            let level = levels[levels.count - 1]
            var next = [Data]()
            next.reserveCapacity((level.count + 1) / 2)
            var index = 0
            while index < level.count {
                if index + 1 < level.count {
                    next.append(MerkleTree.hashNode(level[index], level[index + 1]))
                } else {
                    next.append(level[index])
                }
                index += 2
            }
            levels.append(next)
        }
        self.levels = levels
    }

    public var root: Data { levels[levels.count - 1][0] }
    public var leafCount: Int { levels[0].count }

    public func proof(forLeaf index: Int) -> Proof {
        precondition(index >= 0 && index < leafCount, "leaf index out of range")
        var steps = [Proof.Step]()
        var position = index
        for level in levels.dropLast() {
            let sibling = position ^ 1
            if sibling < level.count {
                steps.append(.init(sibling: level[sibling], isLeft: sibling < position))
            }
            position /= 2
        }
        return Proof(steps: steps)
    }

    /// Checks `proof` for `leaf` at position `index` of a tree of `leafCount` leaves: the path must not only hash to
    /// the root but also take the turns that position implies, so a proof for one leaf cannot answer for another.
    public static func verify(leaf: Data, index: Int, leafCount: Int, proof: Proof, root: Data) -> Bool {
        guard index >= 0, index < leafCount else { return false }
        var position = index
        var levelSize = leafCount
        var expected = [Bool]()
        while levelSize > 1 {
            let sibling = position ^ 1
            if sibling < levelSize { expected.append(sibling < position) }
            position /= 2
            levelSize = (levelSize + 1) / 2
        }
        guard expected == proof.steps.map(\.isLeft) else { return false }
        return verify(leaf: leaf, proof: proof, root: root)
    }

    public static func verify(leaf: Data, proof: Proof, root: Data) -> Bool {
        var hash = hashLeaf(leaf)
        for step in proof.steps {
            hash = step.isLeft ? hashNode(step.sibling, hash) : hashNode(hash, step.sibling)
        }
        return hash == root
    }

    static func hashLeaf(_ data: Data) -> Data {
        Digest.sha256(Data([0x00]) + data)
    }

    static func hashNode(_ left: Data, _ right: Data) -> Data {
        Digest.sha256(Data([0x01]) + left + right)
    }
}
