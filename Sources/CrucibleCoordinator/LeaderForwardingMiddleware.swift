import AsyncHTTPClient
import CrucibleCore
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import OpenAPIRuntime

/// On a follower, passes every request it cannot answer from the log it tails on to the leader, as it came, and the
/// leader's answer back: signed requests (only the leader writes the log and keeps the nonces and rate limits), and
/// the reads that show who is online (only the leader hears the polls and heartbeats). After an answer the follower
/// reads the log up to where the leader had written it, so its client reads its own write here next.
/// On the leader it only marks the answers to forwarded requests with that position.
struct LeaderForwardingMiddleware: ServerMiddleware {
    let coordinator: Coordinator
    var httpClient: HTTPClient = Self.leaderClient

    /// A leader that died must fail a forward at once (the follower answers 503 and takes the lead); AsyncHTTPClient
    /// otherwise keeps trying to connect until the request's deadline. One for the process, like `HTTPClient.shared`.
    static let leaderClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(3)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Reads a follower answers itself: nothing in them depends on who is online now.
    static let answeredByFollowers: Set<String> = [
        "getHealth", "getChallenge", "listJobs", "getFramePreview", "getJobLogs", "getBlob", "getStake", "getEconomy",
        "listProposals", "getProposal", "getAccount", "getAccountHistory", "getLog",
    ]
    /// Set by a follower on a request it passes on; a coordinator that does not lead refuses such a request rather
    /// than pass it on again.
    static let forwardedHeader = HTTPField.Name("Crucible-Forwarded")!
    /// The leader's durable log head when it answered a forwarded request.
    static let logHeadHeader = HTTPField.Name("Crucible-Log-Head")!
    /// Longer than the longest long-poll.
    static let timeout = TimeAmount.milliseconds(Int64(OfferPoll.waitMsMax) + 30_000)

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let forwarded = request.headerFields[Self.forwardedHeader] != nil
        if await coordinator.isLeader {
            var (response, responseBody) = try await next(request, body, metadata)
            if forwarded { response.headerFields[Self.logHeadHeader] = String(await coordinator.durableLogHead) }
            return (response, responseBody)
        }
        if Self.answeredByFollowers.contains(operationID) { return try await next(request, body, metadata) }
        if forwarded { return Self.unavailable("this coordinator does not lead either; the lead is changing hands") }
        guard let leader = try? await coordinator.leaderURL(), !leader.isEmpty else {
            return Self.unavailable("no coordinator leads this database yet")
        }
        return try await forward(request, body: body, to: leader)
    }

    private func forward(_ request: HTTPRequest, body: HTTPBody?, to leader: String) async throws -> (HTTPResponse, HTTPBody?) {
        var outgoing = HTTPClientRequest(url: leader + (request.path ?? "/"))
        outgoing.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headerFields where !Self.hopByHop.contains(field.name) {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        outgoing.headers.add(name: Self.forwardedHeader.rawName, value: "1")
        if let body {
            // Bounded already by `BodyLimitMiddleware`, which runs first.
            outgoing.body = .bytes(ByteBuffer(bytes: try await Data(collecting: body, upTo: CoordinatorAPI.blobBytesMax)))
        }
        let answer: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            answer = try await httpClient.execute(outgoing, timeout: Self.timeout)
            bytes = try await answer.body.collect(upTo: CoordinatorAPI.blobBytesMax + (1 << 20))
        } catch {
            return Self.unavailable("the leader at \(leader) cannot be reached (\(error)); another coordinator takes the lead when it is gone")
        }
        var response = HTTPResponse(status: .init(code: Int(answer.status.code), reasonPhrase: answer.status.reasonPhrase))
        for header in answer.headers {
            guard let name = HTTPField.Name(header.name), !Self.hopByHop.contains(name) else { continue }
            response.headerFields.append(HTTPField(name: name, value: header.value))
        }
        if let seq = answer.headers.first(name: Self.logHeadHeader.rawName).flatMap(Int64.init) {
            await coordinator.waitFollowed(seq)
        }
        return (response, HTTPBody(Data(bytes.readableBytesView)))
    }

    /// Headers that belong to one connection, not to the request or answer passed on.
    private static let hopByHop: Set<HTTPField.Name> = [.connection, .contentLength, .transferEncoding, .init("Host")!, .init("Keep-Alive")!]

    private static func unavailable(_ message: String) -> (HTTPResponse, HTTPBody?) {
        var (response, body) = ErrorBodyMiddleware.response(.serviceUnavailable, code: CrucibleError.Code.unavailable.rawValue, message: message)
        response.headerFields[.retryAfter] = "1"
        return (response, body)
    }
}
