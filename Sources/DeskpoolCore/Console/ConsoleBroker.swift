public import Foundation
public import Logging

/// Opens a desktop's console for the user who holds it: mints a fresh one-time ticket, sets it
/// live on the desktop's SPICE display (dropping an earlier client, or refusing, as the pool's
/// console policy says) and returns the `.vv` file that carries it, pointing either at the
/// SPICE gateway (with a signed connect token as its host) or straight at the hypervisor.
public struct ConsoleBroker: Sendable {
    /// What a console request returns.
    public struct Grant: Sendable {
        public var desktop: Desktop
        public var file: VirtViewerFile
        /// When the ticket stops opening the console.
        public var expires: Date
        public var viaGateway: Bool
    }

    let store: any Store
    let hypervisors: [String: any Hypervisor]
    let hosts: [String: HostConfiguration]
    /// nil: no gateway runs; files point straight at the hypervisors.
    let gateway: GatewayConfiguration?
    let tokenKey: ConnectTokenKey
    /// SPICE TLS per host (CA and certificate subject), for hosts that have it.
    let tls: [String: VirtViewerFile.TLS]
    let logger: Logger
    let now: @Sendable () -> Date

    public init(store: any Store, hypervisors: [any Hypervisor], hosts: [HostConfiguration], gateway: GatewayConfiguration?,
                tokenKey: ConnectTokenKey, tls: [String: VirtViewerFile.TLS] = [:],
                logger: Logger = Logger(label: "deskpool.console"), now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(store: store, hosts: Hosts(hypervisors, configurations: hosts), gateway: gateway, tokenKey: tokenKey, tls: tls, logger: logger, now: now)
    }

    public init(store: any Store, hosts: Hosts, gateway: GatewayConfiguration?, tokenKey: ConnectTokenKey, tls: [String: VirtViewerFile.TLS] = [:],
                logger: Logger = Logger(label: "deskpool.console"), now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.hypervisors = hosts.byName
        self.hosts = hosts.configurations
        self.gateway = gateway?.enabled == true ? gateway : nil
        self.tokenKey = tokenKey
        self.tls = tls
        self.logger = logger
        self.now = now
    }

    /// A fresh console for `user`'s desktop. `clientAddress` (the requester's IP) picks the
    /// gateway address the client can reach.
    public func open(desktop id: String, for user: String, clientAddress: String? = nil) async throws(DeskpoolError) -> Grant {
        guard let desktop = try await store.desktop(id: id), desktop.user == user else {
            // Someone else's desktop looks the same as a missing one: ids are not disclosed.
            throw DeskpoolError(.notFound, "you hold no desktop \(id)", field: "desktop")
        }
        guard desktop.state.isInSession else {
            throw DeskpoolError(.conflict, "desktop \(desktop.name) is \(desktop.state.rawValue), not ready for a console yet", field: "desktop")
        }
        guard let pool = try await store.pool(named: desktop.pool) else { throw DeskpoolError(.notFound, "no pool \(desktop.pool)", field: "pool") }
        return try await open(desktop, pool: pool, clientAddress: clientAddress)
    }

    /// `open` for a desktop in session and its pool, as the caller has just read them.
    func open(_ desktop: Desktop, pool: PoolSpec, clientAddress: String?) async throws(DeskpoolError) -> Grant {
        let (desktop, user, hypervisor, host) = try await prepare(desktop, pool: pool)
        let policy = pool.console
        let ticket = ConsoleTicket.mint()
        let expires = now().addingTimeInterval(TimeInterval(policy.ticketSeconds))
        let endpoint = try await hypervisor.setConsolePassword(ticket, validUntil: expires, disconnectClients: policy.takeover == .disconnect,
                                                               onDesktop: desktop.name)
        let viaGateway = gateway != nil && policy.gateway
        let file = try self.file(for: desktop, pool: pool, host: host, endpoint: endpoint, ticket: ticket, clientAddress: clientAddress, viaGateway: viaGateway)
        try await store.audit(AuditEntry(at: now(), actor: user, action: "console.open", subject: "desktop/\(desktop.name)",
                                         detail: "ticket valid \(policy.ticketSeconds) s, \(viaGateway ? "through the gateway" : "direct")"))
        logger.info("console ticket issued", metadata: ["desktop": "\(desktop.name)", "user": "\(user)", "gateway": "\(viaGateway)"])
        await noteTicket(desktop)
        return Grant(desktop: desktop, file: file, expires: expires, viaGateway: viaGateway)
    }

