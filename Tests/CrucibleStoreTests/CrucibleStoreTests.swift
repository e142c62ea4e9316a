import CrucibleCore
import CrucibleStore
import CrucibleTestSupport
import Foundation
import Testing

/// The databases the store runs on. Every contract test runs against each: one store code path, two databases.
enum Database: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgresql
    var testDescription: String { rawValue }
}

/// The store's contract: what it keeps, how commits fail, what it reads back, on SQLite (a file) and on PostgreSQL (a
/// throwaway server the test starts on loopback).
@Suite(.heavyProcesses) struct CrucibleStoreTests {
    /// Runs `body` with the address of a new, empty database of `kind` and removes it afterwards.
    func withDatabase(_ kind: Database, _ body: (String) async throws -> Void) async throws {
        switch kind {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-store-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            try await body(folder.appendingPathComponent("db.sqlite").path)
        case .postgresql:
            try await ThrowawayPostgres.with { server in try await body(try await server.createDatabase()) }
        }
    }

    /// Runs `body` with an open store of `kind`, closing it afterwards.
    func withStore(_ kind: Database, _ body: (CrucibleStore) async throws -> Void) async throws {
        try await withDatabase(kind) { address in
                let store = try await CrucibleStore.open(address)
                #expect(store.kind == kind.rawValue)
                do {
                    try await body(store)
                    try await store.close()
                } catch {
                    try? await store.close()
                    throw error
                }
        }
    }

    func entries(_ count: Int, signer: SigningIdentity) -> [LogEntry] {
        var result = [LogEntry]()
        for index in 0..<count {
            result.append(LogEntry.make(after: result.last, timestampMs: Int64(index), content: "{\"n\":\(index)}", signer: signer))
        }
        return result
    }

