import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCore

struct WalletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet",
        abstract: "Create and inspect wallet keys.",
        subcommands: [New.self, AddressCommand.self, Balance.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a new Ed25519 wallet key (file mode 0600).")

        @Option(help: "Where to write the key.")
        var out: String = ".crucible/wallet.key"

        func run() throws {
            let identity = SigningIdentity()
            try KeyFile.write(identity, to: out)
            print("wrote \(out)")
            print("address \(identity.address)")
        }
    }

    struct AddressCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "address", abstract: "Print a key file's address.")

        @Option(help: "Key file.")
        var key: String = ".crucible/wallet.key"

        func run() throws {
            print(try KeyFile.read(key).address)
        }
    }

    struct Balance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an address's balance, escrow and stake.")

        @Option(help: "Key file whose address to look up.")
        var key: String = ".crucible/wallet.key"

        @Option(help: "Look up this address instead of a key file's.")
        var address: String?

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let target = try address ?? KeyFile.read(key).address
            let account = try await client.client().account(target)
            print("address  \(account.address)")
            print("balance  \(Amount.format(account.balanceMicro)) CRU")
            print("escrow   \(Amount.format(account.escrowMicro)) CRU")
            print("staked   \(Amount.format(account.stakedMicro)) CRU")
            if account.unbondingMicro > 0 { print("leaving  \(Amount.format(account.unbondingMicro)) CRU unbonding") }
        }
    }
}