    /// What the console page needs to open a desktop in the browser: where the gateway's
    /// WebSocket relay is, the connect token it admits, the display's port and a fresh
    /// one-time password for it.
    public struct BrowserGrant: Sendable {
        public var desktop: Desktop
        public var pool: PoolSpec
        /// The relay's host name for the page; nil: the page's own.
        public var relayHost: String?
        public var relayPort: Int
        /// The signed connect token (the relay's `token` parameter).
        public var token: String
        /// The browser display's port (the relay's `port` parameter).
        public var displayPort: Int
        public var password: BrowserConsolePassword
        /// When the password stops opening the display.
        public var expires: Date
    }

    /// Whether `pool`'s desktops open in a browser here: the pool allows it and uses the
    /// gateway, and the gateway runs.
    public func offersBrowser(_ pool: PoolSpec) -> Bool { pool.console.browser && pool.console.gateway && gateway != nil }

    /// A browser console for `user`'s desktop (see `open(desktop:for:clientAddress:)`).
    public func openBrowser(desktop id: String, for user: String, clientAddress: String? = nil) async throws(DeskpoolError) -> BrowserGrant {
        guard let desktop = try await store.desktop(id: id), desktop.user == user else {
            throw DeskpoolError(.notFound, "you hold no desktop \(id)", field: "desktop")
        }
        guard let pool = try await store.pool(named: desktop.pool) else { throw DeskpoolError(.notFound, "no pool \(desktop.pool)", field: "pool") }
        return try await openBrowser(desktop, pool: pool, clientAddress: clientAddress)
    }

    /// `openBrowser` for a desktop in session and its pool, as the caller has just read them.
    /// The page reaches the display only through the gateway's relay; SPICE clients connected
    /// now are dropped when the pool's takeover is `disconnect`.
    func openBrowser(_ desktop: Desktop, pool: PoolSpec, clientAddress: String?) async throws(DeskpoolError) -> BrowserGrant {
        let policy = pool.console
        guard policy.browser else {
            throw DeskpoolError(.notEntitled, "pool \(pool.name) does not offer browser consoles (console.browser is false)", field: "pool")
        }
        guard let gateway, policy.gateway else {
            throw DeskpoolError(.conflict, "browser consoles need the gateway, and pool \(pool.name) does not use it "
                                + "(gateway.enabled or console.gateway is false)", field: "pool")
        }
        let (desktop, user, hypervisor, _) = try await prepare(desktop, pool: pool)
        guard let session = desktop.sessionID else {
            throw DeskpoolError(.conflict, "desktop \(desktop.name) has no session", field: "desktop")
        }
        let password = BrowserConsolePassword.mint()
        let expires = now().addingTimeInterval(TimeInterval(policy.ticketSeconds))
        let endpoint = try await hypervisor.setBrowserPassword(password, validUntil: expires, onDesktop: desktop.name)
        guard let displayPort = endpoint.browserPort else {
            throw DeskpoolError(.conflict, "desktop \(desktop.name) has no browser display (it was defined before browser consoles); "
                                + "log off to get a refreshed desktop, or use Connect", field: "desktop")
        }
        if policy.takeover == .disconnect {
            // A SPICE client connected now is the earlier client: a fresh ticket nobody holds drops it.
            _ = try await hypervisor.setConsolePassword(.mint(), validUntil: now(), disconnectClients: true, onDesktop: desktop.name)
        }
        let token = ConnectToken(desktop: desktop.id, session: session, expires: now().addingTimeInterval(TimeInterval(gateway.tokenSeconds)))
        let relay = gateway.browserRelay(forClient: clientAddress)
        try await store.audit(AuditEntry(at: now(), actor: user, action: "console.open", subject: "desktop/\(desktop.name)",
                                         detail: "browser console, password valid \(policy.ticketSeconds) s, through the gateway"))
        logger.info("browser console password issued", metadata: ["desktop": "\(desktop.name)", "user": "\(user)"])
        await noteTicket(desktop)
        return BrowserGrant(desktop: desktop, pool: pool, relayHost: relay.host, relayPort: relay.port, token: token.signed(with: tokenKey),
                            displayPort: displayPort, password: password, expires: expires)
    }

