public import Foundation

/// Which replica runs what, for admins (`GET /api/v1/admin/replicas`, `deskpool hosts`, the
/// hosts page). A broker alone on its store has no replicas and no leases.
public struct ReplicasView: Sendable, Hashable, Codable {
    /// The replica that answered; nil when the broker is alone on its store.
    public var replica: String?
    /// The replicas alive now (their heartbeat lease runs).
    public var replicas: [String]
    /// Each piece of work (`host/NAME`, `pools`, `rollouts`) and who runs it.
    public var work: [WorkOwner]

    public init(replica: String?, replicas: [String], work: [WorkOwner]) {
        self.replica = replica
        self.replicas = replicas
        self.work = work
    }
}

/// One piece of work and the replica that holds its lease (nil: no one now; it is taken
/// over within the lease time).
public struct WorkOwner: Sendable, Hashable, Codable {
    public var work: String
    public var owner: String?
    /// The lease's generation: one more at each change of owner.
    public var generation: Int64?
    /// When the owner's lease runs out unless renewed.
    public var expiresAt: Date?

    public init(work: String, owner: String?, generation: Int64?, expiresAt: Date?) {
        self.work = work
        self.owner = owner
        self.generation = generation
        self.expiresAt = expiresAt
    }
}
