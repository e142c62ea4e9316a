import CrucibleCore
import CrucibleLedger
import CrucibleStore

/// Stake and governance operations: signed inputs admitted, logged and applied like every other.
extension Coordinator {
    public func stake(_ envelope: VerifiedEnvelope) async throws {
        try admit(envelope, as: .stake)
        _ = try await commitAdmitted(envelope)
    }

    public func transfer(_ envelope: VerifiedEnvelope) async throws {
        try admit(envelope, as: .transfer)
        _ = try await commitAdmitted(envelope)
    }

    public func propose(_ envelope: VerifiedEnvelope) async throws -> ProposalRecord {
        try admit(envelope, as: .propose)
        let id = state.governance.nextId
        _ = try await commitAdmitted(envelope)
        return try state.governance.proposal(id)
    }

    public func vote(_ proposalId: String, _ envelope: VerifiedEnvelope) async throws -> ProposalRecord {
        try admit(envelope, as: .vote)
        let payload = try envelope.decodePayload(as: GovernanceVote.self)
        try Self.requireSameId(signed: payload.proposalId, path: proposalId, of: "proposal")
        _ = try await commitAdmitted(envelope)
        return try state.governance.proposal(proposalId)
    }

    /// An address's movements from the store, newest first; only what is durable is served.
    public func movements(of address: String, beforeSeq: Int64, limit: Int) async throws -> [MovementRow] {
        try await store.movements(of: address, beforeSeq: beforeSeq, limit: limit)
    }
}
