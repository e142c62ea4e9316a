import CrucibleCore
import CrucibleLedger
import CrucibleProof
import CrucibleStore
import Foundation

/// Replays the log from genesis, checking every hash, signature, nonce and checkpoint, and recomputes the
/// whole state. Against a database it then compares every stored table; against a running coordinator, every
/// balance it reports. Anyone with the database or the public log can run it.
public enum Auditor {
    public struct Report: Sendable, Equatable, Codable {
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
        public var stakedMicro: Int64
        public var unbondingMicro: Int64
        public var treasuryMicro: Int64
        /// Challenge verdicts rechecked from their revealed seeds and openings (an audit of the database only).
        public var challengesRechecked = 0
        /// Proof-of-render comparisons recomputed from the stored frames and crops (when the blobs are at hand).
        public var cropChecksRecomputed = 0

        public var supplyMicro: Int64 { genesisMicro + mintedMicro - burnedMicro }
    }

    /// The replay itself: feed it entries in order, then checkpoints.
    public struct Replay: Sendable {
        public private(set) var state = NetworkState()
        public private(set) var last: LogEntry?
        public private(set) var coordinator = ""
        private var envelopes = 0
        private var decisions = 0
        private var checkpoints = 0
        private var checkpointedThrough: Int64 = 0
        private var nonces = Set<String>()
        private var hashesBySeq = [Int64: String]()
        /// Every account movement the log implies, in log order.
        public private(set) var movements = [MovementRow]()
        /// What every entry concerns, in log order.
        public private(set) var subjects = [SubjectRow]()

        public init() {}

        public mutating func consume(_ entry: LogEntry) throws {
            let event: LogEvent
            do {
                event = try CanonicalJSON.decode(LogEvent.self, from: Data(entry.content.utf8))
            } catch {
                throw fail("log entry \(entry.seq): content is not a log event: \(CanonicalJSON.describe(error))")
            }
            if last == nil {
                guard case .genesis(let genesis) = event else { throw fail("log entry \(entry.seq) is not the genesis") }
                coordinator = genesis.coordinator
            }
            try entry.verify(after: last, coordinator: coordinator)
            if case .envelope(let envelope) = event {
                guard nonces.insert("\(envelope.signer)/\(envelope.nonce)").inserted else {
                    throw fail("log entry \(entry.seq): nonce \(envelope.nonce) was used twice by \(Address.short(envelope.signer))")
                }
                envelopes += 1
            } else {
                decisions += 1
            }
            do {
                // `apply` asserts conservation after every event from running totals; `report` recounts in full.
                let applied = try state.apply(event, atMs: entry.timestampMs)
                movements += AccountMovements.rows(for: event, changes: applied.changes, state: state, seq: entry.seq, atMs: entry.timestampMs)
                subjects += LogSubjects.rows(for: event, changes: applied.changes, state: state, seq: entry.seq)
            } catch let error as CrucibleError {
                throw fail("log entry \(entry.seq) (\(event.typeName)) does not replay: \(error.message)")
            }
            hashesBySeq[entry.seq] = entry.hash
            last = entry
        }

        /// Checks a checkpoint over entries already consumed; checkpoints must come in order and leave no gap.
        public mutating func verify(_ checkpoint: LogCheckpoint) throws {
            guard checkpoint.firstSeq == checkpointedThrough + 1, checkpoint.lastSeq <= (last?.seq ?? 0) else {
                throw fail("checkpoint \(checkpoint.firstSeq)...\(checkpoint.lastSeq) does not follow the previous one or the log")
            }
            let entries = (checkpoint.firstSeq...checkpoint.lastSeq).map { seq in
                LogEntry(seq: seq, prevHash: "", hash: hashesBySeq[seq] ?? "", timestampMs: 0, content: "", signature: "")
            }
            try checkpoint.verify(entries: entries, coordinator: coordinator)
            checkpointedThrough = checkpoint.lastSeq
            checkpoints += 1
        }

