import CrucibleAPI
import CrucibleCore
import CrucibleLedger
import CrucibleProof
import CrucibleStore
import Foundation
import Logging
import OpenAPIRuntime
import ServiceLifecycle

/// The HTTP API of `openapi.yaml`, served over the coordinator. Handlers translate between the generated
/// types and the domain, and turn every refusal into an error body with its code.
public struct CoordinatorAPI: APIProtocol {
    public let coordinator: Coordinator
    let metrics: CoordinatorMetrics
    let logger: Logger
    public static let version = "0.1.0"
    public static let blobBytesMax = 64 << 20

    public init(coordinator: Coordinator, metrics: CoordinatorMetrics = CoordinatorMetrics(), logger: Logger = Logger(label: "crucible.api")) {
        self.coordinator = coordinator
        self.metrics = metrics
        self.logger = logger
    }

    /// A page size from the query, refused outside 1…`max` as the API declares (not quietly clamped).
    static func pageSize(_ asked: Int?, default: Int, max: Int) throws -> Int {
        guard let asked else { return `default` }
        guard (1...max).contains(asked) else { throw CrucibleError(.malformed, "limit must be between 1 and \(max)") }
        return asked
    }

    /// Runs `body`, answering a refusal with the operation's default (error) response.
    func handle<Output>(
        _ makeError: (Int, Components.Responses.ErrorResponse) -> Output,
        _ body: () async throws -> Output
    ) async -> Output {
        do {
            return try await body()
        } catch let error as CrucibleError {
            return makeError(error.httpStatus, .init(
                headers: .init(retryAfter: error.retryAfterS), body: .json(.init(code: error.code.rawValue, message: error.message))
            ))
        } catch where CrucibleStore.isConnectionLost(error) {
            // The database is restarting or out of reach: the client may try again shortly.
            logger.warning("request failed: the database is unavailable", metadata: ["error": "\(String(reflecting: error))"])
            return makeError(503, .init(
                headers: .init(retryAfter: 1), body: .json(.init(code: "unavailable", message: "the database is unavailable; try again shortly"))
            ))
        } catch {
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return makeError(500, .init(body: .json(.init(code: "internal", message: "the coordinator failed to handle the request"))))
        }
    }

