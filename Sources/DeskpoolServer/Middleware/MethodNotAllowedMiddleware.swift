public import Hummingbird
import HTTPTypes
import NIOConcurrencyHelpers

/// Answers 405 with `Allow` (instead of the router's 404) when the path exists with other
/// methods. The route table is filled in after the routes are registered (`install`).
public struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    final class Table: Sendable {
        let routes = NIOLockedValueBox<[(segments: [Substring], method: HTTPRequest.Method)]>([])
    }

    let table = Table()

    public init() {}

    /// Records the router's routes (call once all are added).
    public func install(_ routes: [Router<Context>.RouteDescription]) {
        table.routes.withLockedValue { table in
            table = routes.map { (String(describing: $0.path).split(separator: "/"), $0.method) }
        }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path.split(separator: "/")
            let allowed = table.routes.withLockedValue { routes in
                routes.filter { route in
                    route.segments.count == path.count && zip(route.segments, path).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
                }.map(\.method)
            }
            guard !allowed.isEmpty else { throw error }
            var headers = HTTPFields()
            headers[.allow] = Set(allowed.map(\.rawValue)).sorted().joined(separator: ", ")
            throw HTTPError(.methodNotAllowed, headers: headers, message: "\(request.method) is not allowed here")
        }
    }
}
