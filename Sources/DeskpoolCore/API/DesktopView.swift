public import Foundation

/// A desktop as the API shows it: the record without its session id (which connect tokens
/// carry) or bookkeeping counters.
public struct DesktopView: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var pool: String
    public var host: String
    public var template: String
    public var version: Int
    public var state: DesktopState
    public var reason: String?
    public var user: String?
    public var sessionStartedAt: Date?
    public var client: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(_ desktop: Desktop) {
        id = desktop.id
        name = desktop.name
        pool = desktop.pool
        host = desktop.host
        template = desktop.template
        version = desktop.version
        state = desktop.state
        reason = desktop.reason
        user = desktop.user
        sessionStartedAt = desktop.sessionStartedAt
        client = desktop.client
        createdAt = desktop.createdAt
        updatedAt = desktop.updatedAt
    }
}

/// The answer 202 to a desktop request while one is being prepared: ask `poll` again after
/// about `estimateSeconds`.
public struct PreparingAnswer: Sendable, Hashable, Codable {
    public var state = "preparing"
    public var desktop: DesktopView
    public var estimateSeconds: Int
    public var poll: String
    public init(desktop: DesktopView, estimateSeconds: Int, poll: String) {
        self.desktop = desktop
        self.estimateSeconds = estimateSeconds
        self.poll = poll
    }
}

/// A pool as a user sees it (`GET /api/v1/pools`).
public struct UserPoolView: Sendable, Hashable, Codable {
    public var name: String
    public var assignment: PoolSpec.Assignment
    /// Spares waiting for users: ready ones, and saved ones (resumed in seconds).
    public var available: Int
    /// Seconds to prepare a new desktop when none is ready.
    public var estimateSeconds: Int
    /// The desktops of this pool the user holds.
    public var desktops: [DesktopView]
    /// Whether the pool's desktops open in a browser (`?console=browser`).
    public var browserConsole: Bool
    /// The pool asks for a further login (its factor) that this login has not passed yet:
    /// `POST /api/v1/pools/{pool}/factor` first.
    public var factorRequired: Bool
    public init(name: String, assignment: PoolSpec.Assignment, available: Int, estimateSeconds: Int, desktops: [DesktopView],
                browserConsole: Bool = false, factorRequired: Bool = false) {
        self.name = name
        self.assignment = assignment
        self.available = available
        self.estimateSeconds = estimateSeconds
        self.desktops = desktops
        self.browserConsole = browserConsole
        self.factorRequired = factorRequired
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        assignment = try c.decode(PoolSpec.Assignment.self, forKey: .assignment)
        available = try c.decode(Int.self, forKey: .available)
        estimateSeconds = try c.decode(Int.self, forKey: .estimateSeconds)
        desktops = try c.decode([DesktopView].self, forKey: .desktops)
        browserConsole = try c.decodeIfPresent(Bool.self, forKey: .browserConsole) ?? false
        factorRequired = try c.decodeIfPresent(Bool.self, forKey: .factorRequired) ?? false
    }
}

/// `POST /api/v1/admin/desktops/{id}/assign`.
public struct AssignRequest: Sendable, Hashable, Codable {
    public var user: String
    public init(user: String) { self.user = user }
}

/// The answer to a desktop request for a browser console (`?console=browser`): how a page
/// reaches the desktop's display through the gateway's WebSocket relay. Open
/// `ws(s)://HOST:PORT/console?token=TOKEN&port=DISPLAYPORT` (HOST: `relay.host`, or the page's
/// own host name when it is null) and authenticate to the VNC display with `password`.
public struct BrowserConsoleView: Sendable, Hashable, Codable {
    public struct Relay: Sendable, Hashable, Codable {
        public var host: String?
        public var port: Int
        public var path: String

        public init(host: String?, port: Int, path: String) {
            self.host = host
            self.port = port
            self.path = path
        }

        enum CodingKeys: String, CodingKey { case host, port, path }

        /// `host` is always there, `null` for the page's own host name.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(host, forKey: .host)
            try c.encode(port, forKey: .port)
            try c.encode(path, forKey: .path)
        }
    }

    public var desktop: DesktopView
    public var relay: Relay
    public var token: String
    public var displayPort: Int
    public var password: String
    /// When `password` stops opening the display (a console open then stays open).
    public var expires: Date

    public init(_ grant: ConsoleBroker.BrowserGrant) {
        desktop = DesktopView(grant.desktop)
        relay = Relay(host: grant.relayHost, port: grant.relayPort, path: "/console")
        token = grant.token
        displayPort = grant.displayPort
        password = grant.password.secret
        expires = grant.expires
    }
}
