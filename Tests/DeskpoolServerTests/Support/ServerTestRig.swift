import DeskpoolCore
import DeskpoolServer
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore

/// The HTTP server on the broker core with a fake hypervisor, an in-memory SQLite store and a
/// fake authenticator. Users: alice and bob (group `staff`), carol (no groups), root
/// (`deskpool-admins`); each one's password is "NAME-pw". erin (staff) is asked a one-time code
/// (`ServerTestRig.code`) after her password, and the pools' factor service `deskpool-otp` asks
/// her that code alone; frank's password must change. Pool `eng` (floating, staff) is created by
/// `withEngPool`.
struct ServerTestRig: Sendable {
    static let template = TemplateDefinition(name: "tiny", vcpus: 1, memoryMiB: 256, bootTimeoutSeconds: 5, domainXML: "<domain/>")

    /// erin's one-time code, and the PAM service a pool names as its factor.
    static let code = "246810"
    static let factorService = "deskpool-otp"

    let harness: BrokerHarness
    let fake: FakeHypervisor
    let authenticator: FakeAuthenticator
    let server: DeskpoolHTTPServer

    /// `store`: an in-memory SQLite store unless given (a PostgreSQL one, shared by two rigs
    /// as by two brokers).
    /// `leases`: one of several replicas on `store`.
    /// `gateway`: the gateway's settings (nil: no gateway, `.vv` files point at the hosts).
    /// `challengeSeconds`: how long a login challenge may be answered.
    init(store: (any Store)? = nil, leases: LeaseService.Options? = nil, gateway: GatewayConfiguration? = nil, challengeSeconds: Int = 120,
         configure: (inout HTTPConfiguration) -> Void = { _ in }) async throws {
        fake = FakeHypervisor(host: "h1")
        let store = try store ?? SQLiteStore.inMemory()
        harness = BrokerHarness(store: store, hypervisors: [fake], options: .init(probeInterval: .milliseconds(5)), gateway: gateway, leases: leases)
        try await harness.admin.applyTemplate(Self.template, actor: "admin:test")
        _ = try await harness.admin.publishVersion(template: "tiny", from: .file("/images/tiny.qcow2"), note: "first", actor: "admin:test")
        authenticator = FakeAuthenticator([
            "alice": .init(password: "alice-pw", groups: ["staff"]),
            "bob": .init(password: "bob-pw", groups: ["staff"]),
            "carol": .init(password: "carol-pw"),
            "dave": .init(password: "dave-pw", groups: ["staff"], unusable: true),
            "root": .init(password: "root-pw", groups: ["deskpool-admins"]),
            "erin": .init(password: "erin-pw", groups: ["staff"], code: Self.code),
            "frank": .init(password: "frank-pw", groups: ["staff"], mustChange: true),
        ], factorServices: [Self.factorService])
        var configuration = HTTPConfiguration()
        configuration.loginThrottle.failureDelayMilliseconds = 0  // tests of the delay set their own
        configure(&configuration)
        var services = BrokerServices(
            broker: harness.core, authenticator: authenticator, adminGroup: "deskpool-admins",
            tunnels: { TunnelTotals(open: 2, total: 5, bytesClientToDesktop: 100, bytesDesktopToClient: 900, refused: 1) })
        services.challengeSeconds = challengeSeconds
        server = DeskpoolHTTPServer(services: services, configuration: configuration)
    }

    /// Runs `body` against the router (no sockets).
    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: server.router())
        try await app.test(.router) { client in try await body(client) }
    }

    /// Creates pool `eng` (floating, group staff, max 4, spare `ready`) and runs the broker
    /// until `ready` desktops are ready, then runs `body` with the broker still running.
    func withEngPool(ready: Int = 1, configure: @Sendable (inout PoolSpec) -> Void = { _ in },
                     _ body: @Sendable () async throws -> Void) async throws {
        var pool = PoolSpec(name: "eng", template: "tiny", max: 4, spare: ready, naming: NamePattern("eng-{n:03}"), groups: ["staff"])
        configure(&pool)
        try await harness.admin.applyPool(pool, actor: "admin:test")
        try await harness.running {
            try await harness.wait(for: "\(ready) ready", timeout: .seconds(10)) {
                try await harness.desktops("eng", in: [.ready]).count >= ready
            }
            try await body()
        }
    }
}

/// A logged-in client's credentials.
struct Credentials: Sendable {
    var token: String
    var csrf: String
    var cookie: String

    var bearer: HTTPFields { [.authorization: "Bearer \(token)"] }
    /// The portal's way: the cookie, and the CSRF header for changes.
    var cookieHeaders: HTTPFields { [.cookie: "deskpool_session=\(cookie)", .init("X-CSRF-Token")!: csrf] }
}

extension TestClientProtocol {
    /// Logs in through the API; fails the test on anything but 200.
    func login(_ user: String, _ password: String? = nil) async throws -> Credentials {
        let body = try JSONEncoder().encode(LoginRequest(user: user, password: password ?? "\(user)-pw"))
        return try await execute(uri: "/api/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
                                 body: ByteBuffer(bytes: body)) { response in
            guard response.status == .ok else { throw RigError("login of \(user) answered \(response.status)") }
            let login = try APIJSON.decoder().decode(LoginResponse.self, from: Data(buffer: response.body))
            let setCookie = response.headers[.setCookie] ?? ""
            let cookie = setCookie.split(separator: ";").first.map { String($0.split(separator: "=", maxSplits: 1).last ?? "") } ?? ""
            return Credentials(token: login.token, csrf: login.csrf, cookie: cookie)
        }
    }

    /// A JSON request; returns the status and the body.
    func call(_ method: HTTPRequest.Method, _ uri: String, _ headers: HTTPFields = [:], json: (any Encodable)? = nil,
              raw: String? = nil) async throws -> (status: HTTPResponse.Status, body: Data, headers: HTTPFields) {
        var headers = headers
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: try APIJSON.encoder().encode(json))
            headers[.contentType] = "application/json"
        } else if let raw {
            buffer = ByteBuffer(string: raw)
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        }
        return try await execute(uri: uri, method: method, headers: headers, body: buffer) { response in
            (response.status, Data(buffer: response.body), response.headers)
        }
    }
}

extension Data {
    /// The API error's code, if this is an error body.
    var errorCode: String? { (try? APIJSON.decoder().decode(APIErrorBody.self, from: self))?.error.code }
    /// The field the API error names, if any.
    var errorField: String? { (try? APIJSON.decoder().decode(APIErrorBody.self, from: self))?.error.field }
    func decoded<T: Decodable>(_ type: T.Type) throws -> T { try APIJSON.decoder().decode(T.self, from: self) }
    var text: String { String(decoding: self, as: UTF8.self) }
}

struct RigError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
