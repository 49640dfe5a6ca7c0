public import DeskpoolCore
public import Hummingbird
public import NIOCore

/// Per request: the client's address and, once `AuthenticationMiddleware` ran, the login
/// session and how it was presented.
public struct DeskpoolRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The logged-in user's session, if the request carried a live token.
    public var login: LoginSession?
    /// The token as presented (to end the session at logout).
    var token: String?
    /// The token came in the portal's cookie (not a bearer header): changes need the CSRF token.
    var viaCookie = false
    /// The request's `X-CSRF-Token` header matched the session's.
    var csrfHeaderValid = false
    /// Largest body read (`http.maxBodyBytes`, set by `BodyLimitMiddleware`).
    var bodyLimit = 1_048_576

    public var maxUploadSize: Int { bodyLimit }

    /// The request's connection (an image upload refused halfway closes it rather than
    /// reading the rest of the body).
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        remoteAddress = source.channel.remoteAddress
        clientAddress = remoteAddress?.ipAddress
    }

    /// The client's IP address, without the port: the peer's, or the one a trusted proxy
    /// forwarded (`ClientAddressMiddleware`, `http.trustedProxies`).
    public internal(set) var clientAddress: String?
}
