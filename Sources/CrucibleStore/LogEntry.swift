import CrucibleCore
import Foundation

/// One entry of the coordinator's append-only log: hash-chained to the one before and signed by the coordinator.
public struct LogEntry: Codable, Sendable, Equatable {
    public var seq: Int64
    public var prevHash: String
    public var hash: String
    public var timestampMs: Int64
    /// The entry's content as the exact JSON text that was hashed.
    public var content: String
    public var signature: String

    public init(seq: Int64, prevHash: String, hash: String, timestampMs: Int64, content: String, signature: String) {
        self.seq = seq
        self.prevHash = prevHash
        self.hash = hash
        self.timestampMs = timestampMs
        self.content = content
        self.signature = signature
    }

    /// The hash of the empty chain, before the first entry.
    public static let genesisPrevHash = String(repeating: "0", count: 64)

    public static func computeHash(seq: Int64, prevHash: String, timestampMs: Int64, content: String) -> String {
        Digest.sha256Hex(Data("crucible/log/v1\n\(seq)\n\(prevHash)\n\(timestampMs)\n".utf8) + Data(content.utf8))
    }

    /// Creates the next entry after `previous`, signed by the coordinator.
    public static func make(after previous: LogEntry?, timestampMs: Int64, content: String, signer: SigningIdentity) -> LogEntry {
        let seq = (previous?.seq ?? 0) + 1
        let prevHash = previous?.hash ?? genesisPrevHash
        let hash = computeHash(seq: seq, prevHash: prevHash, timestampMs: timestampMs, content: content)
        let signature = signer.sign(Data(hash.utf8)).base64EncodedString()
        return LogEntry(seq: seq, prevHash: prevHash, hash: hash, timestampMs: timestampMs, content: content, signature: signature)
    }

    /// Checks this entry's place in the chain, its hash and the coordinator's signature.
    public func verify(after previous: LogEntry?, coordinator: String) throws {
        let expectedSeq = (previous?.seq ?? 0) + 1
        guard seq == expectedSeq else { throw CrucibleError(.auditFailed, "log entry \(seq): expected sequence \(expectedSeq)") }
        guard prevHash == (previous?.hash ?? Self.genesisPrevHash) else {
            throw CrucibleError(.auditFailed, "log entry \(seq): previous hash does not link to entry \(expectedSeq - 1)")
        }
        guard hash == Self.computeHash(seq: seq, prevHash: prevHash, timestampMs: timestampMs, content: content) else {
            throw CrucibleError(.auditFailed, "log entry \(seq): content does not match its hash")
        }
        guard let signatureBytes = Data(base64Encoded: signature),
              SigningIdentity.isValid(signature: signatureBytes, of: Data(hash.utf8), by: coordinator)
        else { throw CrucibleError(.auditFailed, "log entry \(seq): coordinator signature is invalid") }
    }
}

/// A signed Merkle root over the hashes of log entries `firstSeq...lastSeq`.
public struct LogCheckpoint: Codable, Sendable, Equatable {
    public var lastSeq: Int64
    public var firstSeq: Int64
    public var root: String
    public var signature: String

    public init(lastSeq: Int64, firstSeq: Int64, root: String, signature: String) {
        self.lastSeq = lastSeq
        self.firstSeq = firstSeq
        self.root = root
        self.signature = signature
    }

    public static func signingBytes(firstSeq: Int64, lastSeq: Int64, root: String) -> Data {
        Data("crucible/checkpoint/v1\n\(firstSeq)\n\(lastSeq)\n\(root)".utf8)
    }

    public static func make(entries: [LogEntry], signer: SigningIdentity) -> LogCheckpoint {
        let root = MerkleTree(leaves: entries.map { Data($0.hash.utf8) }).root.hexString
        let first = entries[0].seq
        let last = entries[entries.count - 1].seq
        let signature = signer.sign(signingBytes(firstSeq: first, lastSeq: last, root: root)).base64EncodedString()
        return LogCheckpoint(lastSeq: last, firstSeq: first, root: root, signature: signature)
    }

    public func verify(entries: [LogEntry], coordinator: String) throws {
        guard !entries.isEmpty, entries[0].seq == firstSeq, entries[entries.count - 1].seq == lastSeq else {
            throw CrucibleError(.auditFailed, "checkpoint \(firstSeq)...\(lastSeq) does not cover the entries given")
        }
        let expected = MerkleTree(leaves: entries.map { Data($0.hash.utf8) }).root.hexString
        guard root == expected else { throw CrucibleError(.auditFailed, "checkpoint \(firstSeq)...\(lastSeq): Merkle root differs from the log") }
        guard let signatureBytes = Data(base64Encoded: signature),
              SigningIdentity.isValid(signature: signatureBytes, of: Self.signingBytes(firstSeq: firstSeq, lastSeq: lastSeq, root: root), by: coordinator)
        else { throw CrucibleError(.auditFailed, "checkpoint \(firstSeq)...\(lastSeq): coordinator signature is invalid") }
    }
}
