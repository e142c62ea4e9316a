import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCore

struct WalletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet",
        abstract: "Create and inspect wallet keys.",
        subcommands: [New.self, AddressCommand.self, Balance.self, Send.self, History.self]
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

        @Flag(help: "Print JSON for scripts (the API's account object).") var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let target = try address ?? KeyFile.read(key).address
            let account = try await client.client().account(target)
            if json { return try printJSON(account) }
            print("address  \(account.address)")
            print("balance  \(Amount.format(account.balanceMicro)) CRU")
            print("escrow   \(Amount.format(account.escrowMicro)) CRU")
            print("staked   \(Amount.format(account.stakedMicro)) CRU")
            if account.unbondingMicro > 0 { print("leaving  \(Amount.format(account.unbondingMicro)) CRU unbonding") }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pay CRU to another address.")

        @Argument(help: "The recipient's address.") var to: String
        @Argument(help: "CRU to send, such as 10 or 2.5.") var amount: String
        @Option(help: "A note for the recipient's history.") var memo: String = ""
        @Option(help: "The sender's key file.") var key: String = ".crucible/wallet.key"
        @OptionGroup var client: ClientOptions

        func run() async throws {
            guard Address.isValid(to) else { throw ValidationError("`\(to)` is not an address (64 lowercase hex digits)") }
            guard let micro = Amount.parseCRU(amount), micro > 0 else { throw ValidationError("`\(amount)` is not a positive CRU amount") }
            let account = try await client.client().transfer([.init(to: to, amountMicro: micro)], memo: memo, by: try KeyFile.read(key))
            print("sent \(Amount.format(micro)) CRU to \(to)")
            print("balance  \(Amount.format(account.balanceMicro)) CRU")
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every movement of a balance and stake, newest first, with the log entry behind each.",
            discussion: "Each line names its log entry (SEQ): `crucible audit` recomputes all of them from the public log."
        )

        @Option(help: "Key file whose address to look up.") var key: String = ".crucible/wallet.key"
        @Option(help: "Look up this address instead of a key file's.") var address: String?
        @Option(help: "How many movements.") var limit: Int = 50
        @Option(help: "Only movements older than this log entry (SEQ), for the next page.") var before: Int64?
        @Flag(help: "Print JSON for scripts.") var json = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let target = try address ?? KeyFile.read(key).address
            let history = try await client.client().history(target, before: before, limit: min(max(limit, 1), 1_000))
            if json { return try printJSON(history) }
            guard !history.movements.isEmpty else { return print("no movements for \(target)") }
            func signed(_ micro: Int64) -> String { micro == 0 ? "" : (micro > 0 ? "+" : "") + Amount.format(micro) }
            print(TextTable.render(
                header: ["SEQ", "KIND", "BALANCE CRU", "STAKE CRU", "BALANCE AFTER", "REFERENCE"],
                rows: history.movements.map {
                    ["\($0.seq)", $0.kind, signed($0.balanceDeltaMicro), signed($0.stakeDeltaMicro), Amount.format($0.balanceMicro),
                     Address.isValid($0.reference) ? Address.short($0.reference) + "…" : $0.reference]
                }
            ))
            if let next = history.next { print("older movements: --before \(next)") }
        }
    }
}
