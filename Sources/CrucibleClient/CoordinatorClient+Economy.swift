import CrucibleAPI
import CrucibleCore
import Foundation
import OpenAPIRuntime

/// Stake, the economy and governance through the SDK.
extension CoordinatorClient {
    public func stake(_ action: StakeRequest.Action, amountMicro: Int64, by wallet: SigningIdentity) async throws -> Components.Schemas.Stake {
        let body = try Self.signed(StakeRequest(action: action, amountMicro: amountMicro), .stake, wallet)
        switch try await reach({ try await client.changeStake(body: .json(body)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func stakeStatus(_ address: String) async throws -> Components.Schemas.Stake {
        switch try await reach({ try await client.getStake(path: .init(address: address)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func economy() async throws -> Components.Schemas.Economy {
        switch try await reach({ try await client.getEconomy() }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func proposals() async throws -> [Components.Schemas.Proposal] {
        switch try await reach({ try await client.listProposals() }) {
        case .ok(let ok): return try ok.body.json.proposals
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func proposal(_ id: String) async throws -> Components.Schemas.Proposal {
        switch try await reach({ try await client.getProposal(path: .init(proposalId: id)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func propose(_ proposal: GovernanceProposal, by staker: SigningIdentity) async throws -> Components.Schemas.Proposal {
        let body = try Self.signed(proposal, .propose, staker)
        switch try await reach({ try await client.propose(body: .json(body)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func vote(_ proposalId: String, _ choice: GovernanceVote.Choice, by staker: SigningIdentity) async throws -> Components.Schemas.Proposal {
        let body = try Self.signed(GovernanceVote(proposalId: proposalId, choice: choice), .vote, staker)
        switch try await reach({ try await client.vote(path: .init(proposalId: proposalId), body: .json(body)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func history(_ address: String, before: Int64? = nil, limit: Int = 100) async throws -> Components.Schemas.AccountHistory {
        switch try await reach({ try await client.getAccountHistory(path: .init(address: address), query: .init(before: before, limit: limit)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func transfer(_ payments: [TokenTransfer.Payment], memo: String = "", by wallet: SigningIdentity) async throws -> Components.Schemas.Account {
        let body = try Self.signed(TokenTransfer(payments: payments, memo: memo), .transfer, wallet)
        switch try await reach({ try await client.transfer(body: .json(body)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }
}
