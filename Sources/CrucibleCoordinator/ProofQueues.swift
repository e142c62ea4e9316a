import CrucibleCore
import DequeModule

/// What the challenge scheduler reads instead of every open challenge and every node: derived from the log with the
/// rest of the state, kept up to date by the proof transitions. At 20,000 nodes, sorting the open challenges and the
/// online nodes for each decision was most of the coordinator's time.
struct ProofQueues: Sendable {
    /// Challenges issued and not fetched yet, in the order of issue, which is the order their start time-outs fall due.
    /// An entry that moved on stays until it reaches the front (`prune`).
    var unstarted = Deque<String>()
    /// Open challenges their node fetched (started, committed, queried or opened): few at any time.
    var answering: Set<String> = []
    /// Nodes waiting for their first challenge: pending, none open.
    var pending: Set<String> = []
    /// Failed verdicts in the order they were given, which is the order the retries fall due. An entry whose node was
    /// judged again or registered new hardware since stays until it reaches the front.
    var failed = Deque<FailedProof>()
    /// Nodes by the GPU UUIDs they report, to challenge every node that reports one at the same instant.
    var nodesByGPUUUID: [String: Set<String>] = [:]

    struct FailedProof: Sendable {
        var nodeId: String
        var judgedMs: Int64
    }
}

extension NetworkState {
    /// Whether a failed verdict still stands as the node's latest, so that its retry is due from it.
    func isLatestFailure(_ entry: ProofQueues.FailedProof) -> Bool {
        guard let proof = nodes[entry.nodeId]?.proof else { return false }
        return proof.status == .failed && proof.lastJudgedMs == entry.judgedMs
    }

    /// Files a node under its current proof standing, after any change to it.
    mutating func reindexProof(of nodeId: String) {
        guard let node = nodes[nodeId] else { return }
        if node.proof.status == .pending && node.proof.openChallengeId == nil {
            proofQueues.pending.insert(nodeId)
        } else {
            proofQueues.pending.remove(nodeId)
        }
        pruneProofQueues()
    }

    /// Files a node under the GPU UUIDs it reports now instead of `previousUUIDs`, as it registers.
    mutating func reindexGPUs(of nodeId: String, previousUUIDs: [String] = []) {
        for uuid in previousUUIDs {
            proofQueues.nodesByGPUUUID[uuid]?.remove(nodeId)
            if proofQueues.nodesByGPUUUID[uuid]?.isEmpty == true { proofQueues.nodesByGPUUUID[uuid] = nil }
        }
        for uuid in nodes[nodeId]?.registration.hardware.gpus.compactMap(\.uuid) ?? [] {
            proofQueues.nodesByGPUUUID[uuid, default: []].insert(nodeId)
        }
    }

    /// Drops the entries at the front of the queues that no longer stand, so that each front is the next to fall due.
    mutating func pruneProofQueues() {
        while let id = proofQueues.unstarted.first, challenges[id]?.state != .issued { proofQueues.unstarted.removeFirst() }
        while let entry = proofQueues.failed.first, !isLatestFailure(entry) { proofQueues.failed.removeFirst() }
    }
}