    @Test(arguments: Database.allCases) func commitsAreAtomicAndReadBack(_ kind: Database) async throws {
        try await withDatabase(kind) { address in
            let store = try await CrucibleStore.open(address)
            let signer = SigningIdentity()
            let log = entries(3, signer: signer)
            var projection = ProjectionBatch()
            projection.accounts = [AccountRow(address: "a", balanceMicro: 5), AccountRow(address: "a", balanceMicro: 7)]
            projection.escrows = [EscrowRow(jobId: "j", payer: "a", amountMicro: 3)]
            try await store.commit(entries: log, checkpoints: [LogCheckpoint.make(entries: log, signer: signer)], projection: projection)
            #expect(try await store.logEntries(afterSeq: 0, limit: 10) == log)
            #expect(try await store.lastLogEntry() == log.last)
            var snapshot = try await store.projection()
            #expect(snapshot.accounts == [AccountRow(address: "a", balanceMicro: 7)])
            try await store.checkpoints()[0].verify(entries: log, coordinator: signer.address)

            // A batch that fails part-way (a repeated sequence number) leaves nothing behind.
            var second = ProjectionBatch()
            second.accounts = [AccountRow(address: "b", balanceMicro: 1)]
            second.closedEscrows = ["j"]
            await #expect(throws: (any Error).self) {
                try await store.commit(entries: [log[0]], checkpoints: [], projection: second, nonces: [SeenNonce(signer: "s", nonce: "n", timestampMs: 1)])
            }
            snapshot = try await store.projection()
            #expect(snapshot.accounts.count == 1)
            #expect(snapshot.escrows.count == 1)
            #expect(try await store.recentNonces(sinceMs: 0).isEmpty)
            try await store.close()

            // Durable across reopening; opening again migrates nothing twice.
            let reopened = try await CrucibleStore.open(address)
            #expect(try await reopened.logEntries(afterSeq: 1, limit: 10) == Array(log.dropFirst()))
            try await reopened.close()
        }
    }

    @Test(arguments: Database.allCases) func entriesAreFoundByWhatTheyConcern(_ kind: Database) async throws {
        try await withStore(kind) { store in
            let signer = SigningIdentity()
            let log = entries(5, signer: signer)
            var projection = ProjectionBatch()
            projection.subjects = [1, 3, 4].map { SubjectRow(subject: "job-a", seq: $0) } + [2, 3].map { SubjectRow(subject: "node-b", seq: $0) }
            try await store.commit(entries: log, checkpoints: [], projection: projection)
            #expect(try await store.hasSubjectIndex())
            func page(_ subject: String?, after: Int64 = 0, before: Int64? = nil, limit: Int = 10) async throws -> [LogEntry] {
                try await store.logPage(concerning: subject, afterSeq: after, beforeSeq: before, limit: limit)
            }
            #expect(try await page("job-a") == [log[0], log[2], log[3]])
            #expect(try await page("job-a", after: 1, limit: 1) == [log[2]])
            #expect(try await page("job-a", before: .max, limit: 2) == [log[3], log[2]])
            #expect(try await page("node-b", before: 3) == [log[1]])
            #expect(try await page("nobody").isEmpty)
            #expect(try await page(nil, before: 3) == [log[1], log[0]])
            #expect(try await page(nil, after: 1, before: 5) == [log[3], log[2], log[1]])
            #expect(try await page(nil, after: 3) == [log[3], log[4]])
            #expect(try await page("job-a", after: 1, before: 4) == [log[2]])
            #expect(try await store.allSubjects().map(\.seq) == [1, 2, 3, 3, 4])
            // A subject is indexed once per entry: a second row for it is refused with the rest of its commit.
            var again = ProjectionBatch()
            again.subjects = [SubjectRow(subject: "job-a", seq: 1)]
            await #expect(throws: (any Error).self) { try await store.commit(entries: [], checkpoints: [], projection: again) }
            #expect(try await store.allSubjects().count == 5)
        }
    }

    @Test(arguments: Database.allCases) func presenceSamplesAreKeptForTheirWindow(_ kind: Database) async throws {
        try await withStore(kind) { store in
            let samples = (1...4).map { PresenceSample(atMs: Int64($0) * 1_000, gpusOnline: Int64($0), gpusBusy: 1, coresOnline: 8, coresBusy: Int64($0) % 2) }
            for sample in samples { try await store.recordPresence(sample) }
            // A second sample at the same moment is the same sample.
            try await store.recordPresence(samples[3])
            #expect(try await store.presenceSamples(sinceMs: 2_000) == Array(samples.dropFirst()))
            let later = PresenceSample(atMs: 9_000, gpusOnline: 0, gpusBusy: 0, coresOnline: 0, coresBusy: 0)
            try await store.recordPresence(later)
            try await store.prunePresence(olderThanMs: 3_000)
            #expect(try await store.presenceSamples(sinceMs: 0) == [samples[2], samples[3], later])
        }
    }

    @Test(arguments: Database.allCases) func noncesBecomeDurableWithTheirCommitAndArePrunedByAge(_ kind: Database) async throws {
        try await withStore(kind) { store in
            let first = SeenNonce(signer: "s", nonce: "n1", timestampMs: 1)
            let later = SeenNonce(signer: "s", nonce: "n2", timestampMs: 5)
            try await store.commit(entries: [], checkpoints: [], projection: ProjectionBatch(), nonces: [first, later])
            // Sent again in a later batch (a restart that had not seen it persist), it is kept once.
            try await store.commit(entries: [], checkpoints: [], projection: ProjectionBatch(), nonces: [first])
            #expect(Set(try await store.recentNonces(sinceMs: 0).map(\.nonce)) == ["n1", "n2"])
            #expect(try await store.recentNonces(sinceMs: 2) == [later])
            try await store.pruneNonces(olderThanMs: 2)
            #expect(try await store.recentNonces(sinceMs: 0) == [later])
        }
    }

    @Test(arguments: Database.allCases) func blobsAreContentAddressed(_ kind: Database) async throws {
        try await withStore(kind) { store in
            let data = Data("hello".utf8)
            let sha = Digest.sha256Hex(data)
            try await store.putBlob(sha256: sha, data: data)
            try await store.putBlob(sha256: sha, data: data)
            #expect(try await store.blob(sha256: sha) == data)
            #expect(try await store.missingBlobs([sha, String(repeating: "0", count: 64)]) == [String(repeating: "0", count: 64)])
            #expect(try await store.blob(sha256: String(repeating: "1", count: 64)) == nil)
        }
    }

    @Test(arguments: Database.allCases) func taskLogsKeepArrivalOrderAndIgnoreResends(_ kind: Database) async throws {
        try await withStore(kind) { store in
            for seq in 0..<5 {
                try await store.appendTaskLog(TaskLogRow(runId: "r", seq: seq, jobId: "j", taskIndex: 0, text: "line \(seq)\n", receivedMs: 0))
            }
            try await store.appendTaskLog(TaskLogRow(runId: "r", seq: 2, jobId: "j", taskIndex: 0, text: "duplicate", receivedMs: 0))
            let all = try await store.taskLogs(jobId: "j", afterId: 0, limit: 100)
            #expect(all.map(\.1.text) == (0..<5).map { "line \($0)\n" })
            let rest = try await store.taskLogs(jobId: "j", afterId: all[1].0, limit: 100)
            #expect(rest.count == 3)
        }
    }

    /// One row of every table, with nulls and without, values at the ends of their types and text outside ASCII, comes
    /// back as written; a later value for the same key replaces it; closed escrows and cleared stakes are gone.
    @Test(arguments: Database.allCases) func everyProjectionRowComesBackAsWritten(_ kind: Database) async throws {
        try await withStore(kind) { store in
            var batch = ProjectionBatch()
            batch.accounts = [AccountRow(address: "a", balanceMicro: .max), AccountRow(address: "b", balanceMicro: .min)]
            batch.escrows = [EscrowRow(jobId: "j1", payer: "a", amountMicro: 1), EscrowRow(jobId: "j2", payer: "b", amountMicro: 2)]
            batch.totals = [TotalRow(name: "supply", amountMicro: 1 << 62)]
            batch.nodes = [NodeRow(id: "n", operatorAddress: "o", region: "eu-west", registration: "{\"gpus\":[\"H100 ✓\"]}", registeredMs: 1, runsDone: 2, earnedMicro: 3)]
            batch.nodeProofs = [
                NodeProofRow(nodeId: "n", status: "proven", provenMilliTops: 1_979_000, passed: .max, failed: 0, consecutiveFailures: 0, lastJudgedMs: 9, openChallengeId: nil),
                NodeProofRow(nodeId: "m", status: "pending", provenMilliTops: 0, passed: 0, failed: 1, consecutiveFailures: 1, lastJudgedMs: nil, openChallengeId: "c"),
            ]
            batch.jobs = [JobRow(
                id: "j1", requester: "a", name: "naïve — render", state: "running", spec: "{}", submittedMs: 5, closedMs: nil,
                escrowLockedMicro: 10, paidMicro: 0, burnedMicro: 0, refundedMicro: 0
            )]
            batch.tasks = [TaskRow(id: "j1.0", jobId: "j1", taskIndex: 0, state: "pending", digest: nil), TaskRow(id: "j1.1", jobId: "j1", taskIndex: 1, state: "done", digest: "d")]
            batch.runs = [RunRow(
                id: "j1.0.p1", jobId: "j1", taskIndex: 0, role: "primary", attempt: 1, state: "running", nodeId: "n", priceMicroPerUnitHour: 7,
                startedMs: 6, endedMs: nil, exitCode: -9, digest: nil, outputs: "[]", paidMicro: 0
            )]
            batch.stakes = [StakeRow(address: "a", stakedMicro: 5, unbondingMicro: 1), StakeRow(address: "b", stakedMicro: 1, unbondingMicro: 0)]
            batch.epochs = [EpochRow(
                epoch: 3, startMs: 0, endMs: 10, mintedMicro: 1, burnedMicro: 2, treasuryMicro: 3, workWeight: 4, availabilityWeight: 5, emission: "{}", enacted: "[]"
            )]
            batch.slashes = [SlashRow(
                id: "s", operatorAddress: "o", nodeId: "n", reason: "spoofed", evidence: "{}", amountMicro: 9, burnedMicro: 4, treasuryMicro: 5, reporter: nil, atMs: 11
            )]
            batch.proposals = [ProposalRow(
                id: "p", proposer: "a", title: "fee", status: "voting", proposal: "{}", submittedMs: 1, votingEndsMs: 2, effectiveEpoch: 4,
                snapshotTotalMicro: 100, yesMicro: 60, noMicro: 0, abstainMicro: 0, votes: "{}", note: "née"
            )]
            batch.movements = [MovementRow(seq: 1, address: "a", kind: "escrow", reference: "j1", balanceDeltaMicro: -1, stakeDeltaMicro: 0, balanceMicro: 4, atMs: 5)]
            try await store.commit(entries: [], checkpoints: [], projection: batch)
            var expected = ProjectionSnapshot(
                accounts: batch.accounts, escrows: batch.escrows, totals: batch.totals, nodes: batch.nodes, nodeProofs: batch.nodeProofs,
                jobs: batch.jobs, tasks: batch.tasks, runs: batch.runs, stakes: batch.stakes, epochs: batch.epochs, slashes: batch.slashes,
                proposals: batch.proposals
            )
            #expect(try await store.projection().normalized() == expected.normalized())
            #expect(try await store.allMovements() == batch.movements)

            var later = ProjectionBatch()
            later.jobs = [JobRow(
                id: "j1", requester: "a", name: "naïve — render", state: "settled", spec: "{}", submittedMs: 5, closedMs: 12,
                escrowLockedMicro: 10, paidMicro: 8, burnedMicro: 1, refundedMicro: 1
            )]
            later.closedEscrows = ["j1"]
            later.clearedStakes = ["b"]
            try await store.commit(entries: [], checkpoints: [], projection: later)
            expected.jobs = later.jobs
            expected.escrows.removeAll { $0.jobId == "j1" }
            expected.stakes.removeAll { $0.address == "b" }
            #expect(try await store.projection().normalized() == expected.normalized())
        }
    }

    /// PostgreSQL crashes (immediate shutdown) between commits and during them, and comes back on the same port: every
    /// commit returns once the server is back, and each batch is stored exactly once.
    @Test func commitsOutliveAPostgreSQLCrash() async throws {
        try await ThrowawayPostgres.with { server in
            let store = try await CrucibleStore.open(try await server.createDatabase())
            let signer = SigningIdentity()
            let log = entries(40, signer: signer)
            let writing = Task {
                for (index, entry) in log.enumerated() {
                    var batch = ProjectionBatch()
                    batch.accounts = [AccountRow(address: "a", balanceMicro: Int64(index))]
                    try await store.commit(entries: [entry], checkpoints: [], projection: batch)
                }
            }
            try await waitUntilStored(store, atLeast: 5)
            try await server.kill()
            try await server.startServer()
            try await writing.value
            #expect(try await store.logEntries(afterSeq: 0, limit: 100) == log)
            #expect(try await store.projection().accounts == [AccountRow(address: "a", balanceMicro: 39)])
            try await store.close()
        }
    }

    /// Two stores over one PostgreSQL database, as two coordinators: only the one holding the lead commits; a database
    /// restart drops the lead with every session, and when the other takes it first, the old leader's commit is refused
    /// instead of forking the log.
    @Test func onlyTheLeaderCommitsAndADeposedLeaderIsRefused() async throws {
        try await ThrowawayPostgres.with { server in
            let address = try await server.createDatabase()
            let first = try await CrucibleStore.open(address)
            let second = try await CrucibleStore.open(address)
            let log = entries(3, signer: SigningIdentity())
            func commit(_ entry: LogEntry, on store: CrucibleStore) async throws {
                try await store.commit(entries: [entry], checkpoints: [], projection: ProjectionBatch())
            }
            #expect(try await first.takeLeadership(address: "http://first", atMs: 1))
            #expect(try await first.takeLeadership(address: "http://first", atMs: 2), "the holder asking again still holds it")
            #expect(try await !second.takeLeadership(address: "http://second", atMs: 3))
            #expect(try await first.holdsLeadership())
            #expect(try await !second.holdsLeadership())
            #expect(try await second.leaderAddress() == "http://first")
            try await commit(log[0], on: first)
            await #expect(throws: LeadershipLost.self) { try await commit(log[1], on: second) }
            #expect(try await first.logEntries(afterSeq: 0, limit: 10) == [log[0]])

            try await server.kill()
            try await server.startServer()
            // The first statements after the restart may still meet the lost connections.
            var taken = false
            for _ in 0..<100 where !taken {
                taken = (try? await second.takeLeadership(address: "http://second", atMs: 4)) ?? false
                if !taken { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(taken)
            #expect(try await second.leaderAddress() == "http://second")
            var firstHolds: Bool?
            for _ in 0..<100 where firstHolds == nil {
                firstHolds = try? await first.holdsLeadership()
                if firstHolds == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(firstHolds == false)
            #expect(try await !first.takeLeadership(address: "http://first", atMs: 5))
            await #expect(throws: LeadershipLost.self) { try await commit(log[1], on: first) }
            try await commit(log[1], on: second)
            #expect(try await first.logEntries(afterSeq: 0, limit: 10) == Array(log[0...1]))
            try await first.close()
            try await second.close()
        }
    }

    func waitUntilStored(_ store: CrucibleStore, atLeast count: Int64) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while (try await store.lastLogEntry()?.seq ?? 0) < count {
            guard ContinuousClock.now < deadline else { throw CrucibleError(.unavailable, "fewer than \(count) entries stored after 30 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func aDatabaseThatCannotBeOpenedIsAClearError() async throws {
        await #expect { try await CrucibleStore.open("postgres://") } throws: {
            ($0 as? CrucibleError)?.code == .malformed && "\($0)".contains("not a PostgreSQL URL")
        }
        // Nothing listens on the port: refused at once, with the address and without the password.
        let port = try await {
            let server = try await ThrowawayPostgres.start()
            try await server.stop()
            return server.port
        }()
        await #expect { try await CrucibleStore.open("postgres://crucible:secret@127.0.0.1:\(port)/x?sslmode=disable") } throws: {
            let text = "\($0)"
            return ($0 as? CrucibleError)?.code == .unavailable && text.contains("127.0.0.1:\(port)") && !text.contains("secret")
        }
    }

    @Test func tamperedLogEntriesFailVerification() {
        let signer = SigningIdentity()
        var log = entries(3, signer: signer)
        #expect(throws: Never.self) { try log[1].verify(after: log[0], coordinator: signer.address) }
        log[1].content = "{\"n\":99}"
        #expect(throws: CrucibleError.self) { try log[1].verify(after: log[0], coordinator: signer.address) }
        #expect(throws: CrucibleError.self) { try log[2].verify(after: log[0], coordinator: signer.address) }
        #expect(throws: CrucibleError.self) { try log[0].verify(after: nil, coordinator: SigningIdentity().address) }
    }
}
