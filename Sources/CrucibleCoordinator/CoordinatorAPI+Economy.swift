import CrucibleAPI
import CrucibleCore
import CrucibleLedger
import CrucibleStore

/// Stake, the economy and governance over HTTP.
extension CoordinatorAPI {
    public func changeStake(_ input: Operations.ChangeStake.Input) async throws -> Operations.ChangeStake.Output {
        await handle(Operations.ChangeStake.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let envelope = try VerifiedEnvelope(SignedEnvelope(body), as: .stake)
            try await coordinator.stake(envelope)
            return .ok(.init(body: .json(stakeView(envelope.signer, state: await coordinator.state))))
        }
    }

    public func transfer(_ input: Operations.Transfer.Input) async throws -> Operations.Transfer.Output {
        await handle(Operations.Transfer.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let envelope = try VerifiedEnvelope(SignedEnvelope(body), as: .transfer)
            try await coordinator.transfer(envelope)
            return .ok(.init(body: .json(accountView(envelope.signer, ledger: await coordinator.state.ledger))))
        }
    }

    public func getStake(_ input: Operations.GetStake.Input) async throws -> Operations.GetStake.Output {
        await handle(Operations.GetStake.Output.default) {
            let address = input.path.address
            guard Address.isValid(address) else { throw CrucibleError(.malformed, "an address is 64 lowercase hex digits") }
            return .ok(.init(body: .json(stakeView(address, state: await coordinator.state))))
        }
    }

    public func getEconomy(_ input: Operations.GetEconomy.Input) async throws -> Operations.GetEconomy.Output {
        await handle(Operations.GetEconomy.Output.default) {
            let state = await coordinator.state
            let ledger = state.ledger
            return .ok(.init(body: .json(.init(
                genesisMicro: ledger.genesisMicro, mintedMicro: ledger.mintedMicro, burnedMicro: ledger.burnedMicro, supplyMicro: ledger.supplyMicro,
                balancesMicro: ledger.totalBalanceMicro, escrowMicro: ledger.totalEscrowMicro, stakedMicro: ledger.totalStakeMicro,
                unbondingMicro: ledger.totalUnbondingMicro, treasuryMicro: ledger.treasuryMicro,
                epoch: state.epoch, epochStartMs: state.epochStartMs, epochEndMs: state.epochEndMs,
                epochWorkWeight: state.epochWork.values.reduce(0, +), epochAvailabilityWeight: state.epochAvailability.values.reduce(0, +),
                // The latest hundred of each: the log holds them all for whoever wants more.
                epochs: state.epochs.suffix(100).reversed().map(epochView),
                slashes: state.slashes.suffix(100).reversed().map(slashView),
                parameters: NetworkParameters.governedNames.map { .init(name: $0, value: state.parameters.value(of: $0) ?? 0) }
            ))))
        }
    }

    public func listProposals(_ input: Operations.ListProposals.Input) async throws -> Operations.ListProposals.Output {
        await handle(Operations.ListProposals.Output.default) {
            let governance = await coordinator.state.governance
            return .ok(.init(body: .json(.init(proposals: governance.order.reversed().compactMap { governance.proposals[$0] }.map(proposalView)))))
        }
    }

    public func propose(_ input: Operations.Propose.Input) async throws -> Operations.Propose.Output {
        await handle(Operations.Propose.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            return .ok(.init(body: .json(proposalView(try await coordinator.propose(try VerifiedEnvelope(SignedEnvelope(body), as: .propose))))))
        }
    }

    public func getProposal(_ input: Operations.GetProposal.Input) async throws -> Operations.GetProposal.Output {
        await handle(Operations.GetProposal.Output.default) {
            .ok(.init(body: .json(proposalView(try await coordinator.state.governance.proposal(input.path.proposalId)))))
        }
    }

    public func vote(_ input: Operations.Vote.Input) async throws -> Operations.Vote.Output {
        await handle(Operations.Vote.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            return .ok(.init(body: .json(proposalView(try await coordinator.vote(input.path.proposalId, try VerifiedEnvelope(SignedEnvelope(body), as: .vote))))))
        }
    }

