import Foundation
import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// A network served by several coordinators (one leads, the others pass on what they cannot answer): a request that
/// cannot reach one coordinator goes to the next, and the one that answered is tried first from then on. Only a request
/// that got no answer at all moves on; an answer, even a refusal, is the answer.
struct CoordinatorFailover: ClientMiddleware {
    let urls: [URL]
    private let preferred = Preferred()

    init(urls: [URL]) {
        self.urls = urls
    }

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        baseURL: URL,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        // Held whole so that it can be sent again; the coordinator takes no body larger than a blob.
        var replayable: HTTPBody?
        if let body { replayable = HTTPBody(try await Data(collecting: body, upTo: Self.bodyBytesMax)) }
        let first = preferred.index.load(ordering: .relaxed)
        var lastError: (any Error)?
        for offset in 0..<urls.count {
            let index = (first + offset) % urls.count
            do {
                let answer = try await next(request, replayable, urls[index])
                preferred.index.store(index, ordering: .relaxed)
                return answer
            } catch {
                if Task.isCancelled { throw error }
                lastError = error
            }
        }
        throw lastError!
    }

    static let bodyBytesMax = 65 << 20

    private final class Preferred: Sendable {
        let index = Atomic<Int>(0)
    }
}
