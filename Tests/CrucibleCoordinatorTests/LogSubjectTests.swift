import CrucibleAPI
import CrucibleClient
@testable import CrucibleCoordinator
import CrucibleCore
@testable import CrucibleStore
import CrucibleTestSupport
import Foundation
import SQLKit
import Testing

/// Every figure links to the log entries it comes from: the log is indexed by what each entry concerns, served by
/// `GET /v1/log?subject=`, read in words on the explorer's log pages, checked by the audit, and built for a
/// database written before the index existed.
@Suite(.network) struct LogSubjectTests {
    @Test func theEntriesAboutAJobANodeOrAKindAreServedReadAndAudited() async throws {
        let network = try await TestNetwork.start()
        let first = network.agent(operatorKey: network.operatorA)
        let second = network.agent(operatorKey: network.operatorB)
        let firstId = await first.nodeId
        let job = try await withAgents([first, second]) {
            try await network.waitUntilNodes(2)
            let spec = TestNetwork.shellSpec("indexed", script: "echo same > \"$CRUCIBLE_OUTPUT_DIR/out.txt\"", replicate: 1_000_000)
            return try await network.settled(try await network.client.submitJob(spec, by: network.requester).id)
        }

        // The job's entries, oldest first: its submission, the offers, answers and reports of its runs, its verdict
        // and its closing — each one naming the job or one of its runs, and nothing else in between.
        // The log serves what is durable, a group commit behind the state the job view is read from: wait for the
        // closing entry to be written.
        var page = try await network.client.log(concerning: job.id, after: 0, limit: 1_000)
        try await waitUntil("the job's closing entry is durable") {
            page = try await network.client.log(concerning: job.id, after: 0, limit: 1_000)
            return page.entries.last.map { $0.content.contains("\"job_closed\"") } ?? false
        }
        let events = try page.entries.map { try CanonicalJSON.decode(LogEvent.self, from: Data($0.content.utf8)) }
        let runIds = Set(job.tasks.flatMap(\.runs).map(\.id))
        #expect(page.entries.map(\.seq) == page.entries.map(\.seq).sorted() && page.checkpoints.isEmpty)
        // What an entry says, a signed input's payload read as text.
        let texts = zip(page.entries, events).map { entry, event in
            if case .envelope(let envelope) = event { String(decoding: envelope.payload, as: UTF8.self) } else { entry.content }
        }
        let unnamed = zip(texts, events).filter { text, _ in !text.contains(job.id) && !runIds.contains { text.contains($0) } }
        // Only the submission names no job id: the id is derived from its signer and nonce.
        #expect(unnamed.count == 1 && unnamed.first?.1 == events.first, "\(unnamed.map(\.1))")
        guard case .envelope(let submission) = try #require(events.first), submission.kind == .submitJob else {
            Issue.record("the job's first entry is not its submission: \(events.first.map(\.typeName) ?? "none")")
            return
        }
        #expect(events.contains { if case .verdict(let verdict) = $0 { verdict.jobId == job.id && verdict.outcome == .verified } else { false } })
        guard case .jobClosed(let closedId, _) = try #require(events.last) else {
            Issue.record("the job's last entry is not its closing: \(events.last.map(\.typeName) ?? "none")")
            return
        }
        #expect(closedId == job.id && runIds.count == 2)
        // Every entry of the whole log that names the job is in its page.
        var named = [Int64]()
        var after: Int64 = 0
        while true {
            let all = try await network.client.log(after: after, limit: 1_000)
            named += all.entries.filter { $0.content.contains(job.id) }.map(\.seq)
            guard let last = all.entries.last else { break }
            after = last.seq
        }
        #expect(Set(named).isSubset(of: Set(page.entries.map(\.seq))))

        // Newest first before a cursor; a kind; a subject outside the pattern is refused.
        let newest = try await network.client.log(concerning: job.id, before: Int64.max, limit: 2)
        #expect(newest.entries.map(\.seq) == Array(page.entries.map(\.seq).suffix(2).reversed()))
        let judged = try await network.client.log(concerning: "kind.challenge_judged", after: 0, limit: 1_000)
        let figures = try await network.client.network()
        #expect(judged.entries.count == figures.challengesPassed + figures.challengesFailed && judged.entries.count >= 2)
        // Both cursors: the entries between them, newest first.
        let seqs = page.entries.map(\.seq)
        let between = try await network.client.log(concerning: job.id, after: seqs[0], before: seqs[seqs.count - 1], limit: 1_000)
        #expect(between.entries.map(\.seq) == Array(seqs.dropFirst().dropLast().reversed()))
        #expect(try await network.fetch("/v1/log?subject=a%20b").status == 400)
        #expect(try await network.client.log(concerning: "job-nothing", after: 0).entries.isEmpty)

        // The explorer: the job's log page reads the entries in words and links each to itself; the node's page shows
        // what its challenges and checked results did to its standing, and its operator's stake.
        let logPage = try await network.fetch("/explorer/log?subject=\(job.id)")
        #expect(logPage.status == 200 && logPage.body.contains("submitted by") && logPage.body.contains("verified: paid"))
        #expect(logPage.body.contains("/v1/log?after=\(page.entries[0].seq - 1)&amp;limit=1"))
        let nodePage = try await network.fetch("/explorer/nodes/\(firstId)")
        #expect(nodePage.body.contains("challenge passed at") && nodePage.body.contains("result verified by a replica: streak +1"))
        #expect(nodePage.body.contains(Amount.format(TestNetwork.operatorStakeMicro)) && nodePage.body.contains("/explorer/log?subject=\(firstId)"))
        let overview = try await network.fetch("/explorer")
        #expect(overview.body.contains("/explorer/log?subject=kind.challenge_judged") && overview.body.contains("Verification overhead"))
        // Every task replicated: the replica's work is the overhead, about as much as the primary's.
        let checking = try JSONDecoder().decode(Components.Schemas.ExplorerOverview.self, from: Data(try await network.fetch("/v1/explorer/overview").body.utf8)).verification
        #expect(checking.tasksVerified == 1 && checking.checkUnitHours > 0 && checking.primaryUnitHours > 0 && checking.overhead > 0)
        let whole = try await network.fetch("/explorer/log")
        #expect(whole.status == 200 && whole.body.contains("\(job.id) closed") && whole.body.contains("aria-current=\"page\">Log"))
        #expect(try await network.fetch("/explorer/log?subject=%3Cscript%3E").status == 400)
        #expect(try await network.fetch("/explorer/log?before=soon").status == 400)
        let jobPage = try await network.fetch("/explorer/jobs/\(job.id)")
        #expect(jobPage.body.contains("/explorer/log?subject=\(job.id)") && jobPage.body.contains("/explorer/log?subject=\(job.tasks[0].runs[0].id)"))

        // The audit derives the index from the log and finds it whole; a database without it gets it rebuilt when a
        // coordinator opens it, and until then its audit says what is wrong.
        await network.stop()
        _ = try await reopenAndAudit(network)
        let store = try await CrucibleStore.open(network.database)
        let indexed = try await store.allSubjects()
        try await store.writer.raw("DELETE FROM log_subjects").run()
        await #expect(throws: CrucibleError.self) { _ = try await Auditor.audit(store: store) }
        try await store.close()
        let reopened = try await TestNetwork.start(reusing: network)
        #expect(try await reopened.store.allSubjects() == indexed)
        await reopened.stop()
        _ = try await reopenAndAudit(reopened)
    }

    /// The coordinator's logs carry the ids an entry concerns, sorted by what they are, so they can be searched by them.
    @Test func logMetadataSortsSubjectsByWhatTheyAre() {
        let node = String(repeating: "a", count: 64), signer = String(repeating: "b", count: 64)
        let roles = LogSubjects.byRole(
            ["challenge-3", "epoch-2", "job-0123456789abcdef", "job-0123456789abcdef.0.p1", "kind.verdict", node, "proposal-1", signer],
            nodes: { $0 == node }
        )
        #expect(roles.map(\.0) == ["challenge", "epoch", "job", "node", "proposal", "run", "signer"])
        #expect(roles.first { $0.0 == "run" }?.1 == ["job-0123456789abcdef.0.p1"] && roles.first { $0.0 == "signer" }?.1 == [signer])
        #expect(["job-x", "kind.stake", "epoch-1", String(repeating: "f", count: 160)].allSatisfy(LogSubjects.isValid))
        #expect(!["", "a b", "<script>", "job/x", String(repeating: "f", count: 161), "é"].contains(where: LogSubjects.isValid))
    }
}
