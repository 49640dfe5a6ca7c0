public import Foundation

/// A pool's spares and sessions at one time: the reconciler (the replica that sizes the pools)
/// records one per pool every `interval`, for the usage page's chart of sessions against
/// capacity. Kept as long as the usage history (`broker.usageRetentionDays`).
public struct CapacitySample: Sendable, Hashable, Codable {
    public var pool: String
    public var at: Date
    /// Ready, running spares.
    public var ready: Int
    /// Spares saved to disk (and being saved).
    public var saved: Int
    /// Desktops in a session (assigned, connected, disconnected).
    public var inUse: Int
    /// Desktops being made, started, refreshed or restarted.
    public var preparing: Int

    public init(pool: String, at: Date, ready: Int, saved: Int, inUse: Int, preparing: Int) {
        self.pool = pool
        self.at = at
        self.ready = ready
        self.saved = saved
        self.inUse = inUse
        self.preparing = preparing
    }

    /// How often the reconciler records a sample of each pool.
    public static let interval: TimeInterval = 300

    /// A pool's sample at `at` from its desktops.
    public init(pool: String, at: Date, desktops: [Desktop]) {
        let capacity = PoolCapacity(desktops)
        self.init(pool: pool, at: at, ready: capacity.ready, saved: capacity.saved,
                  inUse: capacity.assigned + capacity.connected + capacity.disconnected, preparing: capacity.provisioning)
    }
}