    public func getAccountHistory(_ input: Operations.GetAccountHistory.Input) async throws -> Operations.GetAccountHistory.Output {
        await handle(Operations.GetAccountHistory.Output.default) {
            let address = input.path.address
            guard Address.isValid(address) else { throw CrucibleError(.malformed, "an address is 64 lowercase hex digits") }
            let limit = try Self.pageSize(input.query.limit, default: 100, max: 1_000)
            let rows = try await coordinator.movements(of: address, beforeSeq: input.query.before ?? .max, limit: limit)
            return .ok(.init(body: .json(.init(
                address: address,
                movements: rows.map {
                    .init(
                        seq: $0.seq, kind: $0.kind, reference: $0.reference, balanceDeltaMicro: $0.balanceDeltaMicro,
                        stakeDeltaMicro: $0.stakeDeltaMicro, balanceMicro: $0.balanceMicro, atMs: $0.atMs
                    )
                },
                next: rows.count == limit ? rows.last?.seq : nil
            ))))
        }
    }

    // MARK: - Views

    func accountView(_ address: String, ledger: LedgerState) -> Components.Schemas.Account {
        Components.Schemas.Account(
            address: address, balanceMicro: ledger.balance(of: address), escrowMicro: ledger.escrowed(by: address),
            stakedMicro: ledger.stake(of: address), unbondingMicro: ledger.unbondingAmount(of: address)
        )
    }

    func stakeView(_ address: String, state: NetworkState) -> Components.Schemas.Stake {
        let nodeIds = state.nodeIdsByOperator[address] ?? []
        return Components.Schemas.Stake(
            address: address, stakedMicro: state.ledger.stake(of: address), unbondingMicro: state.ledger.unbondingAmount(of: address),
            unbonding: (state.ledger.unbonding[address] ?? []).map { .init(amountMicro: $0.amountMicro, releaseMs: $0.releaseMs) },
            requiredMicro: state.requiredStakeMicro(of: address), nodes: nodeIds.count,
            nodesCovered: nodeIds.compactMap { state.nodes[$0] }.filter { state.isStaked($0) }.count,
            openLeases: nodeIds.reduce(0) { $0 + (state.activeRunIdsByNode[$1]?.count ?? 0) },
            openDisputes: state.openDisputes[address] ?? 0, unbondingMs: state.parameters.economy.unbondingMs
        )
    }

    func epochView(_ record: EpochRecord) -> Components.Schemas.EpochSummary {
        let shares = record.emission.shares
        let operatorsTotal = shares.reduce(Int64(0)) { $0 + $1.totalMicro }
        let top = shares.map(\.totalMicro).max() ?? 0
        return Components.Schemas.EpochSummary(
            epoch: record.epoch, startMs: record.startMs, endMs: record.endMs, mintedMicro: record.mintedMicro, burnedMicro: record.burnedMicro,
            netSupplyChangeMicro: record.netSupplyChangeMicro, workMicro: shares.reduce(0) { $0 + $1.workMicro },
            availabilityMicro: shares.reduce(0) { $0 + $1.availabilityMicro }, treasuryMicro: record.emission.treasuryMicro,
            recipients: shares.count, topShareBps: operatorsTotal > 0 ? Amount.scaled(10_000, by: top, over: operatorsTotal) : 0,
            enacted: record.enacted
        )
    }

    func slashView(_ record: SlashRecord) -> Components.Schemas.Slash {
        Components.Schemas.Slash(
            id: record.id, operatorAddress: record.operatorAddress, nodeId: record.nodeId, reason: record.reason.rawValue, evidence: record.evidence,
            amountMicro: record.amountMicro, burnedMicro: record.burnedMicro, treasuryMicro: record.treasuryMicro, reporter: record.reporter, atMs: record.atMs
        )
    }

    func proposalView(_ record: ProposalRecord) -> Components.Schemas.Proposal {
        Components.Schemas.Proposal(
            id: record.id, proposer: record.proposer, title: record.proposal.title, rationale: record.proposal.rationale,
            status: .init(rawValue: record.status.rawValue)!,
            changes: record.proposal.changes.map { .init(name: $0.name, value: $0.value) },
            grants: record.proposal.grants.map { .init(to: $0.to, amountMicro: $0.amountMicro) },
            effectiveEpoch: record.proposal.effectiveEpoch, submittedMs: record.submittedMs, votingEndsMs: record.votingEndsMs,
            snapshotTotalMicro: record.snapshotTotalMicro, quorumBps: record.quorumBps, thresholdBps: record.thresholdBps,
            yesMicro: record.yesMicro, noMicro: record.noMicro, abstainMicro: record.abstainMicro,
            votes: record.votes.sorted { $0.key < $1.key }.map { .init(voter: $0.key, choice: $0.value.rawValue, weightMicro: record.snapshot[$0.key] ?? 0) },
            note: record.note
        )
    }
}
