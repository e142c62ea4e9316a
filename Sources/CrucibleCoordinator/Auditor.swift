import CrucibleCore
import CrucibleLedger
import CrucibleStore
import Foundation

/// Replays the log from genesis, checking every hash, signature, nonce and checkpoint, recomputes every table
/// and compares it with what the database holds. Anyone with the database (or the public log) can run it.
public enum Auditor {
    public struct Report: Sendable, Equatable {
        public var coordinator: String
        public var entries: Int64
        public var envelopes: Int
        public var decisions: Int
        public var checkpoints: Int
        public var accounts: Int
        public var jobs: Int
        public var genesisMicro: Int64
        public var mintedMicro: Int64
        public var burnedMicro: Int64
        public var balancesMicro: Int64
        public var escrowMicro: Int64

        public var supplyMicro: Int64 { genesisMicro + mintedMicro - burnedMicro }
    }

    public static func audit(store: CrucibleStore) async throws -> Report {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.auditFailed, message) }
        var state = NetworkState()
        var previous: LogEntry?
        var coordinator = ""
        var envelopes = 0
        var decisions = 0
        var nonces = Set<String>()
        var hashesBySeq = [Int64: String]()
        while true {
            let page = try await store.logEntries(afterSeq: previous?.seq ?? 0, limit: 1000)
            if page.isEmpty { break }
            for entry in page {
                let event: LogEvent
                do {
                    event = try CanonicalJSON.decode(LogEvent.self, from: Data(entry.content.utf8))
                } catch {
                    throw fail("log entry \(entry.seq): content is not a log event: \(CanonicalJSON.describe(error))")
                }
                if previous == nil {
                    guard case .genesis(let genesis) = event else { throw fail("log entry 1 is not the genesis") }
                    coordinator = genesis.coordinator
                }
                try entry.verify(after: previous, coordinator: coordinator)
                if case .envelope(let envelope) = event {
                    guard nonces.insert("\(envelope.signer)/\(envelope.nonce)").inserted else {
                        throw fail("log entry \(entry.seq): nonce \(envelope.nonce) was used twice by \(Address.short(envelope.signer))")
                    }
                    envelopes += 1
                } else {
                    decisions += 1
                }
                do {
                    try state.apply(event, atMs: entry.timestampMs)
                    try state.ledger.checkConservation()
                } catch let error as CrucibleError {
                    throw fail("log entry \(entry.seq) (\(event.typeName)) does not replay: \(error.message)")
                }
                hashesBySeq[entry.seq] = entry.hash
                previous = entry
            }
        }
        guard let last = previous else { throw fail("the log is empty") }

        let checkpoints = try await store.checkpoints()
        var covered: Int64 = 0
        for checkpoint in checkpoints {
            guard checkpoint.firstSeq == covered + 1, checkpoint.lastSeq <= last.seq else {
                throw fail("checkpoint \(checkpoint.firstSeq)...\(checkpoint.lastSeq) does not follow the previous one or the log")
            }
            let entries = (checkpoint.firstSeq...checkpoint.lastSeq).map { seq in
                LogEntry(seq: seq, prevHash: "", hash: hashesBySeq[seq] ?? "", timestampMs: 0, content: "", signature: "")
            }
            try checkpoint.verify(entries: entries, coordinator: coordinator)
            covered = checkpoint.lastSeq
        }

        let replayed = state.projectionSnapshot()
        let stored = try await store.projection().normalized()
        let differences = compare(replayed: replayed, stored: stored)
        if !differences.isEmpty {
            throw fail("the stored state differs from the log's replay:\n  " + differences.prefix(10).joined(separator: "\n  ")
                + (differences.count > 10 ? "\n  … and \(differences.count - 10) more" : ""))
        }
        return Report(
            coordinator: coordinator, entries: last.seq, envelopes: envelopes, decisions: decisions, checkpoints: checkpoints.count,
            accounts: state.ledger.balances.count, jobs: state.jobs.count, genesisMicro: state.ledger.genesisMicro,
            mintedMicro: state.ledger.mintedMicro, burnedMicro: state.ledger.burnedMicro,
            balancesMicro: state.ledger.totalBalanceMicro, escrowMicro: state.ledger.totalEscrowMicro
        )
    }

    /// Row-by-row differences between two snapshots, each as a sentence naming table and key.
    static func compare(replayed: ProjectionSnapshot, stored: ProjectionSnapshot) -> [String] {
        var differences = [String]()
        func diff<Row: Equatable>(_ table: String, _ lhs: [Row], _ rhs: [Row], key: (Row) -> String) {
            let expected = Dictionary(lhs.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
            let actual = Dictionary(rhs.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
            for (id, row) in expected.sorted(by: { $0.key < $1.key }) {
                guard let other = actual[id] else { differences.append("\(table) \(id): missing from the database"); continue }
                if other != row { differences.append("\(table) \(id): database has \(other), the log gives \(row)") }
            }
            for id in actual.keys.sorted() where expected[id] == nil {
                differences.append("\(table) \(id): in the database but not in the log")
            }
        }
        diff("accounts", replayed.accounts, stored.accounts) { $0.address }
        diff("escrows", replayed.escrows, stored.escrows) { $0.jobId }
        diff("ledger_totals", replayed.totals, stored.totals) { $0.name }
        diff("nodes", replayed.nodes, stored.nodes) { $0.id }
        diff("jobs", replayed.jobs, stored.jobs) { $0.id }
        diff("tasks", replayed.tasks, stored.tasks) { $0.id }
        diff("runs", replayed.runs, stored.runs) { $0.id }
        return differences
    }
}
