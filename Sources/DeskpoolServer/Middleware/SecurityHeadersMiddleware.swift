public import Hummingbird
import HTTPTypes

/// Security headers on every answer, errors included: no sniffing, no framing, no referrer,
/// a strict content security policy (the portal loads only its own scripts and styles), no
/// caching of anything personal, and HSTS over TLS.
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let tls: Bool

    public init(tls: Bool) { self.tls = tls }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        if response.headers[.contentSecurityPolicy] == nil { response.headers[.contentSecurityPolicy] = ContentSecurityPolicy.portal }
        response.headers[.init("Cross-Origin-Opener-Policy")!] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if tls { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}

/// The content security policies: every page's, unless a handler set its own.
enum ContentSecurityPolicy {
    static let portal = "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    /// The browser console page's: the same, and WebSockets to the gateway's relay, whose
    /// host and port differ from the portal's (noVNC draws cursors from data: and blob: images).
    static let console = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; object-src 'none'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}
