import CrucibleCore
import Foundation
import Hummingbird

/// Answers a request the API does not declare with the same JSON error body as every other refusal: 405 with the
/// methods its path takes (`Allow`) when the path exists, 404 when it does not.
struct UndeclaredRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: DeclaredRoutes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            let allowed = routes.methods(forPath: path)
            // A declared route's own handler may also answer 404 (through HTTPError); that is not this middleware's.
            guard !allowed.contains(request.method) else { throw error }
            let refusal = allowed.isEmpty
                ? CrucibleError(.notFound, "no such path in the API: \(path)")
                : CrucibleError(.methodNotAllowed, "\(path) takes \(allowed.map(\.rawValue).joined(separator: ", ")), not \(request.method.rawValue)")
            var headers: HTTPFields = [.contentType: "application/json"]
            if !allowed.isEmpty { headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ") }
            let body = ErrorBodyMiddleware.body(code: refusal.code.rawValue, message: refusal.message)
            return Response(
                status: .init(code: refusal.httpStatus), headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
    }
}
