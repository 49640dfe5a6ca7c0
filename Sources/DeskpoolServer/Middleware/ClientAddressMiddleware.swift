public import DeskpoolCore
public import Hummingbird
import HTTPTypes

/// Sets the request's client address: the peer's, or, when the peer is a trusted reverse proxy
/// (`http.trustedProxies`), the client it names in `X-Forwarded-For` (`ForwardedClient`). The
/// one place that decides who the client is: the login throttle, the audit and console
/// placement all read `context.clientAddress`.
public struct ClientAddressMiddleware: RouterMiddleware {
    public typealias Context = DeskpoolRequestContext
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    let trustedProxies: [IPNetwork]

    public init(trustedProxies: [IPNetwork]) { self.trustedProxies = trustedProxies }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trustedProxies.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = ForwardedClient.address(peer: context.clientAddress, forwardedFor: request.headers[values: Self.forwardedFor],
                                                        trusted: trustedProxies)
        return try await next(request, context)
    }
}
