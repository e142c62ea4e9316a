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
    /// Bonded stake per operator.
    public private(set) var stakes: [String: Int64] = [:]
    /// Stake on its way out, per operator, in the order it was unbonded.
    public private(set) var unbonding: [String: [Unbonding]] = [:]

    public struct Unbonding: Sendable, Equatable {
        public var amountMicro: Int64
        public var releaseMs: Int64
    }
    public private(set) var genesisMicro: Int64 = 0
    public private(set) var mintedMicro: Int64 = 0
    public private(set) var burnedMicro: Int64 = 0
    public private(set) var hasGenesis = false
    /// Running sums, kept with every change so the conservation check after each event costs O(1).
    public private(set) var totalBalanceMicro: Int64 = 0
    public private(set) var totalEscrowMicro: Int64 = 0
    public private(set) var totalStakeMicro: Int64 = 0
    public private(set) var totalUnbondingMicro: Int64 = 0
    /// The community treasury: emissions' and slashes' governed shares, spent only by passed proposals.
    public private(set) var treasuryMicro: Int64 = 0

    public init() {}

    public func balance(of address: String) -> Int64 { balances[address] ?? 0 }

    public func stake(of address: String) -> Int64 { stakes[address] ?? 0 }

    public func unbondingAmount(of address: String) -> Int64 { (unbonding[address] ?? []).reduce(0) { $0 + $1.amountMicro } }

    public func escrowed(by address: String) -> Int64 {
        escrows.values.filter { $0.payer == address }.reduce(0) { $0 + $1.amountMicro }
    }

    /// Tokens in existence: everything ever created less everything burned.
    public var supplyMicro: Int64 { genesisMicro + mintedMicro - burnedMicro }

    public struct Touched: Sendable, Equatable {
        public var addresses: Set<String> = []
        public var escrowJobs: Set<String> = []
        /// How each address's balance moved, and what it has at stake (bonded and unbonding), for its history.
        public var balanceDeltas: [String: Int64] = [:]
        public var stakeDeltas: [String: Int64] = [:]
        public init() {}
        public mutating func formUnion(_ other: Touched) {
            addresses.formUnion(other.addresses)
            escrowJobs.formUnion(other.escrowJobs)
            balanceDeltas.merge(other.balanceDeltas, uniquingKeysWith: +)
            stakeDeltas.merge(other.stakeDeltas, uniquingKeysWith: +)
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

        case .transfer(let from, let to, let amountMicro):
            credit(from, -amountMicro, &touched)
            credit(to, amountMicro, &touched)

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

        case .bond(let account, let amountMicro):
            credit(account, -amountMicro, &touched)
            stakes[account, default: 0] += amountMicro
            totalStakeMicro += amountMicro
            touched.stakeDeltas[account, default: 0] += amountMicro

        case .unbond(let account, let amountMicro, let releaseMs):
            stakes[account]! -= amountMicro
            if stakes[account] == 0 { stakes[account] = nil }
            totalStakeMicro -= amountMicro
            unbonding[account, default: []].append(Unbonding(amountMicro: amountMicro, releaseMs: releaseMs))
            totalUnbondingMicro += amountMicro
            touched.addresses.insert(account)

        case .withdraw(let account, let atMs):
            let entries = unbonding[account] ?? []
            let released = entries.filter { $0.releaseMs <= atMs }.reduce(0) { $0 + $1.amountMicro }
            let remaining = entries.filter { $0.releaseMs > atMs }
            unbonding[account] = remaining.isEmpty ? nil : remaining
            totalUnbondingMicro -= released
            touched.stakeDeltas[account, default: 0] -= released
            credit(account, released, &touched)

        case .slash(let account, let amountMicro, let burnMicro, let treasuryShare, let reporter):
            // Bonded stake first, then unbonding amounts, newest first: leaving does not escape a fault.
            let fromStake = min(stake(of: account), amountMicro)
            stakes[account, default: 0] -= fromStake
            if stakes[account] == 0 { stakes[account] = nil }
            totalStakeMicro -= fromStake
            var rest = amountMicro - fromStake
            var entries = unbonding[account] ?? []
            while rest > 0, let last = entries.indices.last {
                let take = min(entries[last].amountMicro, rest)
                entries[last].amountMicro -= take
                if entries[last].amountMicro == 0 { entries.removeLast() }
                rest -= take
                totalUnbondingMicro -= take
            }
            unbonding[account] = entries.isEmpty ? nil : entries
            touched.stakeDeltas[account, default: 0] -= amountMicro
            burnedMicro += burnMicro
            treasuryMicro += treasuryShare
            if let reporter, amountMicro > burnMicro + treasuryShare { credit(reporter, amountMicro - burnMicro - treasuryShare, &touched) }
            touched.addresses.insert(account)

        case .mint(let recipients, let treasuryShare):
            for recipient in recipients {
                credit(recipient.address, recipient.amountMicro, &touched)
                mintedMicro += recipient.amountMicro
            }
            treasuryMicro += treasuryShare
            mintedMicro += treasuryShare

        case .spendTreasury(let to, let amountMicro):
            treasuryMicro -= amountMicro
            credit(to, amountMicro, &touched)
        }
        precondition(
            supplyMicro == totalBalanceMicro + totalEscrowMicro + totalStakeMicro + totalUnbondingMicro + treasuryMicro,
            "ledger conservation broken by \(event)"
        )
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
            guard Amount.total(allocations.map(\.amountMicro)) != nil else { throw violation("genesis allocations overflow") }
        case .transfer(let from, let to, let amountMicro):
            guard Address.isValid(to) else { throw violation("a transfer to an invalid address") }
            guard amountMicro > 0 else { throw violation("a transfer must be positive") }
            guard from != to else { throw violation("a transfer to oneself moves nothing") }
            let balance = balance(of: from)
            guard balance >= amountMicro else {
                throw CrucibleError(.insufficientFunds, "sending \(Amount.format(amountMicro)) CRU needs that much in the balance; it holds \(Amount.format(balance)) CRU")
            }
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
        case .bond(let account, let amountMicro):
            guard Address.isValid(account) else { throw violation("stake for an invalid address") }
            guard amountMicro > 0 else { throw violation("a stake must be positive") }
            let balance = balance(of: account)
            guard balance >= amountMicro else {
                throw CrucibleError(.insufficientFunds, "staking \(Amount.format(amountMicro)) CRU needs that much in the balance; it holds \(Amount.format(balance)) CRU")
            }
        case .unbond(let account, let amountMicro, _):
            guard amountMicro > 0 else { throw violation("an unbonding amount must be positive") }
            guard stake(of: account) >= amountMicro else {
                throw violation("\(Address.short(account)) has \(Amount.format(stake(of: account))) CRU staked, not \(Amount.format(amountMicro))")
            }
        case .withdraw(let account, let atMs):
            guard (unbonding[account] ?? []).contains(where: { $0.releaseMs <= atMs }) else {
                throw violation("nothing of \(Address.short(account))'s unbonding stake is released yet")
            }
        case .slash(let account, let amountMicro, let burnMicro, let treasuryShare, let reporter):
            guard amountMicro > 0, burnMicro >= 0, treasuryShare >= 0, burnMicro <= amountMicro - treasuryShare else {
                throw violation("a slash must be positive, and what it burns and gives the treasury between nothing and all of it")
            }
            guard stake(of: account) + unbondingAmount(of: account) >= amountMicro else {
                throw violation("\(Address.short(account)) has only \(Amount.format(stake(of: account) + unbondingAmount(of: account))) CRU at stake")
            }
            if burnMicro + treasuryShare < amountMicro {
                guard let reporter, Address.isValid(reporter) else { throw violation("the part of a slash neither burned nor for the treasury goes to a valid reporter") }
            }
        case .mint(let recipients, let treasuryShare):
            guard treasuryShare >= 0, recipients.allSatisfy({ $0.amountMicro > 0 }) else { throw violation("minted amounts must be positive") }
            guard recipients.allSatisfy({ Address.isValid($0.address) }) else { throw violation("a mint to an invalid address") }
            guard let total = Amount.total([treasuryShare] + recipients.map(\.amountMicro)) else { throw violation("minted amounts overflow") }
            guard !supplyMicro.addingReportingOverflow(total).overflow, !mintedMicro.addingReportingOverflow(total).overflow else {
                throw violation("the mint would overflow the supply")
            }
        case .spendTreasury(let to, let amountMicro):
            guard Address.isValid(to) else { throw violation("a treasury payment to an invalid address") }
            guard amountMicro > 0 else { throw violation("a treasury payment must be positive") }
            guard treasuryMicro >= amountMicro else {
                throw CrucibleError(.insufficientFunds, "the treasury holds \(Amount.format(treasuryMicro)) CRU, not \(Amount.format(amountMicro))")
            }
        }
    }

    private mutating func credit(_ address: String, _ amountMicro: Int64, _ touched: inout Touched) {
        balances[address, default: 0] += amountMicro
        totalBalanceMicro += amountMicro
        touched.addresses.insert(address)
        touched.balanceDeltas[address, default: 0] += amountMicro
    }

    private mutating func takeFromEscrow(_ jobId: String, _ amountMicro: Int64, _ touched: inout Touched) {
        escrows[jobId]!.amountMicro -= amountMicro
        totalEscrowMicro -= amountMicro
        touched.escrowJobs.insert(jobId)
    }

    /// Recounts everything from scratch: genesis + minted − burned = Σ balances + Σ escrow + Σ stake + Σ unbonding
    /// + treasury, nothing negative,
    /// and the running sums agree with the recount. The audit and the tests call it; `apply` keeps the sums.
    public func checkConservation() throws {
        let balances = balances.values.reduce(0, +)
        let escrowed = escrows.values.reduce(0) { $0 + $1.amountMicro }
        let staked = stakes.values.reduce(0, +)
        let leaving = unbonding.values.joined().reduce(0) { $0 + $1.amountMicro }
        guard balances == totalBalanceMicro, escrowed == totalEscrowMicro, staked == totalStakeMicro, leaving == totalUnbondingMicro else {
            throw CrucibleError(.ledgerViolation, "running totals disagree with a recount")
        }
        guard supplyMicro == balances + escrowed + staked + leaving + treasuryMicro else {
            throw CrucibleError(.ledgerViolation, "conservation broken: supply \(supplyMicro) µCRU but \(balances + escrowed + staked + leaving + treasuryMicro) µCRU held")
        }
        guard self.balances.values.allSatisfy({ $0 >= 0 }), escrows.values.allSatisfy({ $0.amountMicro >= 0 }),
              stakes.values.allSatisfy({ $0 > 0 }), unbonding.values.joined().allSatisfy({ $0.amountMicro > 0 }), treasuryMicro >= 0
        else {
            throw CrucibleError(.ledgerViolation, "a balance, escrow or stake went negative")
        }
    }
}
