import ArgumentParser
import CrucibleCore
import CrucibleLedger

/// "ADDRESS=CRU" as given to --fund: a genesis allocation.
struct Funding: ExpressibleByArgument {
    var allocation: LedgerEvent.Allocation

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, Address.isValid(parts[0]), let micro = Amount.parseCRU(parts[1]), micro > 0 else { return nil }
        allocation = .init(address: parts[0], amountMicro: micro)
    }
}
