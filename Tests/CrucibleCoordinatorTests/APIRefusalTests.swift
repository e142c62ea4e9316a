import AsyncHTTPClient
import CrucibleAPI
import CrucibleClient
import CrucibleCoordinator
import CrucibleCore
import CrucibleLedger
import CrucibleStore
import CrucibleTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Every kind of bad input is refused with a clear code and changes nothing: not the log, not a balance.
@Suite(.serialized, .network) struct APIRefusalTests {
    func expectRefusal(_ code: CrucibleError.Code, in network: TestNetwork, _ body: () async throws -> Void) async throws {
        let headBefore = await network.coordinator.logHead
        let ledgerBefore = await network.coordinator.state.ledger
        do {
            try await body()
            Issue.record("expected a \(code.rawValue) refusal, but the request succeeded")
        } catch let error as CrucibleError {
            #expect(error.code == code, "got \(error)")
            #expect(!error.message.isEmpty)
        }
        // The decision loop may log time-outs meanwhile; a refused request itself must add no signed input.
        #expect(try await network.envelopesLogged(after: headBefore).isEmpty, "a refused request wrote to the log")
        #expect(await network.coordinator.state.ledger == ledgerBefore, "a refused request moved tokens")
    }

    /// POSTs raw JSON and returns the status and decoded error body.
    func rawPost(_ network: TestNetwork, _ path: String, _ json: String) async throws -> (status: Int, code: String, message: String) {
        var request = HTTPClientRequest(url: network.url.absoluteString + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        let fields = try JSONDecoder().decode([String: String].self, from: Data(String(buffer: body).utf8))
        return (Int(response.status.code), fields["code"] ?? "", fields["message"] ?? "")
    }

    func wireJSON(_ envelope: SignedEnvelope, kind: String? = nil) -> String {
        """
        {"signer":"\(envelope.signer)","nonce":"\(envelope.nonce)","timestampMs":\(envelope.timestampMs),"kind":"\(kind ?? envelope.kind.rawValue)",\
        "payload":"\(envelope.payload.base64EncodedString())","signature":"\(envelope.signature.base64EncodedString())"}
        """
    }

    @Test func forgedReplayedStaleAndMalformedEnvelopesAreRefused() async throws {
        let network = try await TestNetwork.start()
        let spec = TestNetwork.shellSpec("ok", script: "true")

        // Forged: a valid envelope whose payload was changed after signing.
        var forged = try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: network.requester)
        var richer = spec
        richer.maxPriceMicroPerUnitHour = 1
        forged.payload = try CanonicalJSON.encode(JobSubmission(spec: richer))
        try await expectRefusal(.badSignature, in: network) { _ = try await network.client.submitJob(rawEnvelope: forged) }

        // Signed by someone else than the claimed signer.
        var impostor = try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: SigningIdentity())
        impostor.signer = network.requester.address
        try await expectRefusal(.badSignature, in: network) { _ = try await network.client.submitJob(rawEnvelope: impostor) }

