import CrucibleCore

/// The token state. `apply` is deterministic: the same events give the same state on every replay. Each event
/// is checked in full before anything changes, so a refused event leaves the state exactly as it was, without
/// the cost of copying the state to be safe.
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
    /// Running sums, kept with every change so the conservation check after each event costs O(1).
    public private(set) var totalBalanceMicro: Int64 = 0
    public private(set) var totalEscrowMicro: Int64 = 0

    public init() {}

    public func balance(of address: String) -> Int64 { balances[address] ?? 0 }

    public func escrowed(by address: String) -> Int64 {
        escrows.values.filter { $0.payer == address }.reduce(0) { $0 + $1.amountMicro }
    }

    /// Tokens in existence: everything ever created less everything burned.
    public var supplyMicro: Int64 { genesisMicro + mintedMicro - burnedMicro }

    public struct Touched: Sendable, Equatable {
        public var addresses: Set<String> = []
        public var escrowJobs: Set<String> = []
        public init() {}
        public mutating func formUnion(_ other: Touched) {
            addresses.formUnion(other.addresses)
            escrowJobs.formUnion(other.escrowJobs)
        }
    }

    /// Applies one event, returning the addresses and jobs whose rows changed. Throws, changing nothing, if the
    /// event breaks a rule. After every accepted event the conservation law must hold; if it does not, the
    /// ledger's own code is wrong and going on would spread the damage, so it stops.
    @discardableResult
    public mutating func apply(_ event: LedgerEvent) throws -> Touched {
        try check(event)
        var touched = Touched()
        switch event {
        case .genesis(let allocations):
            for allocation in allocations {
                credit(allocation.address, allocation.amountMicro, &touched)
                genesisMicro += allocation.amountMicro
            }
            hasGenesis = true

        case .lockEscrow(let jobId, let payer, let amountMicro):
            credit(payer, -amountMicro, &touched)
            escrows[jobId] = Escrow(payer: payer, amountMicro: amountMicro)
            totalEscrowMicro += amountMicro
            touched.escrowJobs.insert(jobId)

        case .payFromEscrow(let jobId, let to, let amountMicro):
            takeFromEscrow(jobId, amountMicro, &touched)
            credit(to, amountMicro, &touched)

        case .burnFromEscrow(let jobId, let amountMicro):
            takeFromEscrow(jobId, amountMicro, &touched)
            burnedMicro += amountMicro

        case .releaseEscrow(let jobId):
            let escrow = escrows.removeValue(forKey: jobId)!
            totalEscrowMicro -= escrow.amountMicro
            credit(escrow.payer, escrow.amountMicro, &touched)
            touched.escrowJobs.insert(jobId)
        }
        precondition(supplyMicro == totalBalanceMicro + totalEscrowMicro, "ledger conservation broken by \(event)")
        return touched
    }

    /// Every rule an event must meet, checked before it changes anything.
    public func check(_ event: LedgerEvent) throws {
        func violation(_ message: String) -> CrucibleError { CrucibleError(.ledgerViolation, message) }
        func escrow(_ jobId: String, covering amountMicro: Int64) throws {
            guard amountMicro >= 0 else { throw violation("amounts must not be negative") }
            guard let escrow = escrows[jobId] else { throw violation("job \(jobId) has no escrow") }
            guard escrow.amountMicro >= amountMicro else {
                throw violation("job \(jobId) escrow holds \(escrow.amountMicro) µCRU, \(amountMicro) asked")
            }
        }
        switch event {
        case .genesis(let allocations):
            guard !hasGenesis else { throw violation("genesis happens once") }
            for allocation in allocations {
                guard Address.isValid(allocation.address) else { throw violation("genesis allocation to an invalid address") }
                guard allocation.amountMicro > 0 else { throw violation("genesis allocations must be positive") }
            }
            let (_, overflow) = allocations.reduce((Int64(0), false)) { sum, allocation in
                let (next, overflow) = sum.0.addingReportingOverflow(allocation.amountMicro)
                return (next, sum.1 || overflow)
            }
            guard !overflow else { throw violation("genesis allocations overflow") }
        case .lockEscrow(let jobId, let payer, let amountMicro):
            guard amountMicro > 0 else { throw violation("escrow must be positive") }
            guard escrows[jobId] == nil else { throw violation("job \(jobId) already has escrow") }
            let balance = balance(of: payer)
            guard balance >= amountMicro else {
                throw CrucibleError(.insufficientFunds, "the job needs \(Amount.format(amountMicro)) CRU in escrow; the balance is \(Amount.format(balance)) CRU")
            }
        case .payFromEscrow(let jobId, let to, let amountMicro):
            guard Address.isValid(to) else { throw violation("payment to an invalid address") }
            try escrow(jobId, covering: amountMicro)
        case .burnFromEscrow(let jobId, let amountMicro):
            try escrow(jobId, covering: amountMicro)
        case .releaseEscrow(let jobId):
            guard escrows[jobId] != nil else { throw violation("job \(jobId) has no escrow") }
        }
    }

    private mutating func credit(_ address: String, _ amountMicro: Int64, _ touched: inout Touched) {
        balances[address, default: 0] += amountMicro
        totalBalanceMicro += amountMicro
        touched.addresses.insert(address)
    }

    private mutating func takeFromEscrow(_ jobId: String, _ amountMicro: Int64, _ touched: inout Touched) {
        escrows[jobId]!.amountMicro -= amountMicro
        totalEscrowMicro -= amountMicro
        touched.escrowJobs.insert(jobId)
    }

    /// Recounts everything from scratch: genesis + minted − burned = Σ balances + Σ escrow, nothing negative,
    /// and the running sums agree with the recount. The audit and the tests call it; `apply` keeps the sums.
    public func checkConservation() throws {
        let balances = balances.values.reduce(0, +)
        let escrowed = escrows.values.reduce(0) { $0 + $1.amountMicro }
        guard balances == totalBalanceMicro, escrowed == totalEscrowMicro else {
            throw CrucibleError(.ledgerViolation, "running totals disagree with a recount")
        }
        guard supplyMicro == balances + escrowed else {
            throw CrucibleError(.ledgerViolation, "conservation broken: supply \(supplyMicro) µCRU but \(balances + escrowed) µCRU held")
        }
        guard self.balances.values.allSatisfy({ $0 >= 0 }), escrows.values.allSatisfy({ $0.amountMicro >= 0 }) else {
            throw CrucibleError(.ledgerViolation, "a balance or escrow went negative")
        }
    }
}
