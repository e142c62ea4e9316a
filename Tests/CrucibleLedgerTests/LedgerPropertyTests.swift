import CrucibleCore
import CrucibleLedger
import CrucibleTestSupport
import PropertyBased
import Testing

/// Random sequences of every ledger event, each drawn from a generated seed so that a failure shrinks to a short
/// sequence: conservation and non-negativity after every event, refusals that change nothing, and a replay of the
/// accepted events that reaches the same state.
@Suite struct LedgerPropertyTests {
    static let people = (0..<5).map { _ in SigningIdentity().address }

    static func event(_ seed: UInt64) -> LedgerEvent {
        var random = SplitMix64(seed: seed)
        let who = people[Int.random(in: 0..<people.count, using: &random)]
        let other = people[Int.random(in: 0..<people.count, using: &random)]
        let job = "job-\(Int.random(in: 0..<6, using: &random))"
        // Mostly sensible amounts, sometimes zero, negative or absurd.
        let amount: Int64 = switch Int.random(in: 0..<20, using: &random) {
        case 0: 0
        case 1: -Int64.random(in: 1...1_000, using: &random)
        case 2: Int64.max
        default: Int64.random(in: 1...60_000, using: &random)
        }
        switch Int.random(in: 0..<12, using: &random) {
        case 0: return .transfer(from: who, to: other, amountMicro: amount)
        case 1: return .lockEscrow(jobId: job, payer: who, amountMicro: amount)
        case 2: return .payFromEscrow(jobId: job, to: other, amountMicro: amount / 10)
        case 3: return .burnFromEscrow(jobId: job, amountMicro: amount / 100)
        case 4: return .releaseEscrow(jobId: job)
        case 5: return .bond(operator: who, amountMicro: amount)
        case 6: return .unbond(operator: who, amountMicro: amount / 2, releaseMs: Int64(seed % 1_000))
        case 7: return .withdraw(operator: who, atMs: Int64(seed % 1_000))
        case 8: return .slash(operator: who, amountMicro: amount / 4, burnMicro: amount / 8, treasuryMicro: amount / 16, reporter: other)
        case 9: return .mint(recipients: [.init(address: who, amountMicro: amount), .init(address: other, amountMicro: 7)], treasuryMicro: amount / 3)
        case 10: return .spendTreasury(to: other, amountMicro: amount / 5)
        default: return .genesis(allocations: [.init(address: who, amountMicro: amount)])
        }
    }

    @Test(.compute) func everySequenceConservesRefusesCleanlyAndReplays() async {
        await propertyCheck(count: 200, input: Gen.uint64().array(of: 1...120)) { seeds in
            var ledger = LedgerState()
            do {
                try ledger.apply(.genesis(allocations: Self.people.map { .init(address: $0, amountMicro: 1_000_000) }))
            } catch {
                Issue.record("genesis refused: \(error)")
                return
            }
            var accepted = [LedgerEvent]()
            for seed in seeds {
                let event = Self.event(seed)
                let before = ledger
                if (try? ledger.apply(event)) != nil {
                    accepted.append(event)
                } else {
                    #expect(ledger == before, "a refused \(event) changed the ledger")
                }
                #expect(throws: Never.self) { try ledger.checkConservation() }
            }
            var replayed = LedgerState()
            _ = try? replayed.apply(.genesis(allocations: Self.people.map { .init(address: $0, amountMicro: 1_000_000) }))
            for event in accepted { _ = try? replayed.apply(event) }
            #expect(replayed == ledger)
            // Genesis happens once, an escrow is locked once per job and released once.
            #expect(throws: CrucibleError.self) { try replayed.apply(.genesis(allocations: [.init(address: Self.people[0], amountMicro: 1)])) }
            if let job = replayed.escrows.keys.first {
                #expect(throws: CrucibleError.self) { try replayed.apply(.lockEscrow(jobId: job, payer: Self.people[0], amountMicro: 1)) }
            }
        }
    }
}
