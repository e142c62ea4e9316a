import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

struct StakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stake",
        abstract: "Bond stake behind your nodes, take it out, and see what they need.",
        discussion: """
        An operator's stake backs its nodes in the order they registered; a node is matched only once the stake \
        covers it (the amount per device class is a governed parameter). Stake taken out unbonds for a governed \
        period, slashable all the while, before `stake withdraw` returns it.
        """,
        subcommands: [Add.self, Remove.self, Withdraw.self, Status.self]
    )

    struct WalletOptions: ParsableArguments {
        @Option(help: "The operator's wallet key file.")
        var key: String = ".crucible/wallet.key"
    }

    static func parseAmount(_ text: String) throws -> Int64 {
        guard let micro = Amount.parseCRU(text), micro > 0 else {
            throw ValidationError("`\(text)` is not a positive CRU amount such as 100 or 2.5")
        }
        return micro
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bond CRU from the wallet's balance.")
        @Argument(help: "CRU to bond.") var amount: String
        @OptionGroup var wallet: WalletOptions
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let stake = try await client.client().stake(.bond, amountMicro: try StakeCommand.parseAmount(amount), by: try KeyFile.read(wallet.key))
            StakeCommand.printStatus(stake)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start unbonding CRU; it stays slashable until released.")
        @Argument(help: "CRU to unbond.") var amount: String
        @OptionGroup var wallet: WalletOptions
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let stake = try await client.client().stake(.unbond, amountMicro: try StakeCommand.parseAmount(amount), by: try KeyFile.read(wallet.key))
            StakeCommand.printStatus(stake)
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Return everything that has finished unbonding to the balance.")
        @OptionGroup var wallet: WalletOptions
        @OptionGroup var client: ClientOptions

        func run() async throws {
            StakeCommand.printStatus(try await client.client().stake(.withdraw, amountMicro: 0, by: try KeyFile.read(wallet.key)))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an operator's stake, what is unbonding, and what its nodes need.")
        @OptionGroup var wallet: WalletOptions
        @Option(help: "Look up this address instead of the key file's.") var address: String?
        @Flag(help: "Print JSON for scripts.") var json = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let stake = try await client.client().stakeStatus(try address ?? KeyFile.read(wallet.key).address)
            if json { return try printJSON(stake) }
            StakeCommand.printStatus(stake)
        }
    }

    static func printStatus(_ stake: Components.Schemas.Stake) {
        print("operator   \(stake.address)")
        print("staked     \(Amount.format(stake.stakedMicro)) CRU")
        print("required   \(Amount.format(stake.requiredMicro)) CRU for \(stake.nodes) node(s); \(stake.nodesCovered) covered and matchable")
        print("unbonding  \(Amount.format(stake.unbondingMicro)) CRU (period \(stake.unbondingMs / 1000) s)")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for entry in stake.unbonding {
            let wait = entry.releaseMs - now
            print("  \(Amount.format(entry.amountMicro)) CRU \(wait > 0 ? "released in \(wait / 1000 + 1) s" : "released: run `crucible stake withdraw`")")
        }
        if stake.openLeases > 0 || stake.openDisputes > 0 {
            print("locked     \(stake.openLeases) open lease(s), \(stake.openDisputes) dispute(s): no stake leaves until they end")
        }
    }
}
