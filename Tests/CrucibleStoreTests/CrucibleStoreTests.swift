import CrucibleCore
import CrucibleStore
import Foundation
import Testing

@Suite struct CrucibleStoreTests {
    func openStore() async throws -> (CrucibleStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-store-\(UUID().uuidString)/db.sqlite").path
        return (try await CrucibleStore.openSQLite(path: path), path)
    }

    func entries(_ count: Int, signer: SigningIdentity) -> [LogEntry] {
        var result = [LogEntry]()
        for index in 0..<count {
            result.append(LogEntry.make(after: result.last, timestampMs: Int64(index), content: "{\"n\":\(index)}", signer: signer))
        }
        return result
    }

    @Test func commitsAreAtomicAndReadBack() async throws {
        let (store, path) = try await openStore()
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

        // Durable across reopening.
        let reopened = try await CrucibleStore.openSQLite(path: path)
        #expect(try await reopened.logEntries(afterSeq: 1, limit: 10) == Array(log.dropFirst()))
        try await reopened.close()
    }

    @Test func noncesBecomeDurableWithTheirCommitAndArePrunedByAge() async throws {
        let (store, _) = try await openStore()
        let first = SeenNonce(signer: "s", nonce: "n1", timestampMs: 1)
        let later = SeenNonce(signer: "s", nonce: "n2", timestampMs: 5)
        try await store.commit(entries: [], checkpoints: [], projection: ProjectionBatch(), nonces: [first, later])
        // Sent again in a later batch (a restart that had not seen it persist), it is kept once.
        try await store.commit(entries: [], checkpoints: [], projection: ProjectionBatch(), nonces: [first])
        #expect(Set(try await store.recentNonces(sinceMs: 0).map(\.nonce)) == ["n1", "n2"])
        #expect(try await store.recentNonces(sinceMs: 2) == [later])
        try await store.pruneNonces(olderThanMs: 2)
        #expect(try await store.recentNonces(sinceMs: 0) == [later])
        try await store.close()
    }

    @Test func blobsAreContentAddressed() async throws {
        let (store, _) = try await openStore()
        let data = Data("hello".utf8)
        let sha = Digest.sha256Hex(data)
        try await store.putBlob(sha256: sha, data: data)
        try await store.putBlob(sha256: sha, data: data)
        #expect(try await store.blob(sha256: sha) == data)
        #expect(try await store.missingBlobs([sha, String(repeating: "0", count: 64)]) == [String(repeating: "0", count: 64)])
        #expect(try await store.blob(sha256: String(repeating: "1", count: 64)) == nil)
        try await store.close()
    }

    @Test func taskLogsKeepArrivalOrderAndIgnoreResends() async throws {
        let (store, _) = try await openStore()
        for seq in 0..<5 {
            try await store.appendTaskLog(TaskLogRow(runId: "r", seq: seq, jobId: "j", taskIndex: 0, text: "line \(seq)\n", receivedMs: 0))
        }
        try await store.appendTaskLog(TaskLogRow(runId: "r", seq: 2, jobId: "j", taskIndex: 0, text: "duplicate", receivedMs: 0))
        let all = try await store.taskLogs(jobId: "j", afterId: 0, limit: 100)
        #expect(all.map(\.1.text) == (0..<5).map { "line \($0)\n" })
        let rest = try await store.taskLogs(jobId: "j", afterId: all[1].0, limit: 100)
        #expect(rest.count == 3)
        try await store.close()
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