        public func report() throws -> Report {
            guard let last else { throw fail("the log is empty") }
            do {
                try state.ledger.checkConservation()
            } catch let error as CrucibleError {
                throw fail(error.message)
            }
            let ledger = state.ledger
            return Report(
                coordinator: coordinator, entries: last.seq, envelopes: envelopes, decisions: decisions, checkpoints: checkpoints,
                accounts: ledger.balances.count, jobs: state.jobs.count, genesisMicro: ledger.genesisMicro,
                mintedMicro: ledger.mintedMicro, burnedMicro: ledger.burnedMicro,
                balancesMicro: ledger.totalBalanceMicro, escrowMicro: ledger.totalEscrowMicro, stakedMicro: ledger.totalStakeMicro,
                unbondingMicro: ledger.totalUnbondingMicro, treasuryMicro: ledger.treasuryMicro
            )
        }
    }

    /// The whole stored log replayed from genesis, every entry's chain and signature checked on the way.
    static func replay(_ store: CrucibleStore, continuing earlier: Replay = Replay()) async throws -> Replay {
        var replay = earlier
        while true {
            let page = try await store.logEntries(afterSeq: replay.last?.seq ?? 0, limit: 1000)
            if page.isEmpty { return replay }
            for entry in page { try replay.consume(entry) }
        }
    }

    /// How many times the audit of a live database reads its tables again because the coordinator committed meanwhile.
    static let liveReadAttemptsMax = 20

    /// Audits a coordinator's database: replays its log and compares every stored table with the replay.
    ///
    /// The coordinator may be live and commit while the tables are read, one after another: they are compared as read
    /// at a moment the log's head did not move across the reads (a commit writes its entry and its rows in one
    /// transaction), replaying what was committed meanwhile until such a moment comes.
    public static func audit(store: CrucibleStore) async throws -> Report {
        var replay = try await Self.replay(store)
        var stored: (projection: ProjectionSnapshot, movements: [MovementRow], subjects: [SubjectRow])
        var attempts = 0
        while true {
            stored = (try await store.projection().normalized(), try await store.allMovements(), try await store.allSubjects())
            attempts += 1
            let head = try await store.lastLogEntry()?.seq ?? 0
            if head == (replay.last?.seq ?? 0) || attempts == Self.liveReadAttemptsMax { break }
            replay = try await Self.replay(store, continuing: replay)
        }
        for checkpoint in try await store.checkpoints() where checkpoint.lastSeq <= (replay.last?.seq ?? 0) { try replay.verify(checkpoint) }
        let differences = compare(replayed: replay.state.projectionSnapshot(), stored: stored.projection)
        if !differences.isEmpty {
            throw fail("the stored state differs from the log's replay:\n  " + differences.prefix(10).joined(separator: "\n  ")
                + (differences.count > 10 ? "\n  … and \(differences.count - 10) more" : ""))
        }
        if stored.movements != replay.movements {
            let first = zip(stored.movements, replay.movements).first { $0 != $1 }.map { "stored \($0.0), replayed \($0.1)" }
                ?? "\(stored.movements.count) stored, \(replay.movements.count) replayed"
            throw fail("account histories differ from the log's replay: \(first)")
        }
        let storedSubjects = stored.subjects
        if storedSubjects != replay.subjects {
            // Named by the first entry whose subjects differ, with both sets: what a person needs to find the cause.
            let stored = Dictionary(grouping: storedSubjects, by: \.seq), replayed = Dictionary(grouping: replay.subjects, by: \.seq)
            let seq = Set(stored.keys).union(replayed.keys).sorted().first { stored[$0] != replayed[$0] }
            let detail = seq.map { seq in
                "entry \(seq): stored \((stored[seq] ?? []).map(\.subject)), replayed \((replayed[seq] ?? []).map(\.subject))"
            } ?? "\(storedSubjects.count) stored, \(replay.subjects.count) replayed"
            throw fail("the log's subject index differs from its replay: \(detail)")
        }
        var report = try replay.report()
        report.challengesRechecked = try await recheckChallenges(replay.state) { try await store.blob(sha256: $0) }
        report.cropChecksRecomputed = try await recomputeCropChecks(replay.state) { try await store.blob(sha256: $0) }
        return report
    }

