import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

struct EconomyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "economy",
        abstract: "Supply, minted, burned, staked, escrowed, the treasury, and every epoch's figures."
    )

    @Flag(help: "Also list every governed parameter and its value.") var parameters = false
    @Flag(help: "Print JSON for scripts.") var json = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let economy = try await client.client().economy()
        if json { return try printJSON(economy) }
        func cru(_ micro: Int64) -> String { "\(Amount.format(micro)) CRU" }
        print("supply     \(cru(economy.supplyMicro))  (genesis \(cru(economy.genesisMicro)) + minted \(cru(economy.mintedMicro)) − burned \(cru(economy.burnedMicro)))")
        print("held as    balances \(cru(economy.balancesMicro)) · escrow \(cru(economy.escrowMicro)) · staked \(cru(economy.stakedMicro)) · unbonding \(cru(economy.unbondingMicro)) · treasury \(cru(economy.treasuryMicro))")
        let remaining = max(economy.epochEndMs - Int64(Date().timeIntervalSince1970 * 1000), 0)
        print("epoch      \(economy.epoch), closes in \(remaining / 1000) s; work so far \(economy.epochWorkWeight / 1000) TOPS·s, availability \(economy.epochAvailabilityWeight / 1000) TOPS·s")
        if economy.epochs.isEmpty {
            print("no epoch has closed yet")
        } else {
            print("")
            print(TextTable.render(
                header: ["EPOCH", "MINTED", "BURNED", "NET", "WORK", "AVAILABILITY", "TREASURY", "EARNERS", "TOP SHARE", "ENACTED"],
                rows: economy.epochs.map { epoch in
                    [
                        "\(epoch.epoch)", Amount.format(epoch.mintedMicro), Amount.format(epoch.burnedMicro), Amount.format(epoch.netSupplyChangeMicro),
                        Amount.format(epoch.workMicro), Amount.format(epoch.availabilityMicro), Amount.format(epoch.treasuryMicro),
                        "\(epoch.recipients)", String(format: "%.1f%%", Double(epoch.topShareBps) / 100), epoch.enacted.joined(separator: ",")
                    ]
                }
            ))
        }
        if !economy.slashes.isEmpty {
            print("")
            print(TextTable.render(
                header: ["SLASH", "OPERATOR", "NODE", "REASON", "AMOUNT", "BURNED", "EVIDENCE"],
                rows: economy.slashes.map {
                    [$0.id, String($0.operatorAddress.prefix(12)) + "…", String($0.nodeId.prefix(12)) + "…", $0.reason, Amount.format($0.amountMicro), Amount.format($0.burnedMicro), $0.evidence]
                }
            ))
        }
        if parameters {
            print("")
            print(TextTable.render(header: ["PARAMETER", "VALUE"], rows: economy.parameters.map { [$0.name, "\($0.value)"] }))
        }
    }
}
