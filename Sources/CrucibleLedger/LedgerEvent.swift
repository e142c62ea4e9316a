import CrucibleCore

/// Everything that moves tokens. The coordinator derives these from log entries; `LedgerState.apply`
/// is the only place balances change.
public enum LedgerEvent: Sendable, Equatable {
    /// Creates the initial supply.
    case genesis(allocations: [Allocation])
    /// Moves tokens from one balance to another.
    case transfer(from: String, to: String, amountMicro: Int64)
    /// Moves a job's maximum cost from the payer's balance into the job's escrow.
    case lockEscrow(jobId: String, payer: String, amountMicro: Int64)
    /// Pays `to` out of a job's escrow.
    case payFromEscrow(jobId: String, to: String, amountMicro: Int64)
    /// Destroys part of a job's escrow: the protocol fee.
    case burnFromEscrow(jobId: String, amountMicro: Int64)
    /// Returns what is left of a job's escrow to its payer and closes it.
    case releaseEscrow(jobId: String)
    /// Moves tokens from an operator's balance into its stake, which backs the GPUs it lists.
    case bond(operator: String, amountMicro: Int64)
    /// Starts taking stake out: it stays slashable, and returns to the balance no earlier than `releaseMs`.
    case unbond(operator: String, amountMicro: Int64, releaseMs: Int64)
    /// Returns every unbonding amount whose release time has come by `atMs` to the operator's balance.
    case withdraw(operator: String, atMs: Int64)
    /// Takes `amountMicro` of an operator's stake (then of what it is unbonding) for a proven fault: `burnMicro`
    /// of it is destroyed, `treasuryMicro` goes to the community treasury and the rest is paid to `reporter`,
    /// whoever proved the fault.
    case slash(operator: String, amountMicro: Int64, burnMicro: Int64, treasuryMicro: Int64 = 0, reporter: String?)
    /// An epoch's emission: new tokens for each recipient and for the treasury.
    case mint(recipients: [Allocation], treasuryMicro: Int64)
    /// Pays out of the treasury, which only a passed proposal may do.
    case spendTreasury(to: String, amountMicro: Int64)

    public struct Allocation: Codable, Sendable, Equatable {
        public var address: String
        public var amountMicro: Int64
        public init(address: String, amountMicro: Int64) {
            self.address = address
            self.amountMicro = amountMicro
        }
    }
}