    public func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        await handle(Operations.GetHealth.Output.default) {
            .ok(.init(body: .json(.init(
                coordinator: coordinator.identity.address, logHead: await coordinator.logHead, version: Self.version, leader: await coordinator.isLeader
            ))))
        }
    }

    public func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        await handle(Operations.GetMetrics.Output.default) {
            let state = await coordinator.state
            let snapshot = CoordinatorMetrics.Snapshot(
                figures: NetworkFigures(state: state, isOnline: await coordinator.presence().isOnline), ledger: state.ledger,
                epoch: state.epoch, feeBps: state.parameters.feeBps, logHead: await coordinator.logHead, isLeader: await coordinator.isLeader
            )
            return .ok(.init(body: .plainText(HTTPBody(metrics.exposition(snapshot)))))
        }
    }

    public func getNetwork(_ input: Operations.GetNetwork.Input) async throws -> Operations.GetNetwork.Output {
        await handle(Operations.GetNetwork.Output.default) {
            .ok(.init(body: .json(await networkView())))
        }
    }

    public func listNodes(_ input: Operations.ListNodes.Input) async throws -> Operations.ListNodes.Output {
        await handle(Operations.ListNodes.Output.default) {
            let state = await coordinator.state
            let peersOnly = input.query.withPeerEndpoint ?? false
            let limit = try Self.pageSize(input.query.limit, default: Int.max, max: 1_000_000)
            var start = 0
            if let after = input.query.after {
                guard let node = state.nodes[after] else { throw CrucibleError(.notFound, "no node \(Address.short(after)) has registered to page after") }
                start = node.position + 1
            }
            // In registration order, reading only as far as the page goes.
            let nodes = state.nodeOrder[min(start, state.nodeOrder.count)...].lazy.compactMap { state.nodes[$0] }
                .filter { !peersOnly || $0.registration.peerEndpoint != nil }
                .prefix(limit)
            // A short list asks about its own nodes only; the whole list reads every sighting once.
            let page = Array(nodes)
            let presence = await coordinator.presence(of: peersOnly || page.count < state.nodes.count ? page.map(\.id) : nil)
            let views = page.map { nodeView($0, state: state, presence: presence) }
            return .ok(.init(body: .json(.init(nodes: views))))
        }
    }

    public func getNode(_ input: Operations.GetNode.Input) async throws -> Operations.GetNode.Output {
        await handle(Operations.GetNode.Output.default) {
            let id = input.path.nodeId
            guard Address.isValid(id) else { throw CrucibleError(.malformed, "a node id is 64 lowercase hex digits") }
            let state = await coordinator.state
            guard let node = state.nodes[id] else { throw CrucibleError(.notFound, "no node \(Address.short(id)) has registered") }
            return .ok(.init(body: .json(await nodeView(node, state: state))))
        }
    }

    public func registerNode(_ input: Operations.RegisterNode.Input) async throws -> Operations.RegisterNode.Output {
        await handle(Operations.RegisterNode.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let node = try await coordinator.registerNode(try VerifiedEnvelope(SignedEnvelope(body), as: .registerNode))
            return .ok(.init(body: .json(await nodeView(node, state: coordinator.state))))
        }
    }

    public func pollOffers(_ input: Operations.PollOffers.Input) async throws -> Operations.PollOffers.Output {
        await handle(Operations.PollOffers.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let envelope = try VerifiedEnvelope(SignedEnvelope(body), as: .pollOffers)
            // A long-poll must not hold up a graceful shutdown for the rest of its wait.
            let poll = try await withGracefulShutdownHandler {
                try await coordinator.pollOffers(envelope)
            } onGracefulShutdown: {
                Task { await coordinator.stopWaiting() }
            }
            let state = await coordinator.state
            return .ok(.init(body: .json(.init(
                offers: poll.offers.compactMap { offerView($0, state: state) },
                stop: poll.stop,
                challenges: poll.challenges.map { .init(challengeId: $0.id, reason: .init(rawValue: $0.issue.reason.rawValue)!, devices: $0.issue.devices.count) },
                clusterRuns: poll.clusterRuns.compactMap { clusterRunView($0, state: state) }
            ))))
        }
    }

    public func reportLinks(_ input: Operations.ReportLinks.Input) async throws -> Operations.ReportLinks.Output {
        await handle(Operations.ReportLinks.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let node = try await coordinator.reportLinks(try VerifiedEnvelope(SignedEnvelope(body), as: .reportLinks))
            return .ok(.init(body: .json(await nodeView(node, state: coordinator.state))))
        }
    }

    public func sendHeartbeat(_ input: Operations.SendHeartbeat.Input) async throws -> Operations.SendHeartbeat.Output {
        await handle(Operations.SendHeartbeat.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let stop = try await coordinator.heartbeat(try VerifiedEnvelope(SignedEnvelope(body), as: .heartbeat))
            return .ok(.init(body: .json(.init(stop: stop))))
        }
    }

    public func startChallenge(_ input: Operations.StartChallenge.Input) async throws -> Operations.StartChallenge.Output {
        await handle(Operations.StartChallenge.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let work = try await coordinator.startChallenge(try VerifiedEnvelope(SignedEnvelope(body), as: .startChallenge))
            let openings = await coordinator.state.parameters.challenges.openings
            return .ok(.init(body: .json(.init(
                challengeId: work.record.id,
                devices: zip(work.record.issue.devices, work.seeds).map { challengeDeviceView($0.0, seed: $0.1.hexString, achievedTops: nil) },
                remainingMs: work.remainingMs, openings: openings
            ))))
        }
    }

    public func commitChallenge(_ input: Operations.CommitChallenge.Input) async throws -> Operations.CommitChallenge.Output {
        await handle(Operations.CommitChallenge.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            return .ok(.init(body: .json(challengeView(try await coordinator.commitChallenge(try VerifiedEnvelope(SignedEnvelope(body), as: .commitChallenge))))))
        }
    }

    public func openChallenge(_ input: Operations.OpenChallenge.Input) async throws -> Operations.OpenChallenge.Output {
        await handle(Operations.OpenChallenge.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            return .ok(.init(body: .json(challengeView(try await coordinator.openChallenge(try VerifiedEnvelope(SignedEnvelope(body), as: .openChallenge))))))
        }
    }

    public func getChallenge(_ input: Operations.GetChallenge.Input) async throws -> Operations.GetChallenge.Output {
        await handle(Operations.GetChallenge.Output.default) {
            .ok(.init(body: .json(challengeView(try await coordinator.state.challenge(input.path.challengeId)))))
        }
    }

    public func respondOffer(_ input: Operations.RespondOffer.Input) async throws -> Operations.RespondOffer.Output {
        await handle(Operations.RespondOffer.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let run = try await coordinator.respondOffer(try VerifiedEnvelope(SignedEnvelope(body), as: .respondOffer))
            return .ok(.init(body: .json(.init(runId: run.id, state: run.state.rawValue))))
        }
    }

    public func reportResult(_ input: Operations.ReportResult.Input) async throws -> Operations.ReportResult.Output {
        await handle(Operations.ReportResult.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let run = try await coordinator.reportResult(try VerifiedEnvelope(SignedEnvelope(body), as: .reportResult))
            return .ok(.init(body: .json(.init(runId: run.id, state: run.state.rawValue))))
        }
    }

    public func appendTaskLog(_ input: Operations.AppendTaskLog.Input) async throws -> Operations.AppendTaskLog.Output {
        await handle(Operations.AppendTaskLog.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let runId = try await coordinator.appendTaskLog(try VerifiedEnvelope(SignedEnvelope(body), as: .appendTaskLog))
            return .ok(.init(body: .json(.init(runId: runId, state: "logged"))))
        }
    }

    public func listJobs(_ input: Operations.ListJobs.Input) async throws -> Operations.ListJobs.Output {
        await handle(Operations.ListJobs.Output.default) {
            let state = await coordinator.state
            let requester = input.query.requester
            let jobs = state.jobOrder.reversed().compactMap { state.jobs[$0] }
                .filter { requester == nil || $0.requester == requester }
                .prefix(1000)
                .map(jobSummaryView)
            return .ok(.init(body: .json(.init(jobs: Array(jobs)))))
        }
    }

    public func submitJob(_ input: Operations.SubmitJob.Input) async throws -> Operations.SubmitJob.Output {
        await handle(Operations.SubmitJob.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let job = try await coordinator.submitJob(try VerifiedEnvelope(SignedEnvelope(body), as: .submitJob))
            return .created(.init(body: .json(jobView(job, state: await coordinator.state))))
        }
    }

    public func getJob(_ input: Operations.GetJob.Input) async throws -> Operations.GetJob.Output {
        await handle(Operations.GetJob.Output.default) {
            let state = await coordinator.state
            let waiting = await coordinator.whyWaiting(jobId: input.path.jobId)
            return .ok(.init(body: .json(jobView(try state.job(input.path.jobId), state: state, waiting: waiting))))
        }
    }

    public func cancelJob(_ input: Operations.CancelJob.Input) async throws -> Operations.CancelJob.Output {
        await handle(Operations.CancelJob.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let job = try await coordinator.cancelJob(input.path.jobId, try VerifiedEnvelope(SignedEnvelope(body), as: .cancelJob))
            return .ok(.init(body: .json(jobView(job, state: await coordinator.state))))
        }
    }

    public func reviewFrames(_ input: Operations.ReviewFrames.Input) async throws -> Operations.ReviewFrames.Output {
        await handle(Operations.ReviewFrames.Output.default) {
            guard case .json(let body) = input.body else { throw CrucibleError(.malformed, "expected JSON") }
            let job = try await coordinator.reviewFrames(input.path.jobId, try VerifiedEnvelope(SignedEnvelope(body), as: .reviewFrames))
            return .ok(.init(body: .json(jobView(job, state: await coordinator.state))))
        }
    }

    public func getFramePreview(_ input: Operations.GetFramePreview.Input) async throws -> Operations.GetFramePreview.Output {
        await handle(Operations.GetFramePreview.Output.default) {
            let preview = try await coordinator.framePreview(jobId: input.path.jobId, taskIndex: input.path.taskIndex)
            return .ok(.init(body: .png(HTTPBody(preview))))
        }
    }

    public func getJobLogs(_ input: Operations.GetJobLogs.Input) async throws -> Operations.GetJobLogs.Output {
        await handle(Operations.GetJobLogs.Output.default) {
            let jobId = input.path.jobId
            let job = try await coordinator.state.job(jobId)
            let after = input.query.after ?? 0
            let limit = try Self.pageSize(input.query.limit, default: 500, max: 5_000)
            let rows = try await coordinator.taskLogs(jobId: jobId, afterId: after, limit: limit)
            let chunks = rows.map { id, row in
                Components.Schemas.LogChunk(id: id, runId: row.runId, taskIndex: row.taskIndex, text: row.text, receivedMs: row.receivedMs)
            }
            return .ok(.init(body: .json(.init(chunks: chunks, next: rows.last?.0 ?? after, jobClosed: job.isClosed))))
        }
    }

    public func putBlob(_ input: Operations.PutBlob.Input) async throws -> Operations.PutBlob.Output {
        await handle(Operations.PutBlob.Output.default) {
            let sha256 = input.path.sha256
            guard Digest.isValidHex(sha256) else { throw CrucibleError(.malformed, "a blob address is 64 lowercase hex digits") }
            guard case .binary(let body) = input.body else { throw CrucibleError(.malformed, "expected application/octet-stream") }
            let data: Data
            do {
                data = try await Data(collecting: body, upTo: Self.blobBytesMax)
            } catch {
                throw CrucibleError(.tooLarge, "a blob is at most \(Self.blobBytesMax >> 20) MiB")
            }
            guard Digest.sha256Hex(data) == sha256 else {
                throw CrucibleError(.digestMismatch, "the body's SHA-256 is \(Digest.sha256Hex(data)), not \(sha256)")
            }
            guard let header = Data(base64Encoded: input.headers.xCrucibleEnvelope),
                  let wire = try? JSONDecoder().decode(Components.Schemas.Envelope.self, from: header)
            else { throw CrucibleError(.malformed, "X-Crucible-Envelope must be the base64 of a JSON envelope") }
            try await coordinator.putBlob(data, sha256: sha256, envelope: try VerifiedEnvelope(SignedEnvelope(wire), as: .putBlob))
            return .created(.init(body: .json(.init(sha256: sha256, sizeBytes: Int64(data.count)))))
        }
    }

    public func getBlob(_ input: Operations.GetBlob.Input) async throws -> Operations.GetBlob.Output {
        await handle(Operations.GetBlob.Output.default) {
            let sha256 = input.path.sha256
            guard Digest.isValidHex(sha256) else { throw CrucibleError(.malformed, "a blob address is 64 lowercase hex digits") }
            let state = await coordinator.state
            if let runId = state.withheldFrames[sha256], let run = state.runs[runId] {
                throw CrucibleError(
                    .forbidden,
                    "this frame awaits its requester's review: GET /v1/jobs/\(run.jobId)/tasks/\(run.taskIndex)/preview shows a watermarked preview, and the frame is released once approved"
                )
            }
            guard let data = try await coordinator.blob(sha256) else { throw CrucibleError(.notFound, "no blob \(sha256)") }
            return .ok(.init(body: .binary(HTTPBody(data))))
        }
    }

    public func getAccount(_ input: Operations.GetAccount.Input) async throws -> Operations.GetAccount.Output {
        await handle(Operations.GetAccount.Output.default) {
            let address = input.path.address
            guard Address.isValid(address) else { throw CrucibleError(.malformed, "an address is 64 lowercase hex digits") }
            return .ok(.init(body: .json(accountView(address, ledger: await coordinator.state.ledger))))
        }
    }

    public func getLog(_ input: Operations.GetLog.Input) async throws -> Operations.GetLog.Output {
        await handle(Operations.GetLog.Output.default) {
            let query = input.query
            if let subject = query.subject, !LogSubjects.isValid(subject) {
                throw CrucibleError(.malformed, "subject must be 1 to 160 letters, digits, '.', '_' or '-': a node or signer address, job-…, a run id, challenge-N, proposal-N, epoch-N or kind.NAME")
            }
            let after = max(query.after ?? 0, 0)
            let limit = try Self.pageSize(query.limit, default: 500, max: 5_000)
            let stored = try await coordinator.logEntries(concerning: query.subject, after: after, before: query.before, limit: limit)
            let entries = stored.map {
                Components.Schemas.LogEntry(seq: $0.seq, prevHash: $0.prevHash, hash: $0.hash, timestampMs: $0.timestampMs, content: $0.content, signature: $0.signature)
            }
            // Checkpoints cover runs of contiguous entries: a page in log order from a cursor.
            var checkpoints: [Components.Schemas.LogCheckpoint] = []
            if query.subject == nil, query.before == nil {
                let last = stored.last?.seq ?? after
                checkpoints = try await coordinator.checkpoints().filter { $0.lastSeq > after && $0.lastSeq <= last }.map {
                    Components.Schemas.LogCheckpoint(firstSeq: $0.firstSeq, lastSeq: $0.lastSeq, root: $0.root, signature: $0.signature)
                }
            }
            return .ok(.init(body: .json(.init(coordinator: coordinator.identity.address, entries: entries, checkpoints: checkpoints))))
        }
    }
}

extension SignedEnvelope {
    /// Converts the wire form, refusing unknown kinds and bad base64 with a clear error.
    init(_ wire: Components.Schemas.Envelope) throws {
        guard let kind = EnvelopeKind(rawValue: wire.kind) else {
            throw CrucibleError(.unknownKind, "unknown envelope kind `\(wire.kind.prefix(64))`; known kinds: \(EnvelopeKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let payload = Data(base64Encoded: wire.payload) else { throw CrucibleError(.malformed, "payload is not base64") }
        guard let signature = Data(base64Encoded: wire.signature) else { throw CrucibleError(.malformed, "signature is not base64") }
        self.init(signer: wire.signer, nonce: wire.nonce, timestampMs: wire.timestampMs, kind: kind, payload: payload, signature: signature)
    }
}
