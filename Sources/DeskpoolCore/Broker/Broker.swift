public import Foundation
public import Logging
public import ServiceLifecycle

/// The broker, built once from a store, its hosts and its configuration: the reconciler, the
/// session and console brokers, session tracking, rollouts and admin actions, wired to each
/// other here and nowhere else. `deskpool serve`, the test harness and the benchmarks each
/// build one; the HTTP layer only translates to and from it.
public struct Broker: Sendable {
    /// What a broker is built with besides its store and hosts.
    public struct Configuration: Sendable {
        public var reconciler: ReconcilerService.Options
        public var sessions: SessionService.Options
        public var rollouts: RolloutService.Options
        /// nil: no gateway runs; `.vv` files point straight at the hypervisors.
        public var gateway: GatewayConfiguration?
        /// Signs the connect tokens the gateway checks.
        public var tokenKey: ConnectTokenKey
        /// SPICE TLS per host (CA and certificate subject), for hosts that have it.
        public var tls: [String: VirtViewerFile.TLS]
        public var images: ImageImportConfiguration
        public var templatePolicy: DomainXMLPolicy
        /// The services' timers (sweeps, ticks, passes, boot probes); `now` gives the dates.
        public var clock: any Clock<Duration>
        /// One of several replicas on a shared store: the work is shared through leases. nil:
        /// the broker is alone on its store and does all of it.
        public var leases: LeaseService.Options?

        public init(reconciler: ReconcilerService.Options = .init(), sessions: SessionService.Options = .init(),
                    rollouts: RolloutService.Options = .init(), gateway: GatewayConfiguration? = nil, tokenKey: ConnectTokenKey = .random(),
                    tls: [String: VirtViewerFile.TLS] = [:], images: ImageImportConfiguration = ImageImportConfiguration(),
                    templatePolicy: DomainXMLPolicy = DomainXMLPolicy(), clock: any Clock<Duration> = ContinuousClock(),
                    leases: LeaseService.Options? = nil) {
            self.leases = leases
            self.reconciler = reconciler
            self.sessions = sessions
            self.rollouts = rollouts
            self.gateway = gateway
            self.tokenKey = tokenKey
            self.tls = tls
            self.images = images
            self.templatePolicy = templatePolicy
            self.clock = clock
        }
    }

    /// What a desktop request gives.
    public enum DesktopAnswer: Sendable {
        /// The user's desktop is running: its console (ticket and `.vv`).
        case console(ConsoleBroker.Grant)
        /// The user's desktop is running: what its browser console page needs.
        case browser(ConsoleBroker.BrowserGrant)
        /// A desktop is being prepared for the user; ask again in about `estimateSeconds`.
        case preparing(Desktop, estimateSeconds: Int)
        /// The pool is at its max and nothing is free.
        case exhausted
    }

    public let store: any Store
    public let hosts: Hosts
    public let estimator: ReadyEstimator
    /// Keeps pools at their size and drives desktops through their states.
    public let reconciler: ReconcilerService
    /// Hands desktops to users and takes them back.
    public let sessions: SessionBroker
    /// Console tickets and `.vv` files.
    public let consoles: ConsoleBroker
    /// Follows console connections and ends sessions on their limits.
    public let tracking: SessionService
    /// Carries rollouts out.
    public let rollouts: RolloutService
    /// Plans and applies policies; pauses, resumes, cancels and rolls back rollouts.
    public let policies: PolicyRollouts
    /// Admin actions on templates, pools and desktops.
    public let admin: Administration
    /// The gateway's record of which client is behind which tunnel.
    public let addresses: ClientAddressBook
    /// The gateway's view of consoles (token → desktop).
    public let directory: StoreConsoleDirectory
    /// The replica's leases (nil: the broker is alone on its store).
    public let leases: LeaseService?

