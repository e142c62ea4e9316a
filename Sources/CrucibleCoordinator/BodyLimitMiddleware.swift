import CrucibleCore
import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Every request body has a ceiling, read no further than it: the OpenAPI runtime would otherwise collect a JSON body
/// of any size into memory before a handler saw it. Blob uploads may be as large as a blob; every other body is one
/// signed envelope, whose largest payload (a job spec at its limits) is well under `envelopeBytesMax`.
struct BodyLimitMiddleware: ServerMiddleware {
    static let envelopeBytesMax = 4 << 20

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body else { return try await next(request, nil, metadata) }
        let limit = operationID == "putBlob" ? CoordinatorAPI.blobBytesMax : Self.envelopeBytesMax
        if case .known(let length) = body.length, length > limit {
            return Self.tooLarge(limit)
        }
        // A body without a length (chunked) is read up to the ceiling and refused past it.
        guard case .unknown = body.length else { return try await next(request, body, metadata) }
        let data: Data
        do {
            data = try await Data(collecting: body, upTo: limit)
        } catch {
            return Self.tooLarge(limit)
        }
        return try await next(request, HTTPBody(data), metadata)
    }

    static func tooLarge(_ limit: Int) -> (HTTPResponse, HTTPBody?) {
        ErrorBodyMiddleware.response(
            .contentTooLarge, code: CrucibleError.Code.tooLarge.rawValue, message: "the request body is larger than \(limit >> 20) MiB"
        )
    }
}
