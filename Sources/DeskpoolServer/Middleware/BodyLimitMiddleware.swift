public import Hummingbird

/// Sets the request's body limit (`http.maxBodyBytes`) and refuses a declared larger body
/// with 413 before reading it; a chunked one is cut at the limit when collected.
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = DeskpoolRequestContext
    let limit: Int
    /// Requests the limit does not apply to (image uploads, bounded by their own limit).
    let exempt: @Sendable (Request) -> Bool

    public init(limit: Int, exempt: @escaping @Sendable (Request) -> Bool = { _ in false }) {
        self.limit = limit
        self.exempt = exempt
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if exempt(request) { return try await next(request, context) }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(limit) bytes")
        }
        var context = context
        context.bodyLimit = limit
        return try await next(request, context)
    }
}
