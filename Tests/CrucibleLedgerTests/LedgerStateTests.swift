import CrucibleCore
import CrucibleLedger
import CrucibleTestSupport
import Testing

@Suite struct LedgerStateTests {
    let alice = SigningIdentity().address
    let bob = SigningIdentity().address

    func funded() throws -> LedgerState {
        var ledger = LedgerState()
        try ledger.apply(.genesis(allocations: [.init(address: alice, amountMicro: 1_000), .init(address: bob, amountMicro: 500)]))
        return ledger
    }

    @Test func escrowPaysBurnsAndRefunds() throws {
        var ledger = try funded()
        try ledger.apply(.lockEscrow(jobId: "j", payer: alice, amountMicro: 400))
        #expect(ledger.balance(of: alice) == 600)
        #expect(ledger.escrowed(by: alice) == 400)
        try ledger.apply(.payFromEscrow(jobId: "j", to: bob, amountMicro: 100))
        try ledger.apply(.burnFromEscrow(jobId: "j", amountMicro: 5))
        try ledger.apply(.releaseEscrow(jobId: "j"))
        #expect(ledger.balance(of: alice) == 600 + 295)
        #expect(ledger.balance(of: bob) == 600)
        #expect(ledger.burnedMicro == 5)
        #expect(ledger.supplyMicro == 1_495)
        #expect(ledger.escrows.isEmpty)
        try ledger.checkConservation()
    }

    @Test func refusalsLeaveTheLedgerUnchanged() throws {
        let start = try funded()
        var ledger = start
        let refused: [LedgerEvent] = [
            .lockEscrow(jobId: "j", payer: alice, amountMicro: 1_001),
            .lockEscrow(jobId: "j", payer: alice, amountMicro: 0),
            .payFromEscrow(jobId: "missing", to: bob, amountMicro: 1),
            .releaseEscrow(jobId: "missing"),
            .genesis(allocations: [.init(address: alice, amountMicro: 1)]),
        ]
        for event in refused {
            #expect(throws: CrucibleError.self) { try ledger.apply(event) }
            #expect(ledger == start)
        }
        do {
            try ledger.apply(.lockEscrow(jobId: "j", payer: alice, amountMicro: 1_001))
        } catch let error as CrucibleError {
            #expect(error.code == .insufficientFunds)
        }
        try ledger.apply(.lockEscrow(jobId: "j", payer: alice, amountMicro: 100))
        let locked = ledger
        #expect(throws: CrucibleError.self) { try ledger.apply(.payFromEscrow(jobId: "j", to: bob, amountMicro: 101)) }
        #expect(throws: CrucibleError.self) { try ledger.apply(.burnFromEscrow(jobId: "j", amountMicro: -1)) }
        #expect(throws: CrucibleError.self) { try ledger.apply(.lockEscrow(jobId: "j", payer: bob, amountMicro: 1)) }
        #expect(ledger == locked)
    }

    @Test func stakeIsBondedUnbondedWithdrawnAndSlashed() throws {
        var ledger = try funded()
        try ledger.apply(.bond(operator: alice, amountMicro: 300))
        try ledger.apply(.unbond(operator: alice, amountMicro: 100, releaseMs: 1_000))
        #expect(ledger.balance(of: alice) == 700 && ledger.stake(of: alice) == 200 && ledger.unbondingAmount(of: alice) == 100)
        // Not released before its time, and refusing changes nothing.
        let waiting = ledger
        #expect(throws: CrucibleError.self) { try ledger.apply(.withdraw(operator: alice, atMs: 999)) }
        #expect(ledger == waiting)
        try ledger.apply(.unbond(operator: alice, amountMicro: 50, releaseMs: 5_000))
        try ledger.apply(.withdraw(operator: alice, atMs: 1_000))
        #expect(ledger.balance(of: alice) == 800 && ledger.unbondingAmount(of: alice) == 50)
        // A slash takes the bonded stake first, then what is still unbonding; part burned, the rest to the reporter.
        try ledger.apply(.slash(operator: alice, amountMicro: 180, burnMicro: 150, reporter: bob))
        #expect(ledger.stake(of: alice) == 0 && ledger.unbondingAmount(of: alice) == 20)
        #expect(ledger.balance(of: bob) == 530 && ledger.burnedMicro == 150 && ledger.supplyMicro == 1_350)
        try ledger.checkConservation()
        // Burning all of a slash needs no reporter.
        try ledger.apply(.slash(operator: alice, amountMicro: 20, burnMicro: 20, reporter: nil))
        #expect(ledger.unbondingAmount(of: alice) == 0 && ledger.unbonding[alice] == nil)
        try ledger.checkConservation()
    }

