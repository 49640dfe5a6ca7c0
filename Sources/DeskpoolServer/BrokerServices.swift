public import DeskpoolCore
public import Foundation

/// Everything the HTTP layer asks of the broker, injected by `deskpool serve` (real hosts,
/// PAM) or by tests (a fake hypervisor, a fake authenticator).
public struct BrokerServices: Sendable {
    public var store: any Store
    public var sessions: SessionBroker
    public var consoles: ConsoleBroker
    public var admin: Administration
    public var authenticator: any Authenticator
    public var hypervisors: [any Hypervisor]
    public var hosts: [HostConfiguration]
    public var estimator: ReadyEstimator
    /// Members of this group are admins.
    public var adminGroup: String
    /// The SPICE gateway's counters (nil: no gateway runs).
    public var tunnels: @Sendable () async -> TunnelTotals?
    /// Policies and rollouts (plan, apply, pause, resume, cancel, roll back).
    public var rollouts: PolicyRollouts
    /// Wakes the reconciler after an admin change.
    public var poke: @Sendable () -> Void
    public var now: @Sendable () -> Date

    public init(store: any Store, sessions: SessionBroker, consoles: ConsoleBroker, admin: Administration,
                authenticator: any Authenticator, hypervisors: [any Hypervisor], hosts: [HostConfiguration],
                estimator: ReadyEstimator, adminGroup: String, tunnels: @escaping @Sendable () async -> TunnelTotals? = { nil },
                rollouts: PolicyRollouts? = nil, poke: @escaping @Sendable () -> Void = {}, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.sessions = sessions
        self.consoles = consoles
        self.admin = admin
        self.authenticator = authenticator
        self.hypervisors = hypervisors
        self.hosts = hosts
        self.estimator = estimator
        self.adminGroup = adminGroup
        self.tunnels = tunnels
        self.rollouts = rollouts ?? PolicyRollouts(store: store, hypervisors: hypervisors, now: now, poke: poke)
        self.poke = poke
        self.now = now
    }

    func hypervisor(_ host: String) -> (any Hypervisor)? {
        hypervisors.first { $0.host == host }
    }
}

/// The SPICE gateway's counters, for `/metrics`.
public struct TunnelTotals: Sendable, Hashable {
    public var open: Int
    public var total: Int
    public var bytesClientToDesktop: Int
    public var bytesDesktopToClient: Int
    public var refused: Int
    public init(open: Int, total: Int, bytesClientToDesktop: Int, bytesDesktopToClient: Int, refused: Int) {
        self.open = open
        self.total = total
        self.bytesClientToDesktop = bytesClientToDesktop
        self.bytesDesktopToClient = bytesDesktopToClient
        self.refused = refused
    }
}
