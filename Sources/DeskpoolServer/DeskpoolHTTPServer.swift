public import DeskpoolCore
import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HTTPTypes
public import Logging
import NIOSSL

/// The broker's HTTP side: the JSON API under `/api/v1`, the portal, `/metrics`, `/healthz`, `/readyz`
/// and the OpenAPI document, behind security headers, error mapping, login sessions and a
/// body limit.
public struct DeskpoolHTTPServer: Sendable {
    public let services: BrokerServices
    public let configuration: HTTPConfiguration
    public let metrics: ServerMetrics
    public let logins: LoginSessions
    let gate: LoginGate
    let conversations: LoginConversations
    let readiness: ReadinessProbe

    public init(services: BrokerServices, configuration: HTTPConfiguration, metrics: ServerMetrics = ServerMetrics()) {
        self.services = services
        self.configuration = configuration
        self.metrics = metrics
        self.logins = LoginSessions(store: services.broker.store, maxAge: TimeInterval(configuration.sessionHours * 3600),
                                    idle: TimeInterval(configuration.sessionIdleMinutes * 60), now: services.now)
        self.gate = LoginGate(authenticator: services.authenticator, policy: configuration.loginThrottle.policy,
                              limits: LoginGate.Limits(configuration.loginThrottle), shared: services.broker.store, now: services.now)
        self.conversations = LoginConversations(gate: gate, sessions: logins, services: services, metrics: metrics,
                                                challengeSeconds: services.challengeSeconds)
        self.readiness = ReadinessProbe(services: services)
    }

    /// Every route, with its middleware.
    public func router() -> Router<DeskpoolRequestContext> {
        let router = Router(context: DeskpoolRequestContext.self)
        let methods = MethodNotAllowedMiddleware<DeskpoolRequestContext>()
        router.add(middleware: ClientAddressMiddleware(trustedProxies: configuration.trustedProxies))
        router.add(middleware: SecurityHeadersMiddleware(tls: configuration.tls != nil))
        router.add(middleware: APIErrorMiddleware())
        router.add(middleware: methods)
        router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodyBytes, exempt: AdminTemplateRoutes.isUpload))
        router.add(middleware: AuthenticationMiddleware(logins: logins))

        let auth = AuthRoutes(services: services, logins: logins, conversations: conversations, metrics: metrics, configuration: configuration)
        let desktops = DesktopRequests(services: services, metrics: metrics)
        let api = router.group("api/v1")
        auth.add(to: api)
        UserRoutes(services: services, desktops: desktops).add(to: api)
        let admin = api.group("admin")
        AdminPoolRoutes(services: services).add(to: admin)
        AdminDesktopRoutes(services: services).add(to: admin)
        AdminTemplateRoutes(services: services).add(to: admin)
        AdminSystemRoutes(services: services).add(to: admin)
        AdminUsageRoutes(services: services).add(to: admin)
        AdminLoginRoutes(services: services, gate: gate).add(to: admin)
        AdminRolloutRoutes(services: services).add(to: admin)
        api.get("openapi.json") { _, _ in try Self.openAPIDocument() }
        router.get("healthz") { [services] _, _ in
            try jsonResponse(Health(hosts: services.hosts.byName.mapValues(\.status.state)))
        }
        router.get("readyz") { _, _ in
            let readiness = await readiness.check()
            return try jsonResponse(readiness, status: readiness.ready ? .ok : .serviceUnavailable)
        }
        MetricsRoutes(services: services, metrics: metrics, logins: logins).add(to: router)
        PortalRoutes(services: services, auth: auth, desktops: desktops, logins: logins).add(to: router)
        methods.install(router.routes)
        return router
    }

    /// The application `deskpool serve` runs (HTTPS when `http.tls` is set), with the
    /// connection guards of `http.connections`.
    public func application(logger: Logger) throws -> some ApplicationProtocol {
        var tlsConfiguration: TLSConfiguration?
        if let tls = configuration.tls {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
                tlsConfiguration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: NIOSSLPrivateKeySource.privateKey(key))
            } catch {
                throw DeskpoolError(.invalidInput, "http.tls: cannot load the certificate or key (\(error))", field: "http.tls")
            }
        }
        let connections = configuration.connections
        let tls = tlsConfiguration
        let counter = AddressConnectionCounter(limit: connections.maxConnectionsPerAddress)
        let server = HTTPServerBuilder { responder in
            let http = GuardedHTTPChannel(responder: responder, configuration: connections, counter: counter,
                                          isLongUpload: Self.isImageUpload, logger: logger)
            guard let tls else { return http }
            return try TLSChannel(http, tlsConfiguration: tls)
        }
        return Application(router: router(), server: server,
                           configuration: .init(address: .hostname(configuration.listen, port: configuration.port), serverName: "deskpool",
                                                availableConnectionsDelegate: MaximumAvailableConnections(connections.maxConnections, logger: logger)),
                           logger: logger)
    }

    /// A template image streamed as the request body: exempt from the body timeout (the
    /// route itself is admin only and bounded by `images.maxImageBytes`).
    @Sendable static func isImageUpload(_ request: HTTPRequest) -> Bool {
        guard request.method == .post, let path = request.path?.split(separator: "?", maxSplits: 1).first else { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        // "", "api", "v1", "admin", "templates", NAME, "versions"
        return parts.count == 7 && parts[1] == "api" && parts[2] == "v1" && parts[3] == "admin" && parts[4] == "templates"
            && parts[6] == "versions" && request.headerFields[.contentType]?.hasPrefix("application/octet-stream") == true
    }

    /// `docs/openapi.json`, bundled with the server.
    static func openAPIDocument() throws -> Response {
        guard let data = ServerResources.openAPIDocument else {
            throw APIFailure(.notFound, code: "notFound", "the OpenAPI document is not installed")
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
