import AsyncHTTPClient
import NIOCore
import CrucibleAPI
import CrucibleCore
import Foundation
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

/// The SDK over the generated client: signs envelopes, turns error responses back into `CrucibleError`s, and
/// uploads content. Requesters, node agents and the CLI all talk to the coordinator through it.
public struct CoordinatorClient: Sendable {
    /// The coordinator tried first; `baseURLs` are all of them.
    public var baseURL: URL { baseURLs[0] }
    public let baseURLs: [URL]
    let client: Client

    public init(baseURL: URL, httpClient: HTTPClient? = nil, timeoutS: Int64 = 60) {
        self.init(baseURLs: [baseURL], httpClient: httpClient, timeoutS: timeoutS)
    }

    /// A client of a network served by several coordinators: a request that cannot reach one goes to the next.
    public init(baseURLs: [URL], httpClient: HTTPClient? = nil, timeoutS: Int64 = 60) {
        precondition(!baseURLs.isEmpty, "a client needs a coordinator")
        self.baseURLs = baseURLs
        let httpClient = httpClient ?? (baseURLs.count > 1 ? Self.failFastHTTPClient : .shared)
        self.client = Client(
            serverURL: baseURLs[0],
            transport: AsyncHTTPClientTransport(configuration: .init(client: httpClient, timeout: .seconds(timeoutS))),
            middlewares: baseURLs.count > 1 ? [CoordinatorFailover(urls: baseURLs)] : []
        )
    }

    /// For several coordinators, and for one-shot commands: a dead one must fail fast, so that the next is tried or the
    /// person told, and AsyncHTTPClient otherwise keeps trying to connect until the request's own deadline (60 s). One
    /// for the process, like `HTTPClient.shared`.
    public static let failFastHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(3)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// `url`: one coordinator's URL, or several separated by commas.
    public init(url: String) throws {
        self.init(baseURLs: try Self.parseURLs(url))
    }