    @Test func stakingRefusalsNameTheProblemAndChangeNothing() throws {
        var ledger = try funded()
        try ledger.apply(.bond(operator: alice, amountMicro: 100))
        let start = ledger
        let refused: [LedgerEvent] = [
            .bond(operator: alice, amountMicro: 0),
            .bond(operator: alice, amountMicro: -5),
            .bond(operator: alice, amountMicro: 901),
            .bond(operator: "not-an-address", amountMicro: 1),
            .unbond(operator: alice, amountMicro: 101, releaseMs: 0),
            .unbond(operator: bob, amountMicro: 1, releaseMs: 0),
            .unbond(operator: alice, amountMicro: 0, releaseMs: 0),
            .withdraw(operator: alice, atMs: Int64.max),
            .slash(operator: alice, amountMicro: 101, burnMicro: 101, reporter: nil),
            .slash(operator: alice, amountMicro: 10, burnMicro: 11, reporter: bob),
            .slash(operator: alice, amountMicro: 10, burnMicro: -1, reporter: bob),
            .slash(operator: alice, amountMicro: 10, burnMicro: 5, reporter: nil),
            .slash(operator: alice, amountMicro: 0, burnMicro: 0, reporter: nil),
        ]
        for event in refused {
            #expect(throws: CrucibleError.self, "\(event)") { try ledger.apply(event) }
            #expect(ledger == start)
        }
        do {
            try ledger.apply(.bond(operator: alice, amountMicro: 901))
        } catch let error as CrucibleError {
            #expect(error.code == .insufficientFunds && error.message.contains("0.0009"))
        }
    }

    /// A long random walk of events, stake included; conservation must hold after every one that is accepted.
    @Test(.compute) func conservationHoldsAfterEveryEvent() async throws {
        var generator = SplitMix64(seed: 42)
        let people = (0..<5).map { _ in SigningIdentity().address }
        var ledger = LedgerState()
        try ledger.apply(.genesis(allocations: people.map { .init(address: $0, amountMicro: 1_000_000) }))
        var accepted = [String: Int]()
        for step in 0..<4_000 {
            let job = "job-\(Int.random(in: 0..<20, using: &generator))"
            let who = people[Int.random(in: 0..<people.count, using: &generator)]
            let other = people[Int.random(in: 0..<people.count, using: &generator)]
            let amount = Int64.random(in: 0...50_000, using: &generator)
            let event: LedgerEvent = switch step % 8 {
            case 0: .lockEscrow(jobId: job, payer: who, amountMicro: amount)
            case 1: .payFromEscrow(jobId: job, to: who, amountMicro: amount / 10)
            case 2: .burnFromEscrow(jobId: job, amountMicro: amount / 100)
            case 3: .releaseEscrow(jobId: job)
            case 4: .bond(operator: who, amountMicro: amount)
            case 5: .unbond(operator: who, amountMicro: amount / 2, releaseMs: Int64(step))
            case 6: .withdraw(operator: who, atMs: Int64(step))
            default: .slash(operator: who, amountMicro: amount / 4, burnMicro: amount / 8, reporter: other)
            }
            let before = ledger
            if (try? ledger.apply(event)) != nil {
                accepted[String("\(event)".prefix(while: { $0 != "(" })), default: 0] += 1
            } else {
                #expect(ledger == before)
            }
            try ledger.checkConservation()
            #expect(ledger.supplyMicro == 5_000_000 - ledger.burnedMicro)
        }
        // Every kind of event was exercised, not only refused.
        #expect(accepted.count == 8 && accepted.values.allSatisfy { $0 > 50 }, "\(accepted)")
    }
}
