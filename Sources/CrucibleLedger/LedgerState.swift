import CrucibleCore

/// The token state. `apply` is pure and deterministic: the same events give the same state on every replay,
/// and an event that would break a rule throws and leaves the state as it was.
public struct LedgerState: Sendable, Equatable {
    public struct Escrow: Sendable, Equatable {
        public var payer: String
        public var amountMicro: Int64
    }

    public private(set) var balances: [String: Int64] = [:]
    public private(set) var escrows: [String: Escrow] = [:]
    public private(set) var genesisMicro: Int64 = 0
    public private(set) var mintedMicro: Int64 = 0
    public private(set) var burnedMicro: Int64 = 0
    public private(set) var hasGenesis = false

    public init() {}

    public func balance(of address: String) -> Int64 { balances[address] ?? 0 }

    public func escrowed(by address: String) -> Int64 {
        escrows.values.filter { $0.payer == address }.reduce(0) { $0 + $1.amountMicro }
    }

    public var totalEscrowMicro: Int64 { escrows.values.reduce(0) { $0 + $1.amountMicro } }
    public var totalBalanceMicro: Int64 { balances.values.reduce(0, +) }
    /// Tokens in existence: everything ever created less everything burned.
    public var supplyMicro: Int64 { genesisMicro + mintedMicro - burnedMicro }

    /// Applies one event, returning the addresses and jobs whose rows changed.
    @discardableResult
    public mutating func apply(_ event: LedgerEvent) throws -> Touched {
        var next = self
        var touched = Touched()
        try next.applyUnchecked(event, touched: &touched)
        try next.checkConservation()
        self = next
        return touched
    }

    public struct Touched: Sendable, Equatable {
        public var addresses: Set<String> = []
        public var escrowJobs: Set<String> = []
        public init() {}
        public mutating func formUnion(_ other: Touched) {
            addresses.formUnion(other.addresses)
            escrowJobs.formUnion(other.escrowJobs)
        }
    }

    private mutating func applyUnchecked(_ event: LedgerEvent, touched: inout Touched) throws {
        func violation(_ message: String) -> CrucibleError { CrucibleError(.ledgerViolation, message) }
        switch event {
        case .genesis(let allocations):
            guard !hasGenesis else { throw violation("genesis happens once") }
            for allocation in allocations {
                guard Address.isValid(allocation.address) else { throw violation("genesis allocation to an invalid address") }
                guard allocation.amountMicro > 0 else { throw violation("genesis allocations must be positive") }
                balances[allocation.address, default: 0] += allocation.amountMicro
                genesisMicro += allocation.amountMicro
                touched.addresses.insert(allocation.address)
            }
            hasGenesis = true

        case .lockEscrow(let jobId, let payer, let amountMicro):
            guard amountMicro > 0 else { throw violation("escrow must be positive") }
            guard escrows[jobId] == nil else { throw violation("job \(jobId) already has escrow") }
            let balance = balance(of: payer)
            guard balance >= amountMicro else {
                throw CrucibleError(.insufficientFunds, "the job needs \(Amount.format(amountMicro)) CRU in escrow; the balance is \(Amount.format(balance)) CRU")
            }
            balances[payer] = balance - amountMicro
            escrows[jobId] = Escrow(payer: payer, amountMicro: amountMicro)
            touched.addresses.insert(payer)
            touched.escrowJobs.insert(jobId)

        case .payFromEscrow(let jobId, let to, let amountMicro):
            guard Address.isValid(to) else { throw violation("payment to an invalid address") }
            try takeFromEscrow(jobId, amountMicro)
            balances[to, default: 0] += amountMicro
            touched.addresses.insert(to)
            touched.escrowJobs.insert(jobId)

        case .burnFromEscrow(let jobId, let amountMicro):
            try takeFromEscrow(jobId, amountMicro)
            burnedMicro += amountMicro
            touched.escrowJobs.insert(jobId)

        case .releaseEscrow(let jobId):
            guard let escrow = escrows.removeValue(forKey: jobId) else { throw violation("job \(jobId) has no escrow") }
            balances[escrow.payer, default: 0] += escrow.amountMicro
            touched.addresses.insert(escrow.payer)
            touched.escrowJobs.insert(jobId)
        }
    }

    private mutating func takeFromEscrow(_ jobId: String, _ amountMicro: Int64) throws {
        guard amountMicro >= 0 else { throw CrucibleError(.ledgerViolation, "amounts must not be negative") }
        guard var escrow = escrows[jobId] else { throw CrucibleError(.ledgerViolation, "job \(jobId) has no escrow") }
        guard escrow.amountMicro >= amountMicro else {
            throw CrucibleError(.ledgerViolation, "job \(jobId) escrow holds \(escrow.amountMicro) µCRU, \(amountMicro) asked")
        }
        escrow.amountMicro -= amountMicro
        escrows[jobId] = escrow
    }

    /// genesis + minted − burned = Σ balances + Σ escrow (ARCHITECTURE §3), and nothing is negative.
    public func checkConservation() throws {
        let held = totalBalanceMicro + totalEscrowMicro
        guard supplyMicro == held else {
            throw CrucibleError(.ledgerViolation, "conservation broken: supply \(supplyMicro) µCRU but \(held) µCRU held")
        }
        guard balances.values.allSatisfy({ $0 >= 0 }), escrows.values.allSatisfy({ $0.amountMicro >= 0 }) else {
            throw CrucibleError(.ledgerViolation, "a balance or escrow went negative")
        }
    }
}