    /// Coordinator URLs separated by commas, each http(s) with a host.
    public static func parseURLs(_ text: String) throws -> [URL] {
        let urls = try text.split(separator: ",").map { part -> URL in
            let url = part.trimmingCharacters(in: .whitespaces)
            guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
                throw CrucibleError(.malformed, "`\(url)` is not an http(s) URL such as http://127.0.0.1:7700")
            }
            return parsed
        }
        guard !urls.isEmpty else { throw CrucibleError(.malformed, "no coordinator URL given") }
        return urls
    }

    /// Runs a call, turning "the coordinator could not be reached" into one clear sentence.
    func reach<Output>(_ call: () async throws -> Output) async throws -> Output {
        do {
            return try await call()
        } catch let error as ClientError {
            if let refusal = error.underlyingError as? CrucibleError { throw refusal }
            let at = baseURLs.map(\.absoluteString).joined(separator: " or ")
            throw CrucibleError(
                .unavailable,
                "cannot reach the coordinator at \(at): \(error.underlyingError). Is it running there? "
                    + "(`crucible coordinator serve` or `crucible devnet` starts one; --coordinator URL points elsewhere)"
            )
        }
    }

    static func wire(_ envelope: SignedEnvelope) -> Components.Schemas.Envelope {
        .init(
            signer: envelope.signer, nonce: envelope.nonce, timestampMs: envelope.timestampMs, kind: envelope.kind.rawValue,
            payload: envelope.payload.base64EncodedString(), signature: envelope.signature.base64EncodedString()
        )
    }

    static func signed(_ payload: some Encodable, _ kind: EnvelopeKind, _ signer: SigningIdentity) throws -> Components.Schemas.Envelope {
        wire(try SignedEnvelope.sign(payload, kind: kind, by: signer))
    }

    static func refusal(_ status: Int, _ response: Components.Responses.ErrorResponse) -> CrucibleError {
        guard case .json(let body) = response.body else { return CrucibleError(.unavailable, "HTTP \(status)", retryAfterS: response.headers.retryAfter) }
        return CrucibleError(CrucibleError.Code(rawValue: body.code) ?? .internalError, body.message, retryAfterS: response.headers.retryAfter)
    }

    static func unexpected(_ status: Int) -> CrucibleError {
        CrucibleError(.unavailable, "the coordinator answered HTTP \(status), which the API does not document")
    }

    // MARK: - Reads

    public func health() async throws -> Components.Schemas.Health {
        switch try await reach({ try await client.getHealth() }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func network() async throws -> Components.Schemas.NetworkSummary {
        switch try await reach({ try await client.getNetwork() }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// Registered nodes in the order they registered: with `withPeerEndpoint`, only those that listen for cluster
    /// peers; at most `limit`; those registered after node `after` when given.
    public func nodes(withPeerEndpoint: Bool = false, limit: Int? = nil, after: String? = nil) async throws -> [Components.Schemas.Node] {
        switch try await reach({ try await client.listNodes(query: .init(withPeerEndpoint: withPeerEndpoint ? true : nil, limit: limit, after: after)) }) {
        case .ok(let ok): return try ok.body.json.nodes
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// One registered node (not found: `not_found`).
    public func node(_ id: String) async throws -> Components.Schemas.Node {
        switch try await reach({ try await client.getNode(path: .init(nodeId: id)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func job(_ id: String) async throws -> Components.Schemas.Job {
        switch try await reach({ try await client.getJob(path: .init(jobId: id)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func jobs(requester: String? = nil) async throws -> [Components.Schemas.JobSummary] {
        switch try await reach({ try await client.listJobs(query: .init(requester: requester)) }) {
        case .ok(let ok): return try ok.body.json.jobs
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func jobLogs(_ id: String, after: Int64 = 0, limit: Int = 500) async throws -> Components.Schemas.LogChunkList {
        switch try await reach({ try await client.getJobLogs(path: .init(jobId: id), query: .init(after: after, limit: limit)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func account(_ address: String) async throws -> Components.Schemas.Account {
        switch try await reach({ try await client.getAccount(path: .init(address: address)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func log(after: Int64, limit: Int = 1000) async throws -> Components.Schemas.LogPage {
        switch try await reach({ try await client.getLog(query: .init(after: after, limit: limit)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// The entries that concern `subject` (a node, job, run, challenge, proposal, epoch-N, signer or kind.NAME; nil:
    /// every entry): oldest first after `after`, or newest first before `before`.
    public func log(concerning subject: String?, after: Int64? = nil, before: Int64? = nil, limit: Int = 100) async throws -> Components.Schemas.LogPage {
        switch try await reach({ try await client.getLog(query: .init(after: after, before: before, subject: subject, limit: limit)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    // MARK: - Content

    /// Uploads `data` under its SHA-256, signed for by `uploader`, and returns the address.
    @discardableResult
    public func putBlob(_ data: Data, by uploader: SigningIdentity) async throws -> String {
        let sha256 = Digest.sha256Hex(data)
        let envelope = try JSONEncoder().encode(Self.signed(BlobUpload(sha256: sha256, sizeBytes: Int64(data.count)), .putBlob, uploader))
        switch try await reach({ try await client.putBlob(
            path: .init(sha256: sha256), headers: .init(xCrucibleEnvelope: envelope.base64EncodedString()), body: .binary(HTTPBody(data))
        ) }) {
        case .created: return sha256
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// Downloads a blob and checks that it hashes to its address.
    public func blob(_ sha256: String, maxBytes: Int = 64 << 20) async throws -> Data {
        switch try await reach({ try await client.getBlob(path: .init(sha256: sha256)) }) {
        case .ok(let ok):
            let data = try await Data(collecting: try ok.body.binary, upTo: maxBytes)
            guard Digest.sha256Hex(data) == sha256 else {
                throw CrucibleError(.digestMismatch, "blob \(sha256.prefix(12))… arrived with different content")
            }
            return data
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    // MARK: - Signed requests

    public func submitJob(_ spec: JobSpec, by requester: SigningIdentity) async throws -> Components.Schemas.Job {
        switch try await reach({ try await client.submitJob(body: .json(Self.signed(JobSubmission(spec: spec), .submitJob, requester))) }) {
        case .created(let created): return try created.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func cancelJob(_ id: String, by requester: SigningIdentity) async throws -> Components.Schemas.Job {
        switch try await reach({ try await client.cancelJob(path: .init(jobId: id), body: .json(Self.signed(JobCancellation(jobId: id), .cancelJob, requester))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func reviewFrames(_ review: FrameReview, by requester: SigningIdentity) async throws -> Components.Schemas.Job {
        switch try await reach({ try await client.reviewFrames(path: .init(jobId: review.jobId), body: .json(Self.signed(review, .reviewFrames, requester))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// A render task's watermarked preview (PNG).
    public func framePreview(jobId: String, taskIndex: Int, maxBytes: Int = 64 << 20) async throws -> Data {
        switch try await reach({ try await client.getFramePreview(path: .init(jobId: jobId, taskIndex: taskIndex)) }) {
        case .ok(let ok): return try await Data(collecting: try ok.body.png, upTo: maxBytes)
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func registerNode(_ registration: NodeRegistration, by node: SigningIdentity) async throws -> Components.Schemas.Node {
        switch try await reach({ try await client.registerNode(body: .json(Self.signed(registration, .registerNode, node))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// Offers and challenges for the node, waiting up to `waitMs` for one — or for one of the cluster runs it
    /// awaits to start or be withdrawn.
    public func poll(waitMs: Int, awaiting: [String] = [], by node: SigningIdentity) async throws -> Components.Schemas.PollResult {
        let poll = OfferPoll(waitMs: waitMs, awaitingRunIds: awaiting.isEmpty ? nil : awaiting)
        switch try await reach({ try await client.pollOffers(body: .json(Self.signed(poll, .pollOffers, node))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// Reports what the node measured to its peers.
    public func reportLinks(_ report: LinkReport, by node: SigningIdentity) async throws -> Components.Schemas.Node {
        switch try await reach({ try await client.reportLinks(body: .json(Self.signed(report, .reportLinks, node))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func pollOffers(waitMs: Int, by node: SigningIdentity) async throws -> [Components.Schemas.Offer] {
        try await poll(waitMs: waitMs, by: node).offers
    }

    public func startChallenge(_ challengeId: String, by node: SigningIdentity) async throws -> Components.Schemas.ChallengeWork {
        switch try await reach({ try await client.startChallenge(body: .json(Self.signed(ChallengeStart(challengeId: challengeId), .startChallenge, node))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func commitChallenge(_ commitment: ChallengeCommitment, by node: SigningIdentity) async throws -> Components.Schemas.Challenge {
        switch try await reach({ try await client.commitChallenge(body: .json(Self.signed(commitment, .commitChallenge, node))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// Uploads the openings (JSON, per device the rows in query order) and opens them.
    public func openChallenge(_ challengeId: String, openings: Data, by node: SigningIdentity) async throws -> Components.Schemas.Challenge {
        let sha256 = try await putBlob(openings, by: node)
        let payload = ChallengeOpenings(challengeId: challengeId, openingsSha256: sha256)
        switch try await reach({ try await client.openChallenge(body: .json(Self.signed(payload, .openChallenge, node))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func challenge(_ challengeId: String) async throws -> Components.Schemas.Challenge {
        switch try await reach({ try await client.getChallenge(path: .init(challengeId: challengeId)) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func heartbeat(runIds: [String], by node: SigningIdentity) async throws -> [String] {
        switch try await reach({ try await client.sendHeartbeat(body: .json(Self.signed(Heartbeat(runIds: runIds), .heartbeat, node))) }) {
        case .ok(let ok): return try ok.body.json.stop
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func respondOffer(_ response: OfferResponse, by node: SigningIdentity) async throws -> Components.Schemas.RunAck {
        switch try await reach({ try await client.respondOffer(body: .json(Self.signed(response, .respondOffer, node))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func reportResult(_ report: RunReport, by node: SigningIdentity) async throws -> Components.Schemas.RunAck {
        switch try await reach({ try await client.reportResult(body: .json(Self.signed(report, .reportResult, node))) }) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    public func appendTaskLog(_ chunk: TaskLogAppend, by node: SigningIdentity) async throws {
        switch try await reach({ try await client.appendTaskLog(body: .json(Self.signed(chunk, .appendTaskLog, node))) }) {
        case .ok: return
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }

    /// Sends an envelope as given, for tools and tests that need to send exactly these bytes (a replay, a forgery).
    public func submitJob(rawEnvelope envelope: SignedEnvelope) async throws -> Components.Schemas.Job {
        switch try await reach({ try await client.submitJob(body: .json(Self.wire(envelope))) }) {
        case .created(let created): return try created.body.json
        case .default(let status, let error): throw Self.refusal(status, error)
        }
    }
}
