public import Foundation

/// Where the broker's connection to one host stands (`HostLinkMachine`): what the hosts API,
/// `/readyz`, `/healthz` and doctor show, and what decides whether a request that needs the
/// host is tried or answered at once with `hypervisorUnavailable`.
public struct HostStatus: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// The first connection is being made.
        case connecting
        /// Connected again after a drop; the broker's recovery pass for the host has not
        /// finished, so no new desktop is placed there yet. Requests are served.
        case recovering
        /// Connected and in service.
        case connected
        /// Not connected: the broker retries at `retryAt`.
        case away
    }

    public var state: State
    /// When the host entered `state`.
    public var since: Date
    /// Why the host is away, in the broker's words (libvirt's own text goes to the log).
    public var lastError: String?
    /// When the next connection attempt is due (`away` only).
    public var retryAt: Date?
    /// Attempts that failed since the host was last connected.
    public var failedAttempts: Int
    /// Connections made so far (1 after the first; each reconnect adds one). A recovery
    /// pass is for one generation.
    public var generation: Int

    public init(state: State, since: Date, lastError: String? = nil, retryAt: Date? = nil, failedAttempts: Int = 0, generation: Int = 0) {
        self.state = state
        self.since = since
        self.lastError = lastError
        self.retryAt = retryAt
        self.failedAttempts = failedAttempts
        self.generation = generation
    }

    /// A host connected at `since` (fakes, and hosts without supervision).
    public static func connected(since: Date = Date(), generation: Int = 1) -> HostStatus {
        HostStatus(state: .connected, since: since, generation: generation)
    }

    /// Whether requests may use the host now.
    public var isConnected: Bool { state == .connected || state == .recovering }

    /// Whether new desktops may be placed on the host.
    public var inService: Bool { state == .connected }

    /// Seconds a client should wait before asking again (at least 1, at most 30).
    public func retryAfterSeconds(now: Date) -> Int {
        guard let retryAt else { return 1 }
        return max(1, min(30, Int(retryAt.timeIntervalSince(now).rounded(.up))))
    }

    /// The error for a request that needs the host while it is not connected.
    public func unavailable(host: String, operation: String, now: Date = Date()) -> DeskpoolError {
        let why = switch state {
        case .connecting: "the broker is connecting to it"
        case .away: "it is not connected (the broker reconnects by itself)"
        case .recovering, .connected: "its connection dropped"
        }
        return DeskpoolError(.hypervisorUnavailable, "\(operation): host \(host) is unavailable: \(why); try again shortly",
                             retryAfterSeconds: retryAfterSeconds(now: now))
    }
}
