public import Foundation

/// A piece of work one broker replica runs at a time, as the store records it: who holds it,
/// its generation (one more at each change of holder; writes made under the lease carry it)
/// and until when. Expiry is the store's own clock (PostgreSQL's for a shared store), so
/// replicas' clocks need not agree.
public struct Lease: Sendable, Hashable, Codable {
    public var name: String
    public var holder: String
    public var generation: Int64
    public var expiresAt: Date
    /// Not expired by the store's clock when read.
    public var live: Bool

    public init(name: String, holder: String, generation: Int64, expiresAt: Date, live: Bool) {
        self.name = name
        self.holder = holder
        self.generation = generation
        self.expiresAt = expiresAt
        self.live = live
    }

    /// The work a lease stands for.
    public enum Work: Sendable, Hashable, CustomStringConvertible {
        /// One host: its recovery and orphans, driving its desktops through their states,
        /// its console events and session policies.
        case host(String)
        /// Pool sizes: which desktops to create, retire or discard (the host owner drives them).
        case pools
        /// Every rollout.
        case rollouts
        /// A replica's heartbeat: it is alive, and counts for the fair share.
        case replica(String)

        public var description: String {
            switch self {
            case .host(let name): "host/\(name)"
            case .pools: "pools"
            case .rollouts: "rollouts"
            case .replica(let id): "replica/\(id)"
            }
        }

        public init?(_ name: String) {
            if name == "pools" { self = .pools } else if name == "rollouts" { self = .rollouts } else if name.hasPrefix("host/") {
                self = .host(String(name.dropFirst(5)))
            } else if name.hasPrefix("replica/") {
                self = .replica(String(name.dropFirst(8)))
            } else {
                return nil
            }
        }
    }
}

/// The lease a task's store writes are made under: every write checks, in its own
/// transaction, that the lease still has this generation, and is refused with `leaseLost`
/// otherwise. So a replica that lost a lease (paused, cut off, slow) changes nothing once
/// another replica took the work over.
public struct LeaseFence: Sendable, Hashable {
    public var name: String
    public var generation: Int64

    public init(name: String, generation: Int64) {
        self.name = name
        self.generation = generation
    }

    /// The fence of the running task (and its child tasks); nil: writes are not fenced.
    @TaskLocal public static var current: LeaseFence?

    /// The error a fenced write gets once the lease moved on.
    public func lost(holder: String?) -> DeskpoolError {
        DeskpoolError(.leaseLost, "this broker no longer holds the lease \(name) (generation \(generation))"
                      + (holder.map { "; \($0) holds it now" } ?? ""))
    }
}

/// Which work this broker may do now. A broker alone on its store does all of it
/// (`SoleOwnership`); replicas on a shared store hold leases (`LeaseService`).
public protocol Ownership: Sendable {
    /// Whether this broker may do `work` now, and the fence its writes go under (nil fence:
    /// nothing to check, the broker is alone). nil: another replica does it.
    func holding(_ work: Lease.Work) -> Holding?
}

/// What `Ownership.holding` grants.
public struct Holding: Sendable, Hashable {
    /// The fence writes for this work carry; nil when the broker is alone on its store.
    public var fence: LeaseFence?
    public init(fence: LeaseFence?) { self.fence = fence }

    /// Runs `body` with its store writes under this holding's fence.
    public func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await LeaseFence.$current.withValue(fence) { try await body() }
    }
}

/// A broker alone on its store (SQLite, one process): it does everything, unfenced.
public struct SoleOwnership: Ownership {
    public init() {}
    public func holding(_ work: Lease.Work) -> Holding? { Holding(fence: nil) }
}
