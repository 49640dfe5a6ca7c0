public import DeskpoolCore
public import Foundation

/// What the HTTP layer talks to: the broker (built once by `deskpool serve` or a test), the
/// authenticator (PAM, or a fake in tests), the admin group and the gateway's counters.
public struct BrokerServices: Sendable {
    public var broker: Broker
    public var authenticator: any Authenticator
    /// Members of this group are admins.
    public var adminGroup: String
    /// The SPICE gateway's counters (nil: no gateway runs).
    public var tunnels: @Sendable () async -> TunnelTotals?
    public var now: @Sendable () -> Date
    /// How long a login challenge may be answered (`authentication.challengeSeconds`).
    public var challengeSeconds = 120

    public init(broker: Broker, authenticator: any Authenticator, adminGroup: String,
                tunnels: @escaping @Sendable () async -> TunnelTotals? = { nil }, now: @escaping @Sendable () -> Date = { Date() }) {
        self.broker = broker
        self.authenticator = authenticator
        self.adminGroup = adminGroup
        self.tunnels = tunnels
        self.now = now
    }

    var admin: Administration { broker.admin }
    /// Policies and rollouts (plan, apply, pause, resume, cancel, roll back).
    var rollouts: PolicyRollouts { broker.policies }
    var hosts: Hosts { broker.hosts }

    /// Wakes the reconciler after an admin change.
    func poke() { broker.poke() }
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
