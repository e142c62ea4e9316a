import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

struct GovCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gov",
        abstract: "Propose and vote on the network's rules and treasury grants.",
        discussion: """
        Stakers propose changes to named parameters (see `crucible economy` for every one and its value) or grants \
        from the treasury. Votes weigh each voter's stake when the proposal was made; a proposal passes with the \
        quorum of that stake voting and more yes than the threshold, and takes effect at the start of its epoch.
        """,
        subcommands: [Propose.self, Vote.self, List.self, Show.self]
    )

    struct Propose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a proposal (needs the governed proposal stake).")
        @Option(help: "A short title.") var title: String
        @Option(help: "Why; shown with the proposal.") var rationale: String = ""
        @Option(name: .customLong("set"), help: "NAME=VALUE: a governed parameter and its new integer value (repeatable).")
        var changes: [String] = []
        @Option(name: .customLong("grant"), help: "ADDRESS=CRU: pay from the treasury (repeatable).")
        var grants: [String] = []
        @Option(help: "The epoch it takes effect in; the earliest possible when left out.") var effectiveEpoch: Int?
        @Option(help: "The staker's wallet key file.") var key: String = ".crucible/wallet.key"
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let parsedChanges = try changes.map { text -> GovernanceProposal.Change in
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let value = Int64(parts[1]) else { throw ValidationError("--set takes NAME=VALUE with an integer value, not `\(text)`") }
                return .init(name: parts[0], value: value)
            }
            let parsedGrants = try grants.map { text -> GovernanceProposal.Grant in
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, Address.isValid(parts[0]), let micro = Amount.parseCRU(parts[1]), micro > 0 else {
                    throw ValidationError("--grant takes ADDRESS=CRU with a 64-hex-digit address and a positive amount, not `\(text)`")
                }
                return .init(to: parts[0], amountMicro: micro)
            }
            let coordinator = try client.client()
            let epoch: Int
            if let effectiveEpoch {
                epoch = effectiveEpoch
            } else {
                let economy = try await coordinator.economy()
                let value = { (name: String) in economy.parameters.first { $0.name == name }?.value ?? 1 }
                let votingMs = value("economy.votingPeriodMs"), epochMs = max(value("economy.epochMs"), 1)
                epoch = economy.epoch + 1 + Int((votingMs + epochMs - 1) / epochMs)
            }
            let proposal = GovernanceProposal(title: title, rationale: rationale, changes: parsedChanges, grants: parsedGrants, effectiveEpoch: epoch)
            GovCommand.printProposal(try await coordinator.propose(proposal, by: try KeyFile.read(key)))
        }
    }

    struct Vote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Vote yes, no or abstain on an open proposal, once.")
        @Argument(help: "The proposal's id, such as proposal-1.") var proposal: String
        @Argument(help: "yes, no or abstain.") var choice: String
        @Option(help: "The staker's wallet key file.") var key: String = ".crucible/wallet.key"
        @OptionGroup var client: ClientOptions

        func run() async throws {
            guard let parsed = GovernanceVote.Choice(rawValue: choice.lowercased()) else { throw ValidationError("vote yes, no or abstain, not `\(choice)`") }
            GovCommand.printProposal(try await client.client().vote(proposal, parsed, by: try KeyFile.read(key)))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List proposals, newest first.")
        @Flag(help: "Print JSON for scripts.") var json = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let proposals = try await client.client().proposals()
            if json { return try printJSON(proposals) }
            guard !proposals.isEmpty else { return print("no proposals yet; make one with `crucible gov propose`") }
            print(TextTable.render(
                header: ["ID", "STATUS", "EPOCH", "YES CRU", "NO CRU", "TITLE"],
                rows: proposals.map { [$0.id, $0.status.rawValue, "\($0.effectiveEpoch)", Amount.format($0.yesMicro), Amount.format($0.noMicro), $0.title] }
            ))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one proposal with its changes and votes.")
        @Argument(help: "The proposal's id.") var proposal: String
        @Flag(help: "Print JSON for scripts.") var json = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let record = try await client.client().proposal(proposal)
            if json { return try printJSON(record) }
            GovCommand.printProposal(record)
        }
    }

    static func printProposal(_ proposal: Components.Schemas.Proposal) {
        print("\(proposal.id)  \(proposal.status.rawValue)  \(proposal.title)")
        if !proposal.rationale.isEmpty { print("  \(proposal.rationale)") }
        for change in proposal.changes { print("  set    \(change.name) = \(change.value)") }
        for grant in proposal.grants { print("  grant  \(Amount.format(grant.amountMicro)) CRU to \(grant.to)") }
        let remainingS = (proposal.votingEndsMs - Int64(Date().timeIntervalSince1970 * 1000)) / 1000
        let ends = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(proposal.votingEndsMs) / 1000))
        print("  takes effect at epoch \(proposal.effectiveEpoch); voting \(remainingS > 0 ? "ends in \(remainingS) s" : "ended") (\(ends))")
        print("  yes \(Amount.format(proposal.yesMicro)) · no \(Amount.format(proposal.noMicro)) · abstain \(Amount.format(proposal.abstainMicro)) CRU of \(Amount.format(proposal.snapshotTotalMicro)) CRU staked at the snapshot (quorum \(proposal.quorumBps / 100)%, threshold \(proposal.thresholdBps / 100)%)")
        for vote in proposal.votes { print("    \(vote.voter.prefix(12))…  \(vote.choice)  \(Amount.format(vote.weightMicro)) CRU") }
        if let note = proposal.note { print("  \(note)") }
    }
}
