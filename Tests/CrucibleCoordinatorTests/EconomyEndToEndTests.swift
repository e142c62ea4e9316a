import CrucibleAPI
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import CrucibleTestSupport
import Foundation
import Testing

/// Stake and governance over real HTTP on loopback, against a coordinator whose epochs last two seconds.
@Suite(.network) struct EconomyEndToEndTests {
    static var parameters: NetworkParameters {
        var parameters = TestNetwork.fastParameters
        parameters.economy = EconomyPolicy(
            stakeCpuMicro: 20 * Amount.microPerCRU, unbondingMs: 1_000, epochMs: 2_000, emissionMicroPerEpoch: 10 * Amount.microPerCRU,
            // Votes stay open 20 s: two votes over HTTP must both land while the whole suite loads the machine (5 s
            // was seen to run out on CI).
            votingPeriodMs: 20_000, proposalStakeMicro: 50 * Amount.microPerCRU
        )
        return parameters
    }

    /// Expects a refusal with `code` that logs nothing any wallet signed (the agents' nodes may log meanwhile) and
    /// leaves every stake as it was.
    func refused(_ code: CrucibleError.Code, _ network: TestNetwork, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let head = await network.coordinator.logHead
        let stakes = await network.coordinator.state.ledger.stakes
        await #expect(sourceLocation: sourceLocation) { try await body() } throws: { ($0 as? CrucibleError)?.code == code }
        let wallets = Set([network.requester, network.operatorA, network.operatorB, network.operatorC].map(\.address))
        let added = try await network.envelopesLogged(after: head).filter { wallets.contains($0.signer) }
        #expect(added.isEmpty, "a refused request wrote to the log", sourceLocation: sourceLocation)
        #expect(await network.coordinator.state.ledger.stakes == stakes, sourceLocation: sourceLocation)
    }

