import CrucibleCore
import Foundation
import Testing

@Suite struct MerkleTreeTests {
    @Test(arguments: [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
    func everyLeafHasAValidProof(count: Int) {
        let leaves = (0..<count).map { Data("leaf-\($0)".utf8) }
        let tree = MerkleTree(leaves: leaves)
        for (index, leaf) in leaves.enumerated() {
            let proof = tree.proof(forLeaf: index)
            #expect(MerkleTree.verify(leaf: leaf, proof: proof, root: tree.root))
            #expect(MerkleTree.verify(leaf: leaf, index: index, leafCount: count, proof: proof, root: tree.root))
            // The same proof does not answer for another position.
            for other in [index - 1, index + 1] where (0..<count).contains(other) && count > 1 {
                #expect(!MerkleTree.verify(leaf: leaf, index: other, leafCount: count, proof: proof, root: tree.root))
            }
            #expect(!MerkleTree.verify(leaf: Data("forged".utf8), proof: proof, root: tree.root))
        }
    }

    @Test func rootDependsOnEveryLeafAndItsPosition() {
        let leaves = (0..<6).map { Data("leaf-\($0)".utf8) }
        let root = MerkleTree(leaves: leaves).root
        for index in leaves.indices {
            var changed = leaves
            changed[index] = Data("other".utf8)
            #expect(MerkleTree(leaves: changed).root != root)
        }
        #expect(MerkleTree(leaves: leaves.reversed()).root != root)
    }

    @Test func aLeafCannotPassAsAnInnerNode() {
        let leaves = (0..<4).map { Data("leaf-\($0)".utf8) }
        let tree = MerkleTree(leaves: leaves)
        // The two-leaf tree over (h(l0), h(l1)) must not share a root with a one-leaf tree over their concatenation.
        let pair = MerkleTree(leaves: [leaves[0], leaves[1]])
        #expect(MerkleTree(leaves: [pair.root]).root != pair.root)
        #expect(tree.leafCount == 4)
    }
}