    /// What an auditor without the database can fetch from a coordinator: pages of the public log with their
    /// checkpoints, the head of the log, and what it reports for an address.
    public struct PublicSource: Sendable {
        public var page: @Sendable (_ afterSeq: Int64) async throws -> (coordinator: String, entries: [LogEntry], checkpoints: [LogCheckpoint])
        public var head: @Sendable () async throws -> Int64
        public var account: @Sendable (_ address: String) async throws -> AccountFigures
        /// Content by SHA-256 (the coordinator's blob store), to recheck challenge verdicts on their openings.
        public var blob: (@Sendable (_ sha256: String) async throws -> Data?)?

        public init(
            page: @escaping @Sendable (Int64) async throws -> (coordinator: String, entries: [LogEntry], checkpoints: [LogCheckpoint]),
            head: @escaping @Sendable () async throws -> Int64,
            account: @escaping @Sendable (String) async throws -> AccountFigures,
            blob: (@Sendable (String) async throws -> Data?)? = nil
        ) {
            self.page = page
            self.head = head
            self.account = account
            self.blob = blob
        }
    }

    /// Audits a running coordinator from its public log alone: replays it, then checks that every balance and
    /// escrow the coordinator reports is the one the log gives. The coordinator keeps working meanwhile, so when
    /// its log has moved on during the comparison the replay catches up and compares again.
    public static func audit(source: PublicSource, attemptsMax: Int = 5) async throws -> Report {
        var replay = Replay()
        var lastMismatch = ""
        for _ in 0..<attemptsMax {
            while true {
                let page = try await source.page(replay.last?.seq ?? 0)
                if page.entries.isEmpty { break }
                for entry in page.entries { try replay.consume(entry) }
                guard page.coordinator == replay.coordinator else {
                    throw fail("the coordinator signs as \(Address.short(page.coordinator)) but its genesis names \(Address.short(replay.coordinator))")
                }
                for checkpoint in page.checkpoints { try replay.verify(checkpoint) }
            }
            let replayedThrough = replay.last?.seq ?? 0
            lastMismatch = ""
            let ledger = replay.state.ledger
            for address in Set(ledger.balances.keys).union(ledger.stakes.keys).union(ledger.unbonding.keys).sorted() {
                let reported = try await source.account(address)
                let expected = AccountFigures(address, in: ledger)
                if reported != expected {
                    lastMismatch = "account \(address): the coordinator reports \(reported), the log gives \(expected)"
                    break
                }
            }
            if lastMismatch.isEmpty {
                var report = try replay.report()
                if let blob = source.blob {
                    report.challengesRechecked = try await recheckChallenges(replay.state, blob: blob)
                    report.cropChecksRecomputed = try await recomputeCropChecks(replay.state, blob: blob)
                }
                return report
            }
            // A difference only counts if the log did not move while we compared.
            if try await source.head() == replayedThrough { throw fail(lastMismatch) }
        }
        throw fail("the log kept moving; last difference: \(lastMismatch)")
    }

    /// What a coordinator reports of one address, to hold against the replay.
    public struct AccountFigures: Sendable, Equatable, CustomStringConvertible {
        public var balanceMicro: Int64
        public var escrowMicro: Int64
        public var stakedMicro: Int64
        public var unbondingMicro: Int64

        public init(balanceMicro: Int64, escrowMicro: Int64, stakedMicro: Int64, unbondingMicro: Int64) {
            self.balanceMicro = balanceMicro
            self.escrowMicro = escrowMicro
            self.stakedMicro = stakedMicro
            self.unbondingMicro = unbondingMicro
        }