        // Replayed: the same bytes twice.
        let original = try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: network.requester)
        _ = try await network.client.submitJob(rawEnvelope: original)
        let jobs = await network.coordinator.state.jobs.count
        try await expectRefusal(.replayedNonce, in: network) { _ = try await network.client.submitJob(rawEnvelope: original) }
        #expect(await network.coordinator.state.jobs.count == jobs)

        // Stale: signed ten minutes ago, and from the future.
        for offsetMs in [-600_000, 600_000] as [Int64] {
            let stale = try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: network.requester, timestampMs: Clock.nowMs() + offsetMs)
            try await expectRefusal(.staleTimestamp, in: network) { _ = try await network.client.submitJob(rawEnvelope: stale) }
        }

        // The wrong kind for the endpoint.
        let cancel = try SignedEnvelope.sign(JobCancellation(jobId: "x"), kind: .cancelJob, by: network.requester)
        try await expectRefusal(.wrongKind, in: network) { _ = try await network.client.submitJob(rawEnvelope: cancel) }

        // An unknown kind, sent raw.
        let head = await network.coordinator.logHead
        let unknown = try SignedEnvelope.sign(JobSubmission(spec: spec), kind: .submitJob, by: network.requester)
        let refusal = try await rawPost(network, "/v1/jobs", wireJSON(unknown, kind: "mint_tokens"))
        #expect(refusal.status == 400)
        #expect(refusal.code == "unknown_kind")
        #expect(refusal.message.contains("mint_tokens"))

        // A body that is not JSON, and JSON without required fields: 400 with the same error shape.
        let notJSON = try await rawPost(network, "/v1/jobs", "{this is not json")
        #expect(notJSON.status == 400)
        #expect(notJSON.code == "malformed")
        let missing = try await rawPost(network, "/v1/jobs", #"{"signer":"ab","nonce":"n"}"#)
        #expect(missing.status == 400)
        #expect(missing.code == "malformed")
        #expect(missing.message.contains("timestampMs") || missing.message.contains("kind"), "\(missing.message)")
        // Bad base64 in the payload.
        let badBase64 = try await rawPost(network, "/v1/jobs", wireJSON(unknown).replacingOccurrences(of: "\"payload\":\"", with: "\"payload\":\"%%%"))
        #expect(badBase64.status == 400)
        #expect(badBase64.code == "malformed")
        #expect(try await network.envelopesLogged(after: head).isEmpty, "a refused request wrote to the log")
        await network.stop()
    }

    @Test func jobsThatCannotBePaidForOrRunAreRefused() async throws {
        let network = try await TestNetwork.start()
        // No funds.
        let pauper = SigningIdentity()
        try await expectRefusal(.insufficientFunds, in: network) {
            _ = try await network.client.submitJob(TestNetwork.shellSpec("poor", script: "true"), by: pauper)
        }
        // More than the balance: 1000 CRU funded, this needs 10000 tasks × 2 CRU/h × 1 h.
        var huge = TestNetwork.shellSpec("huge", script: "true", tasks: 10_000, maxDurationS: 3600)
        try await expectRefusal(.insufficientFunds, in: network) { _ = try await network.client.submitJob(huge, by: network.requester) }
        // Invalid spec.
        huge.taskCount = 0
        try await expectRefusal(.invalidSpec, in: network) { _ = try await network.client.submitJob(huge, by: network.requester) }
        // An input that was never uploaded.
        let ghost = TestNetwork.shellSpec("ghost", script: "cat a", inputs: [.init(name: "a", sha256: String(repeating: "e", count: 64), sizeBytes: 1)])
        try await expectRefusal(.invalidSpec, in: network) { _ = try await network.client.submitJob(ghost, by: network.requester) }
        #expect(await network.coordinator.state.jobs.isEmpty)
        await network.stop()
    }

    /// PUTs `body` at /v1/blobs/`address`, with a put_blob envelope header when one is given.
    func rawPut(_ network: TestNetwork, _ address: String, _ body: String, envelope: SignedEnvelope?) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: network.url.absoluteString + "/v1/blobs/" + address)
        request.method = .PUT
        request.headers.add(name: "content-type", value: "application/octet-stream")
        if let envelope {
            request.headers.add(name: "X-Crucible-Envelope", value: Data(wireJSON(envelope).utf8).base64EncodedString())
        }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 16)))
    }

    @Test func uploadsMustBeSignedBySomeoneWithAStake() async throws {
        let network = try await TestNetwork.start()
        let hello = Digest.sha256Hex("hello")
        func upload(_ sha256: String, _ size: Int64, by signer: SigningIdentity) throws -> SignedEnvelope {
            try SignedEnvelope.sign(BlobUpload(sha256: sha256, sizeBytes: size), kind: .putBlob, by: signer)
        }
        // Unsigned.
        let unsigned = try await rawPut(network, hello, "hello", envelope: nil)
        #expect(unsigned.status == 400 && unsigned.body.contains("malformed"), "\(unsigned)")
        // Content that does not hash to its address.
        let other = Digest.sha256Hex("something else")
        let wrongBody = try await rawPut(network, other, "hello", envelope: try upload(other, 5, by: network.requester))
        #expect(wrongBody.status == 400 && wrongBody.body.contains("digest_mismatch"), "\(wrongBody)")
        // A signature for other content, or another size.
        let wrongClaim = try await rawPut(network, hello, "hello", envelope: try upload(other, 5, by: network.requester))
        #expect(wrongClaim.body.contains("digest_mismatch"), "\(wrongClaim)")
        // Somebody with nothing at stake.
        let stranger = try await rawPut(network, hello, "hello", envelope: try upload(hello, 5, by: SigningIdentity()))
        #expect(stranger.status == 403 && stranger.body.contains("forbidden"), "\(stranger)")
        // A forged signature.
        var forged = try upload(hello, 5, by: network.requester)
        forged.nonce = "replaced"
        let forgedPut = try await rawPut(network, hello, "hello", envelope: forged)
        #expect(forgedPut.status == 401, "\(forgedPut)")
        #expect(try await network.store.missingBlobs([hello, other]).count == 2)
        // The requester may upload; the same envelope twice is a replay.
        let good = try upload(hello, 5, by: network.requester)
        #expect(try await rawPut(network, hello, "hello", envelope: good).status == 201)
        #expect(try await rawPut(network, hello, "hello", envelope: good).body.contains("replayed_nonce"))
        #expect(try await network.client.blob(hello) == Data("hello".utf8))
        await network.stop()
    }

    /// A body past its ceiling is refused with 413 and `too_large`, whether it says its length or streams without one,
    /// and changes nothing.
    @Test func oversizedBodiesAreRefusedBeforeTheyAreRead() async throws {
        let network = try await TestNetwork.start()
        let headBefore = await network.coordinator.logHead
        let big = String(repeating: " ", count: (4 << 20) + 1) + "{}"
        for streamed in [false, true] {
            var request = HTTPClientRequest(url: network.url.absoluteString + "/v1/jobs")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            if streamed {
                let chunks = stride(from: 0, to: big.utf8.count, by: 1 << 16).map { start in
                    ByteBuffer(bytes: Array(big.utf8)[start..<min(start + (1 << 16), big.utf8.count)])
                }
                let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
                for chunk in chunks { continuation.yield(chunk) }
                continuation.finish()
                request.body = .stream(stream, length: .unknown)
            } else {
                request.body = .bytes(ByteBuffer(string: big))
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status.code == 413, "streamed \(streamed): \(body)")
            #expect(body.contains("\"too_large\"") && body.contains("larger than 4 MiB"), "\(body)")
        }
        // A body under the ceiling still reaches the handler (and is refused there for what it is).
        #expect(try await rawPost(network, "/v1/jobs", "{}").code == "malformed")
        #expect(try await network.envelopesLogged(after: headBefore).isEmpty, "a refused request wrote to the log")
        await network.stop()
    }

    @Test func blobsAndReadsRefuseBadAddresses() async throws {
        let network = try await TestNetwork.start()
        try await expectRefusal(.notFound, in: network) { _ = try await network.client.blob(String(repeating: "a", count: 64)) }
        try await expectRefusal(.malformed, in: network) { _ = try await network.client.blob("../../etc/passwd") }
        try await expectRefusal(.notFound, in: network) { _ = try await network.client.job("job-missing") }
        try await expectRefusal(.malformed, in: network) { _ = try await network.client.account("not-an-address") }
        try await expectRefusal(.malformed, in: network) { _ = try await network.client.node("not-a-node") }
        try await expectRefusal(.notFound, in: network) { _ = try await network.client.node(String(repeating: "0", count: 64)) }
        await network.stop()
    }

    @Test func requestsOutsideTheAPIAreToldWhatExists() async throws {
        let network = try await TestNetwork.start()
        let headBefore = await network.coordinator.logHead
        func send(_ method: HTTPMethod, _ path: String) async throws -> (status: Int, allow: String?, fields: [String: String]) {
            var request = HTTPClientRequest(url: network.url.absoluteString + path)
            request.method = method
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 1 << 20)
            let fields = try JSONDecoder().decode([String: String].self, from: Data(String(buffer: body).utf8))
            return (Int(response.status.code), response.headers.first(name: "allow"), fields)
        }
        // A declared path with a method it does not take: 405 and the methods it does.
        let deleted = try await send(.DELETE, "/v1/jobs")
        #expect(deleted.status == 405 && deleted.fields["code"] == "method_not_allowed" && deleted.allow == "GET, POST")
        let patched = try await send(.PATCH, "/v1/jobs/job-1/cancel")
        #expect(patched.status == 405 && patched.allow == "POST" && patched.fields["message"]?.contains("takes POST") == true)
        // A literal segment is its own route, as in the router: not the GET of /v1/challenges/{challengeId}.
        #expect(try await send(.OPTIONS, "/v1/challenges/open").allow == "POST")
        // A path the API does not have: 404 with the same error body. A declared route's own 404 is unchanged.
        let missing = try await send(.GET, "/v1/nothing-here")
        #expect(missing.status == 404 && missing.fields["code"] == "not_found" && missing.allow == nil)
        #expect(try await send(.GET, "/v1/jobs/job-missing").fields["code"] == "not_found")
        #expect(try await network.envelopesLogged(after: headBefore).isEmpty, "a refused request wrote to the log")
        await network.stop()
    }

    @Test func onlyTheRightSignerMayActOnAJobOrRun() async throws {
        let network = try await TestNetwork.start()
        let job = try await network.client.submitJob(TestNetwork.shellSpec("mine", script: "sleep 5"), by: network.requester)
        try await expectRefusal(.forbidden, in: network) { _ = try await network.client.cancelJob(job.id, by: network.operatorA) }
        try await expectRefusal(.notFound, in: network) { _ = try await network.client.cancelJob("job-nope", by: network.requester) }

        // A registration whose operator authorization was signed for another node key.
        let node = SigningIdentity()
        var registration = NodeRegistration.authorized(
            node: SigningIdentity().address, by: network.operatorA,
            hardware: HardwareProfile(gpus: [], cpuModel: "cpu", cpuCores: 2, memoryMiB: 1024, os: "linux"),
            policy: AgentPolicy(), region: "test", agentVersion: "t"
        )
        try await expectRefusal(.forbidden, in: network) { _ = try await network.client.registerNode(registration, by: node) }
        // A fake GPU claim with duplicate UUIDs is refused as malformed.
        registration = NodeRegistration.authorized(
            node: node.address, by: network.operatorA,
            hardware: HardwareProfile(gpus: [
                .init(index: 0, uuid: "GPU-1", name: "NVIDIA H100 80GB HBM3", memoryMiB: 81559, driverVersion: "1", model: "H100-SXM"),
                .init(index: 1, uuid: "GPU-1", name: "NVIDIA H100 80GB HBM3", memoryMiB: 81559, driverVersion: "1", model: "H100-SXM"),
            ], cpuModel: "cpu", cpuCores: 2, memoryMiB: 1024, os: "linux"),
            policy: AgentPolicy(), region: "test", agentVersion: "t"
        )
        try await expectRefusal(.malformed, in: network) { _ = try await network.client.registerNode(registration, by: node) }

        // A node that was offered nothing cannot accept or report the run.
        let honest = NodeRegistration.authorized(
            node: node.address, by: network.operatorA,
            hardware: HardwareProfile(gpus: [], cpuModel: "cpu", cpuCores: 2, memoryMiB: 1024, os: "linux"),
            policy: AgentPolicy(), region: "test", agentVersion: "t"
        )
        _ = try await network.client.registerNode(honest, by: node)
        let runId = job.tasks[0].runs[0].id
        let stranger = SigningIdentity()
        _ = try await network.client.registerNode(NodeRegistration.authorized(
            node: stranger.address, by: network.operatorB, hardware: honest.hardware, policy: AgentPolicy(), region: "test", agentVersion: "t"
        ), by: stranger)
        try await expectRefusal(.forbidden, in: network) {
            _ = try await network.client.respondOffer(OfferResponse(runId: runId, accept: true), by: stranger)
        }
        try await expectRefusal(.forbidden, in: network) {
            _ = try await network.client.reportResult(RunReport(runId: runId, exitCode: 0, outputs: [], durationMs: 1), by: stranger)
        }
        try await expectRefusal(.notFound, in: network) {
            _ = try await network.client.respondOffer(OfferResponse(runId: "job-x.0.p1", accept: true), by: stranger)
        }
        await network.stop()
    }

    /// A two-core CPU node of operator A, registered over the API.
    func registerCPUNode(in network: TestNetwork) async throws -> SigningIdentity {
        try await network.registerBareNode(hardware: HardwareProfile(gpus: [], cpuModel: "c", cpuCores: 2, memoryMiB: 1024, os: "l"), by: network.operatorA)
    }

    @Test func aRunsLogIsKeptUpToItsCeilingAndNoFurther() async throws {
        let network = try await TestNetwork.start(rateLimit: nil)
        let node = try await registerCPUNode(in: network)
        let job = try await network.client.submitJob(TestNetwork.shellSpec("chatty", script: "true"), by: network.requester)
        #expect(try await network.prove(node).state == .passed)
        let offer = try #require(try await network.client.pollOffers(waitMs: 5_000, by: node).first)
        _ = try await network.client.respondOffer(OfferResponse(runId: offer.runId, accept: true), by: node)
        let chunk = String(repeating: "x", count: TaskLogAppend.textBytesMax)
        let fitting = TaskLogAppend.runBytesMax / TaskLogAppend.textBytesMax
        for seq in 0..<fitting {
            try await network.client.appendTaskLog(TaskLogAppend(runId: offer.runId, seq: seq, text: chunk), by: node)
        }
        try await expectRefusal(.tooLarge, in: network) {
            try await network.client.appendTaskLog(TaskLogAppend(runId: offer.runId, seq: fitting, text: "one byte too many"), by: node)
        }
        var kept = 0, after: Int64 = 0
        while true {
            let page = try await network.client.jobLogs(job.id, after: after, limit: 5_000)
            guard !page.chunks.isEmpty else { break }
            kept += page.chunks.reduce(0) { $0 + $1.text.utf8.count }
            after = page.next
        }
        #expect(kept == TaskLogAppend.runBytesMax)
        await network.stop()
    }

    @Test func agentEndpointsRefuseStrangersAndBadValues() async throws {
        let network = try await TestNetwork.start()
        let stranger = SigningIdentity()
        // Nodes that never registered may not poll or heartbeat.
        try await expectRefusal(.notFound, in: network) { _ = try await network.client.pollOffers(waitMs: 0, by: stranger) }
        try await expectRefusal(.notFound, in: network) { _ = try await network.client.heartbeat(runIds: [], by: stranger) }
        let node = try await registerCPUNode(in: network)
        try await expectRefusal(.malformed, in: network) { _ = try await network.client.pollOffers(waitMs: 3_600_000, by: node) }
        try await expectRefusal(.tooLarge, in: network) {
            _ = try await network.client.heartbeat(runIds: (0..<1025).map { "r\($0)" }, by: node)
        }
        // A heartbeat for runs the node does not hold tells it to stop them.
        #expect(try await network.client.heartbeat(runIds: ["job-x.0.p1"], by: node) == ["job-x.0.p1"])
        // Log chunks only for runs leased to the sender.
        let job = try await network.client.submitJob(TestNetwork.shellSpec("logs", script: "true"), by: network.requester)
        let runId = job.tasks[0].runs[0].id
        try await expectRefusal(.notFound, in: network) {
            try await network.client.appendTaskLog(TaskLogAppend(runId: "job-x.0.p1", seq: 0, text: "hi"), by: node)
        }
        try await expectRefusal(.forbidden, in: network) {
            try await network.client.appendTaskLog(TaskLogAppend(runId: runId, seq: 0, text: "hi"), by: stranger)
        }
        try await expectRefusal(.notFound, in: network) { _ = try await network.client.jobLogs("job-missing") }
        // A report whose outputs were never uploaded.
        #expect(try await network.prove(node).state == .passed)
        let offers = try await network.client.pollOffers(waitMs: 5_000, by: node)
        let offer = try #require(offers.first)
        _ = try await network.client.respondOffer(OfferResponse(runId: offer.runId, accept: true), by: node)
        try await expectRefusal(.invalidSpec, in: network) {
            _ = try await network.client.reportResult(RunReport(
                runId: offer.runId, exitCode: 0, outputs: [OutputFile(path: "a", sha256: String(repeating: "b", count: 64), sizeBytes: 1)], durationMs: 1
            ), by: node)
        }
        // Output paths that would escape the work folder.
        let sha = try await network.client.putBlob(Data("x".utf8), by: node)
        try await expectRefusal(.malformed, in: network) {
            _ = try await network.client.reportResult(RunReport(
                runId: offer.runId, exitCode: 0, outputs: [OutputFile(path: "../x", sha256: sha, sizeBytes: 1)], durationMs: 1
            ), by: node)
        }
        // Accepting again (an agent whose answer to the first was lost) is answered as the first was, logs nothing and
        // is no second lease; declining a run already accepted is a conflict.
        let headBefore = await network.coordinator.logHead
        let again = try await network.client.respondOffer(OfferResponse(runId: offer.runId, accept: true), by: node)
        #expect(again.state == "running")
        #expect(try await network.envelopesLogged(after: headBefore).isEmpty, "a repeated acceptance was logged")
        try await expectRefusal(.conflict, in: network) {
            _ = try await network.client.respondOffer(OfferResponse(runId: offer.runId, accept: false, reason: "changed my mind"), by: node)
        }
        await network.stop()
    }

    @Test func oneSignerMaySendManyEnvelopesAtOnce() async throws {
        let network = try await TestNetwork.start()
        let client = network.client
        let requester = network.requester
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<20 {
                group.addTask { try await client.submitJob(TestNetwork.shellSpec("parallel-\(index)", script: "true"), by: requester).id }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids).count == 20)
        let ledger = await network.coordinator.state.ledger
        let escrowed = ledger.escrowed(by: requester.address)
        #expect(escrowed > 0)
        #expect(ledger.balance(of: requester.address) + escrowed == TestNetwork.fundingMicro)
        await network.stop()
        let report = try await reopenAndAudit(network)
        // The twenty submissions, after the two operators' bonds.
        #expect(report.envelopes == 22)
    }
}

/// Opens the stopped network's database again and audits it.
func reopenAndAudit(_ network: TestNetwork) async throws -> Auditor.Report {
    let store = try await CrucibleStore.open(network.database)
    do {
        let report = try await Auditor.audit(store: store)
        try await store.close()
        return report
    } catch {
        try? await store.close()
        throw error
    }
}