    /// The session's first ticket, for the usage history's ticket phase: written while no
    /// client has connected in the session yet (the store keeps the first). A failure only
    /// loses the phase, never the console.
    private func noteTicket(_ desktop: Desktop) async {
        guard desktop.state == .assigned, desktop.client == nil, let session = desktop.sessionID else { return }
        do {
            try await store.noteUsageTicket(session: session, at: now())
        } catch {
            logger.warning("the ticket's time is not in the usage history", metadata: ["desktop": "\(desktop.name)", "error": "\(error)"])
        }
    }

    /// Checks that the desktop can have a console now (and with `takeover: refuse`, that
    /// nobody is connected), starts a new session on a dedicated desktop kept at the last
    /// logoff, and finds its host.
    private func prepare(_ desktop: Desktop, pool: PoolSpec) async throws(DeskpoolError)
        -> (Desktop, user: String, any Hypervisor, HostConfiguration) {
        guard let user = desktop.user, desktop.state.isInSession else {
            throw DeskpoolError(.conflict, "desktop \(desktop.name) is \(desktop.state.rawValue), not ready for a console yet", field: "desktop")
        }
        var desktop = desktop
        if pool.console.takeover == .refuse, desktop.state == .connected {
            throw DeskpoolError(.conflict, "someone is connected to desktop \(desktop.name); pool \(pool.name) does not allow taking a console over", field: "desktop")
        }
        if desktop.sessionID == nil {
            // A dedicated desktop kept at the last logoff: this request starts a new session.
            guard let started = try await store.transition(desktop.id, .sessionBegun(.new(at: now())), expecting: [desktop.state], actor: user) else {
                throw DeskpoolError(.conflict, "desktop \(desktop.name) changed while opening its console; try again", field: "desktop")
            }
            desktop = started
        }
        guard let hypervisor = hypervisors[desktop.host], let host = hosts[desktop.host] else {
            throw DeskpoolError(.notFound, "host \(desktop.host) is not configured", field: "host")
        }
        return (desktop, user, hypervisor, host)
    }

    private func file(for desktop: Desktop, pool: PoolSpec, host: HostConfiguration, endpoint: ConsoleEndpoint, ticket: ConsoleTicket,
                      clientAddress: String?, viaGateway: Bool) throws(DeskpoolError) -> VirtViewerFile {
        let tls = endpoint.tlsPort == nil ? nil : self.tls[host.name]
        guard endpoint.port != nil || tls != nil else {
            throw DeskpoolError(.hypervisorFailed, "desktop \(desktop.name) has only a TLS console and host \(host.name) has no SPICE TLS settings")
        }
        var target = host.consoleReachableAddress
        var proxy: String?
        if viaGateway, let gateway, let session = desktop.sessionID {
            let token = ConnectToken(desktop: desktop.id, session: session, expires: now().addingTimeInterval(TimeInterval(gateway.tokenSeconds)))
            target = token.signed(with: tokenKey)
            proxy = gateway.proxy(forClient: clientAddress)
        }
        return VirtViewerFile(host: target, port: endpoint.port, tlsPort: endpoint.tlsPort, password: ticket, desktop: desktop.name,
                              pool: pool.name, policy: pool.console, proxy: proxy, tls: tls)
    }

    /// Makes the desktop's console unusable (a random ticket that has already expired) and
    /// drops connected clients: at logoff, when the desktop stays as it is.
    public func revoke(desktop: Desktop) async {
        guard let hypervisor = hypervisors[desktop.host] else { return }
        do {
            _ = try await hypervisor.setConsolePassword(.mint(), validUntil: now(), disconnectClients: true, onDesktop: desktop.name)
        } catch {
            logger.warning("cannot revoke the console", metadata: ["desktop": "\(desktop.name)", "error": "\(error)"])
        }
    }
}