        /// What the ledger holds for `address`.
        public init(_ address: String, in ledger: LedgerState) {
            self.init(
                balanceMicro: ledger.balance(of: address), escrowMicro: ledger.escrowed(by: address),
                stakedMicro: ledger.stake(of: address), unbondingMicro: ledger.unbondingAmount(of: address)
            )
        }

        public var description: String {
            "balance \(balanceMicro) µCRU, escrow \(escrowMicro), staked \(stakedMicro), unbonding \(unbondingMicro)"
        }
    }

    static func fail(_ message: String) -> CrucibleError { CrucibleError(.auditFailed, message) }

    /// Every judged challenge, rechecked: its seeds against their digests (done by the replay), its timing from the
    /// logged times, its spot checks recomputed from the revealed seeds on the stored openings.
    static func recheckChallenges(_ state: NetworkState, blob: (String) async throws -> Data?) async throws -> Int {
        var rechecked = 0
        for id in state.challenges.keys.sorted(by: Scheduler.challengeOrder) {
            guard let record = state.challenges[id], record.verdict != nil else { continue }
            var openings: [[RowOpening]]?
            if let digest = record.openingsSha256, let content = try await blob(digest), Digest.sha256Hex(content) == digest {
                openings = try? JSONDecoder().decode([[RowOpening]].self, from: content)
            }
            if let problem = ChallengeJudge.recheck(record, openings: openings, policy: state.parameters.challenges) {
                throw fail("challenge verdict does not hold: \(problem)")
            }
            rechecked += 1
        }
        return rechecked
    }

    /// Every logged tile comparison, recomputed from the files the runs uploaded: the coordinator's figure must be
    /// what anyone gets from the same pixels.
    static func recomputeCropChecks(_ state: NetworkState, blob: (String) async throws -> Data?) async throws -> Int {
        var recomputed = 0
        for job in state.jobs.values.sorted(by: { $0.position < $1.position }) {
            guard let render = job.spec.render else { continue }
            for task in job.tasks {
                for check in task.cropChecks {
                    guard let run = state.runs[check.runId], let against = state.runs[check.againstRunId] else {
                        throw fail("crop check of \(check.runId) names a run the log does not have")
                    }
                    func content(_ outputs: [OutputFile], _ path: String) async throws -> Data? {
                        guard let file = outputs.first(where: { $0.path == path }) else { return nil }
                        guard let data = try await blob(file.sha256), Digest.sha256Hex(data) == file.sha256 else {
                            throw fail("output \(path) of a checked render run (\(file.sha256.prefix(12))…) is not in the blob store")
                        }
                        return data
                    }
                    func tiles(_ outputs: [OutputFile]) async throws -> [Data?] {
                        var tiles = [Data?]()
                        for tile in check.crops.indices { tiles.append(try await content(outputs, render.cropPath(taskIndex: task.index, tile: tile))) }
                        return tiles
                    }
                    // A primary's check is its whole re-rendered frame against a rejected one; others compare tiles.
                    let reference: ProofOfRender.Reference = against.role == .primary
                        ? .frame(try await content(against.outputs, render.framePath(taskIndex: task.index)))
                        : .tiles(try await tiles(against.outputs))
                    let candidates = run.role == .primary ? [try await content(run.outputs, render.framePath(taskIndex: task.index))] : try await tiles(run.outputs)
                    let again = ProofOfRender.compare(
                        reference: reference, candidates: candidates, crops: check.crops, frameWidth: render.width, frameHeight: render.height
                    )
                    guard again == check.comparison else {
                        throw fail("crop check of \(check.runId) against \(check.againstRunId) was logged as \(check.comparison.describe); the stored files give \(again.describe)")
                    }
                    recomputed += 1
                }
            }
        }
        return recomputed
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
        diff("node_proofs", replayed.nodeProofs, stored.nodeProofs) { $0.nodeId }
        diff("jobs", replayed.jobs, stored.jobs) { $0.id }
        diff("tasks", replayed.tasks, stored.tasks) { $0.id }
        diff("runs", replayed.runs, stored.runs) { $0.id }
        return differences
    }
}
