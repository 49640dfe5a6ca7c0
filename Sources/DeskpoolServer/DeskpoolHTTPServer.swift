public import DeskpoolCore
import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HTTPTypes
public import Logging
import NIOSSL

/// The broker's HTTP side: the JSON API under `/api/v1`, the portal, `/metrics`, `/healthz`
/// and the OpenAPI document, behind security headers, error mapping, login sessions and a
/// body limit.
public struct DeskpoolHTTPServer: Sendable {
    public let services: BrokerServices
    public let configuration: HTTPConfiguration
    public let metrics: ServerMetrics
    public let logins: LoginSessions
    let gate: LoginGate

    public init(services: BrokerServices, configuration: HTTPConfiguration, metrics: ServerMetrics = ServerMetrics()) {
        self.services = services
        self.configuration = configuration
        self.metrics = metrics
        self.logins = LoginSessions(maxAge: TimeInterval(configuration.sessionHours * 3600),
                                    idle: TimeInterval(configuration.sessionIdleMinutes * 60), now: services.now)
        self.gate = LoginGate(authenticator: services.authenticator, policy: configuration.loginThrottle.policy, now: services.now)
    }

    /// Every route, with its middleware.
    public func router() -> Router<BrokerRequestContext> {
        let router = Router(context: BrokerRequestContext.self)
        let methods = MethodNotAllowedMiddleware<BrokerRequestContext>()
        router.add(middleware: SecurityHeadersMiddleware(tls: configuration.tls != nil))
        router.add(middleware: APIErrorMiddleware())
        router.add(middleware: methods)
        router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodyBytes))
        router.add(middleware: AuthenticationMiddleware(logins: logins))

        let auth = AuthRoutes(services: services, logins: logins, gate: gate, metrics: metrics, configuration: configuration)
        let desktops = DesktopRequests(services: services, metrics: metrics)
        let api = router.group("api/v1")
        auth.add(to: api)
        UserRoutes(services: services, desktops: desktops).add(to: api)
        let admin = api.group("admin")
        AdminPoolRoutes(services: services).add(to: admin)
        AdminDesktopRoutes(services: services).add(to: admin)
        AdminTemplateRoutes(services: services).add(to: admin)
        AdminSystemRoutes(services: services).add(to: admin)
        AdminRolloutRoutes(services: services).add(to: admin)
        api.get("openapi.json") { _, _ in try Self.openAPIDocument() }
        router.get("healthz") { _, _ in try jsonResponse(["status": "ok"]) }
        MetricsRoutes(services: services, metrics: metrics, logins: logins).add(to: router)
        PortalRoutes(services: services, auth: auth, desktops: desktops, logins: logins).add(to: router)
        methods.install(router.routes)
        return router
    }

    /// The application `deskpool serve` runs (HTTPS when `http.tls` is set).
    public func application(logger: Logger) throws -> some ApplicationProtocol {
        let server: HTTPServerBuilder
        if let tls = configuration.tls {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
                server = try .tls(.http1(), tlsConfiguration: TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: NIOSSLPrivateKeySource.privateKey(key)))
            } catch {
                throw DeskpoolError(.invalidInput, "http.tls: cannot load the certificate or key (\(error))", field: "http.tls")
            }
        } else {
            server = .http1()
        }
        return Application(router: router(), server: server,
                           configuration: .init(address: .hostname(configuration.listen, port: configuration.port), serverName: "deskpool"),
                           logger: logger)
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
