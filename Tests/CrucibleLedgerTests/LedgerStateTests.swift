import CrucibleCore
import CrucibleLedger
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

    /// A long random walk of events; conservation must hold after every one that is accepted.
    @Test func conservationHoldsAfterEveryEvent() throws {
        var generator = SeededGenerator(seed: 42)
        let people = (0..<5).map { _ in SigningIdentity().address }
        var ledger = LedgerState()
        try ledger.apply(.genesis(allocations: people.map { .init(address: $0, amountMicro: 1_000_000) }))
        var accepted = 0
        for step in 0..<2_000 {
            let job = "job-\(Int.random(in: 0..<20, using: &generator))"
            let who = people[Int.random(in: 0..<people.count, using: &generator)]
            let amount = Int64.random(in: 0...50_000, using: &generator)
            let event: LedgerEvent = switch step % 4 {
            case 0: .lockEscrow(jobId: job, payer: who, amountMicro: amount)
            case 1: .payFromEscrow(jobId: job, to: who, amountMicro: amount / 10)
            case 2: .burnFromEscrow(jobId: job, amountMicro: amount / 100)
            default: .releaseEscrow(jobId: job)
            }
            if (try? ledger.apply(event)) != nil { accepted += 1 }
            try ledger.checkConservation()
            #expect(ledger.supplyMicro == 5_000_000 - ledger.burnedMicro)
        }
        #expect(accepted > 500)
    }
}

/// SplitMix64: a small deterministic generator so a failing walk replays exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
