import CrucibleCore
import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Requests that fail before reaching a handler (a body that is not JSON, a missing field) get the same error body
/// as every other refusal, with code `malformed`, instead of the runtime's plain-text answer.
struct ErrorBodyMiddleware: ServerMiddleware {
    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        metadata: ServerRequestMetadata,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        do {
            return try await next(request, body, metadata)
        } catch let error as ServerError {
            let status = error.httpStatus
            let isClientError = (400..<500).contains(status.code)
            let message = isClientError ? describe(error) : "the coordinator failed to handle the request"
            return Self.response(
                isClientError ? status : .internalServerError, code: isClientError ? CrucibleError.Code.malformed.rawValue : "internal", message: message
            )
        }
    }

    /// An error answered before any handler: the same JSON body as every other refusal.
    static func response(_ status: HTTPResponse.Status, code: String, message: String) -> (HTTPResponse, HTTPBody?) {
        var response = HTTPResponse(status: status)
        response.headerFields[.contentType] = "application/json"
        return (response, HTTPBody(body(code: code, message: message)))
    }

    /// The JSON every refusal carries: `{"code": …, "message": …}`.
    static func body(code: String, message: String) -> Data {
        (try? CanonicalJSON.encode(["code": code, "message": message])) ?? Data()
    }

    private func describe(_ error: ServerError) -> String {
        var underlying: any Error = error.underlyingError
        // The runtime wraps decoding failures; unwrap to the DecodingError that names the field.
        let mirror = Mirror(reflecting: underlying)
        if let decoding = mirror.children.compactMap({ $0.value as? DecodingError }).first { underlying = decoding }
        if underlying is DecodingError {
            // Query and path values are decoded the same way as bodies.
            return "the request does not match the API: \(CanonicalJSON.describe(underlying))"
        }
        return "\(error.causeDescription): \(underlying)"
    }
}