    /// - Parameter logger: the logger of each part, by label (`deskpool.reconciler`, ...).
    public init(store: any Store, hosts: Hosts, configuration: Configuration = Configuration(),
                logger: @Sendable (String) -> Logger = { Logger(label: $0) }, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.hosts = hosts
        let estimator = ReadyEstimator()
        self.estimator = estimator
        let leases = configuration.leases.map {
            LeaseService(store: store, options: $0, hosts: hosts.configured.map(\.name), logger: logger("deskpool.leases"))
        }
        self.leases = leases
        let ownership: any Ownership = leases ?? SoleOwnership()
        let reconciler = ReconcilerService(store: store, hosts: hosts, options: configuration.reconciler, estimator: estimator,
                                           logger: logger("deskpool.reconciler"), now: now, clock: configuration.clock, ownership: ownership)
        self.reconciler = reconciler
        let consoles = ConsoleBroker(store: store, hosts: hosts, gateway: configuration.gateway, tokenKey: configuration.tokenKey,
                                     tls: configuration.tls, logger: logger("deskpool.console"), now: now)
        self.consoles = consoles
        let sessions = SessionBroker(store: store, estimator: estimator, placement: { await reconciler.place($0) },
                                     onNewDesktop: { reconciler.poke() }, revokeConsole: { await consoles.revoke(desktop: $0) },
                                     hosts: { hosts.connectedness() }, now: now)
        self.sessions = sessions
        let addresses = ClientAddressBook()
        self.addresses = addresses
        let tracking = SessionService(store: store, hypervisors: hosts.all, sessions: sessions, addresses: addresses,
                                      options: configuration.sessions, logger: logger("deskpool.sessions"), now: now, clock: configuration.clock,
                                      ownership: ownership)
        self.tracking = tracking
        let rollouts = RolloutService(store: store, hosts: hosts, sessions: sessions, options: configuration.rollouts,
                                      logger: logger("deskpool.rollouts"), now: now, reconcile: { reconciler.poke() }, clock: configuration.clock,
                                      ownership: ownership)
        self.rollouts = rollouts
        // Work taken over starts at once, not at the next timer.
        leases?.onGain { work in
            switch work {
            case .host(let host):
                reconciler.poke()
                tracking.gained(host: host)
            case .pools: reconciler.poke()
            case .rollouts: rollouts.poke()
            case .replica: break
            }
        }
        self.policies = PolicyRollouts(store: store, hosts: hosts, now: now, poke: { rollouts.poke(); reconciler.poke() })
        self.admin = Administration(store: store, hypervisors: hosts.all, hostNames: hosts.configured.map(\.name),
                                    images: configuration.images, templatePolicy: configuration.templatePolicy,
                                    secrets: configuration.reconciler.secrets.names)
        self.directory = StoreConsoleDirectory(store: store, hosts: hosts)
    }

    /// The broker's loops, to run in a `ServiceGroup`: the leases (first: stopped last, so
    /// they are released once the work stopped), the reconciler, session tracking and
    /// rollouts.
    public var services: [any Service] { (leases.map { [$0] } ?? []) + [reconciler, tracking, rollouts] }

    /// Wakes the reconciler (after an admin change).
    public func poke() { reconciler.poke() }

    // MARK: - Use cases

    /// A user's request for a desktop of `pool`: the one they hold, a ready one claimed, or
    /// a new one reserved; with a console when it runs. The pool and the desktop are read
    /// once. With `another`, one more desktop, up to the pool's `maxPerUser`.
    /// `console` says which kind: a `.vv` file, or a browser console (refused before anything
    /// is claimed when the pool does not offer one).
    public func requestDesktop(_ principal: SessionBroker.Principal, pool: String, another: Bool = false,
                               clientAddress: String? = nil, console: ConsoleKind = .spice) async throws(DeskpoolError) -> DesktopAnswer {
        if console == .browser, let spec = try await store.pool(named: pool), !spec.console.browser {
            throw DeskpoolError(.notEntitled, "pool \(pool) does not offer browser consoles (console.browser is false)", field: "pool")
        }
        let (answer, spec) = try await sessions.decide(principal, pool: pool, another: another)
        switch answer {
        case .assigned(let desktop) where console == .browser:
            return .browser(try await consoles.openBrowser(desktop, pool: spec, clientAddress: clientAddress))
        case .assigned(let desktop): return .console(try await consoles.open(desktop, pool: spec, clientAddress: clientAddress))
        case .preparing(let desktop, let estimate): return .preparing(desktop, estimateSeconds: estimate)
        case .exhausted: return .exhausted
        }
    }

    /// Ends `user`'s session on their desktop. Another user's desktop, or one not in a
    /// session, is `.notFound` (ids are not disclosed).
    @discardableResult
    public func logoff(desktop id: String, user: String) async throws(DeskpoolError) -> Desktop {
        guard let desktop = try await store.desktop(id: id), desktop.user == user, desktop.state.isInSession else {
            throw DeskpoolError(.notFound, "you have no session on desktop \(id.prefix(64))", field: "desktop")
        }
        return try await sessions.logoff(desktop, by: user, reason: "logged off by the user")
    }

    /// Ends whoever's session is on the desktop, on an admin's word.
    @discardableResult
    public func logoff(desktop id: String, admin: String) async throws(DeskpoolError) -> Desktop {
        let desktop = try await self.admin.desktop(id)
        guard desktop.state.isInSession else {
            throw DeskpoolError(.notFound, "desktop \(desktop.name) has no session", field: "id")
        }
        return try await sessions.logoff(desktop, by: Administration.actor(admin), reason: "logged off by admin \(admin)")
    }
}
