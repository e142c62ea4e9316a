import HTTPTypes
import OpenAPIRuntime
import Synchronization

/// The paths and methods `openapi.yaml` declares, as the generated server registers them, so that a request outside
/// them can be told which methods its path takes.
final class DeclaredRoutes: Sendable {
    private struct Route {
        let method: HTTPRequest.Method
        /// Path segments; `nil` where the template has a parameter (`{jobId}`), which matches any one segment.
        let segments: [Substring?]
    }

    private let routes = Mutex<[Route]>([])

    func add(method: HTTPRequest.Method, template: String) {
        let segments = template.split(separator: "/").map { $0.hasPrefix("{") && $0.hasSuffix("}") ? nil : $0 }
        routes.withLock { $0.append(Route(method: method, segments: segments)) }
    }

    /// The methods declared for the template `path` resolves to, in declaration order; empty when none matches it.
    /// As in the router, a literal segment wins over a parameter (`/v1/challenges/open` is not `{challengeId}`).
    func methods(forPath path: String) -> [HTTPRequest.Method] {
        let requested = path.split(separator: "/")
        let matching = routes.withLock { routes in
            routes.filter { route in
                route.segments.count == requested.count
                    && zip(route.segments, requested).allSatisfy { template, segment in template.map { $0 == segment } ?? true }
            }
        }
        func literals(_ route: Route) -> [Bool] { route.segments.map { $0 != nil } }
        guard let resolved = matching.map(literals).max(by: { $0.lexicographicallyPrecedes($1) { !$0 && $1 } }) else { return [] }
        return matching.filter { literals($0) == resolved }.map(\.method)
    }

    /// A transport that registers every handler on `base` and records its route here.
    func recording<Base: ServerTransport>(_ base: Base) -> some ServerTransport {
        Recording(base: base, routes: self)
    }

    private struct Recording<Base: ServerTransport>: ServerTransport {
        let base: Base
        let routes: DeclaredRoutes

        func register(
            _ handler: @Sendable @escaping (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
            method: HTTPRequest.Method,
            path: String
        ) throws {
            routes.add(method: method, template: path)
            try base.register(handler, method: method, path: path)
        }
    }
}
