import ArgumentParser
import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleStore
import Foundation
import Logging

/// Figures for the token ledger (issue: token economics): how many events `LedgerState.apply` takes per second on
/// one core, and how many transfers a coordinator settles per second into SQLite when their log entries are
/// committed in groups, as the live coordinator commits them. Medians of several runs in one process.
struct LedgerBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Measure in-memory ledger apply throughput and persisted transfer settlement on SQLite."
    )

    @Option(help: "Transfers applied in memory per run.") var events: Int = 1_000_000
    @Option(help: "Accounts the transfers move between.") var accounts: Int = 10_000
    @Option(help: "Signed transfers settled through a coordinator into SQLite.") var settlements: Int = 20_000
    @Option(help: "Transfers in flight at once against the coordinator (its group commit batches them).") var concurrency: Int = 64
    @Option(help: "Payments per envelope in the batched settlement run.") var batchPayments: Int = 100
    @Option(help: "Runs of each measurement; the median is printed.") var runs: Int = 5

    func validate() throws {
        guard (1...50_000_000).contains(events), (2...10_000_000).contains(accounts), (1...1_000_000).contains(settlements),
              (1...4096).contains(concurrency), (1...50).contains(runs),
              (1...TokenTransfer.paymentsMax).contains(batchPayments)
        else { throw ValidationError("--events 1…50000000, --accounts 2…10000000, --settlements 1…1000000, --concurrency 1…4096, --runs 1…50, --batch-payments 1…\(TokenTransfer.paymentsMax)") }
    }

    func run() async throws {
        let addresses = (0..<accounts).map { index in Digest.sha256Hex("bench-account-\(index)") }
        var generator = SplitMix64(seed: 7)
        let transfers: [LedgerEvent] = (0..<events).map { _ in
            let from = Int.random(in: 0..<accounts, using: &generator)
            var to = Int.random(in: 0..<accounts - 1, using: &generator)
            if to >= from { to += 1 }
            return .transfer(from: addresses[from], to: addresses[to], amountMicro: Int64.random(in: 1...1_000, using: &generator))
        }
        let genesis = LedgerEvent.genesis(allocations: addresses.map { .init(address: $0, amountMicro: 1_000_000 * Amount.microPerCRU) })

        // In memory, one core: apply only, conservation checked after each event as always.
        var applyRates = [Double]()
        for _ in 0..<runs {
            var ledger = LedgerState()
            try ledger.apply(genesis)
            let started = ContinuousClock.now
            for event in transfers { try ledger.apply(event) }
            applyRates.append(Double(events) / (ContinuousClock.now - started).totalSeconds)
            try ledger.checkConservation()
        }
        print("apply: \(events) transfers among \(accounts) accounts, in memory on one core")
        print("  median \(Self.rate(Self.median(applyRates))) events/s (runs: \(applyRates.map(Self.rate).joined(separator: ", ")))")

        // Persisted: signed transfer envelopes through a real coordinator (signature check, nonce, apply, signed log
        // entry, projection rows) committed to SQLite in groups, `concurrency` at a time; one payment per envelope,
        // then batches that pay many addresses under one signature and one log entry.
        for batch in [1, batchPayments] {
            var rates = [Double]()
            for _ in 0..<runs { rates.append(try await settle(paymentsPerEnvelope: batch, addresses: addresses)) }
            print("settle: \(settlements) transfers as signed envelopes of \(batch) payment(s) through a coordinator into SQLite (group commit, \(concurrency) in flight)")
            print("  median \(Self.rate(Self.median(rates))) transfers/s (runs: \(rates.map(Self.rate).joined(separator: ", ")))")
        }
    }

    /// Transfers per second settled by a fresh coordinator, each envelope paying `paymentsPerEnvelope` addresses.
    private func settle(paymentsPerEnvelope: Int, addresses: [String]) async throws -> Double {
        var logger = Logger(label: "crucible.bench")
        logger.logLevel = .error
        let senders = (0..<concurrency).map { _ in SigningIdentity() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-ledger-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try await CrucibleStore.openSQLite(path: folder + "/crucible.sqlite", logger: logger)
        let coordinator = try await Coordinator.open(
            store: store, identity: SigningIdentity(),
            genesisAllocations: senders.map { .init(address: $0.address, amountMicro: 1_000_000 * Amount.microPerCRU) },
            // A few senders, each as fast as it can: no per-key limit here.
            rateLimit: nil, logger: logger
        )
        // Signed ahead, as wallets sign before they send: the coordinator's own work is what is timed.
        let envelopesPerSender = max(1, settlements / paymentsPerEnvelope / concurrency)
        var next = 0
        let envelopes = try senders.map { sender in
            try (0..<envelopesPerSender).map { _ in
                let payments = (0..<paymentsPerEnvelope).map { _ in
                    next += 1
                    return TokenTransfer.Payment(to: addresses[next % addresses.count], amountMicro: 1 + Int64(next % 1_000))
                }
                return try SignedEnvelope.sign(TokenTransfer(payments: payments), kind: .transfer, by: sender)
            }
        }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in envelopes {
                group.addTask { for envelope in batch { try await coordinator.transfer(VerifiedEnvelope(envelope, as: .transfer)) } }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - started).totalSeconds
        try await store.close()
        return Double(envelopesPerSender * concurrency * paymentsPerEnvelope) / seconds
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func rate(_ value: Double) -> String { String(format: "%.0f", value) }
}