    @Test func operatorsStakeAndAProposalPassedByVoteChangesTheFeeAtItsEpoch() async throws {
        let network = try await TestNetwork.start(parameters: Self.parameters)
        let client = network.client
        let (a, b) = (network.operatorA, network.operatorB)

        // TestNetwork bonded 100 CRU for each operator; the account shows it beside the balance.
        let status = try await client.stakeStatus(a.address)
        #expect(status.stakedMicro == TestNetwork.operatorStakeMicro && status.requiredMicro == 0 && status.nodes == 0)
        #expect(try await client.account(a.address).stakedMicro == TestNetwork.operatorStakeMicro)

        // Bad stake requests and proposals: clear refusals, nothing logged, no stake moved.
        try await refused(.ledgerViolation, network) { _ = try await client.stake(.bond, amountMicro: -5, by: a) }
        try await refused(.insufficientFunds, network) { _ = try await client.stake(.bond, amountMicro: 10_000 * Amount.microPerCRU, by: a) }
        try await refused(.ledgerViolation, network) { _ = try await client.stake(.unbond, amountMicro: 101 * Amount.microPerCRU, by: a) }
        try await refused(.malformed, network) { _ = try await client.stake(.withdraw, amountMicro: 1, by: a) }
        try await refused(.ledgerViolation, network) { _ = try await client.stake(.withdraw, amountMicro: 0, by: a) }
        let fee = GovernanceProposal(title: "Lower the fee", rationale: "", changes: [.init(name: "feeBps", value: 200)], grants: [], effectiveEpoch: 1_000)
        try await refused(.forbidden, network) { _ = try await client.propose(fee, by: network.requester) }
        var nonsense = fee
        nonsense.changes = [.init(name: "feeBps", value: 10_001)]
        try await refused(.malformed, network) { _ = try await client.propose(nonsense, by: a) }
        try await refused(.notFound, network) { _ = try await client.vote("proposal-7", .yes, by: a) }

        // A proposal taking effect at the earliest epoch, voted by both operators, passes and changes the fee then.
        let economy = try await client.economy()
        var proposal = fee
        // It also agrees a reference rate of CRU in dollars (0.50 USD), which the explorer reads prices at.
        proposal.changes.append(.init(name: "referenceMicroUsdPerCru", value: 500_000))
        // One epoch of margin: two-second epochs may turn over between reading the epoch and proposing.
        proposal.effectiveEpoch = Governance.earliestEffectiveEpoch(currentEpoch: economy.epoch, policy: Self.parameters.economy) + 1
        let made = try await client.propose(proposal, by: a)
        #expect(made.status == .open && made.snapshotTotalMicro == 2 * TestNetwork.operatorStakeMicro)
        _ = try await client.vote(made.id, .yes, by: a)
        let counted = try await client.vote(made.id, .abstain, by: b)
        #expect(counted.yesMicro == TestNetwork.operatorStakeMicro && counted.abstainMicro == TestNetwork.operatorStakeMicro)
        try await refused(.conflict, network) { _ = try await client.vote(made.id, .no, by: a) }
        try await waitUntil("the proposal takes effect", timeoutS: 60) { try await client.proposal(made.id).status == .enacted }
        #expect(try await client.network().feeBps == 200)
        // The explorer's governance page shows it as the API does: enacted, what it set, who voted with what stake.
        let page = try await network.fetch("/explorer/governance")
        #expect(page.status == 200 && page.body.contains("Lower the fee") && page.body.contains(">enacted</strong>"))
        #expect(page.body.contains("Sets <code>feeBps</code> to 200.") && page.body.contains(Address.short(a.address)) && page.body.contains("abstain"))
        let overview = try JSONDecoder().decode(Components.Schemas.ExplorerOverview.self, from: Data(try await network.fetch("/v1/explorer/overview").body.utf8))
        #expect(overview.referenceMicroUsdPerCru == 500_000 && overview.referenceSetBy == made.id)
        #expect(try await network.fetch("/explorer").body.contains("1 CRU = $0.5 (set by \(made.id))."))
        let after = try await client.economy()
        #expect(after.parameters.first { $0.name == "feeBps" }?.value == 200)
        #expect(after.epoch >= proposal.effectiveEpoch && after.epochs.contains { $0.enacted == [made.id] })
        // With nobody working, each epoch still mints the treasury's tenth; the rest of the emission is not minted.
        #expect(after.treasuryMicro == Int64(after.epochs.count) * Amount.microPerCRU && after.mintedMicro == after.treasuryMicro)

        // Unbonding takes its period, then the stake comes back to the balance.
        let balance = try await client.account(b.address).balanceMicro
        _ = try await client.stake(.unbond, amountMicro: 40 * Amount.microPerCRU, by: b)
        try await waitUntil("the unbonding period ends", timeoutS: 10) {
            (try? await client.stake(.withdraw, amountMicro: 0, by: b)) != nil
        }
        #expect(try await client.account(b.address).balanceMicro == balance + 40 * Amount.microPerCRU)

        // Payments between wallets, all or none, and the history that shows every movement with its log entry.
        let requester = network.requester
        try await refused(.insufficientFunds, network) {
            _ = try await client.transfer([.init(to: a.address, amountMicro: 1), .init(to: b.address, amountMicro: 10_000 * Amount.microPerCRU)], by: requester)
        }
        try await refused(.malformed, network) { _ = try await client.transfer([.init(to: requester.address, amountMicro: 1)], by: requester) }
        try await refused(.malformed, network) {
            _ = try await client.transfer(Array(repeating: .init(to: a.address, amountMicro: 1), count: TokenTransfer.paymentsMax + 1), by: requester)
        }
        let sent = try await client.transfer([.init(to: a.address, amountMicro: 5 * Amount.microPerCRU)], memo: "thanks", by: requester)
        #expect(sent.balanceMicro == TestNetwork.fundingMicro - 5 * Amount.microPerCRU)
        let history = try await client.history(a.address)
        let received = try #require(history.movements.first)
        #expect(received.kind == "transfer" && received.reference == requester.address && received.balanceDeltaMicro == 5 * Amount.microPerCRU)
        #expect(received.balanceMicro == (try await client.account(a.address)).balanceMicro)
        let kinds = history.movements.map(\.kind)
        #expect(kinds.last == "genesis" && kinds.contains("stake"))
        #expect(history.movements.contains { $0.kind == "stake" && $0.stakeDeltaMicro == TestNetwork.operatorStakeMicro && $0.balanceDeltaMicro == -TestNetwork.operatorStakeMicro })
        let firstPage = try await client.history(a.address, limit: 1)
        let secondPage = try await client.history(a.address, before: firstPage.next, limit: 1)
        #expect(firstPage.movements.count == 1 && secondPage.movements.first?.seq ?? .max < firstPage.movements[0].seq)

        await network.stop()
        let report = try await reopenAndAudit(network)
        #expect(report.treasuryMicro >= after.treasuryMicro)
        #expect(report.stakedMicro == 2 * TestNetwork.operatorStakeMicro - 40 * Amount.microPerCRU)
    }
}
