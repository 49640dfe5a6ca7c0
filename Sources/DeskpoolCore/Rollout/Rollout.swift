public import Foundation

/// One application of a policy: persisted when an admin applies it, then carried out by
/// `RolloutService` wave by wave. The record holds the policy's text as applied (parsed again
/// by the one strict decoder whenever the broker loads it), what each pool moves from and to,
/// and where the rollout is; each desktop's progress is a `RolloutItem`.
public struct Rollout: Sendable, Hashable, Codable, Identifiable {
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        /// Changing desktops, wave by wave.
        case running
        /// Stopped by an admin: desktops being changed finish, no new one starts.
        case paused
        /// Stopped because a wave failed its health gate (without automatic rollback): the
        /// changed desktops stay changed until an admin resumes or rolls back.
        case halted
        /// Taking the changed desktops back to what they were.
        case rollingBack
        case rolledBack
        /// Stopped for good by an admin; changed desktops stay changed, the rest stay as they were.
        case cancelled
        case completed

        /// The rollout is over; nothing will change it any more.
        public var isFinal: Bool { self == .rolledBack || self == .cancelled || self == .completed }

        /// The states of rollouts that are not over.
        public static let active = Set(allCases.filter { !$0.isFinal })
    }

    /// What one pool moves from and to.
    public struct PoolChange: Sendable, Hashable, Codable {
        public var pool: String
        /// The version the pool's desktops were on (UpdatePolicy), restored by a rollback.
        public var fromVersion: Int?
        public var toVersion: Int?
        /// The pool's configuration generation before and after (ConfigPolicy).
        public var fromGeneration: Int?
        public var toGeneration: Int?
        /// The pool's spec before the rollout changed it, restored by a rollback.
        public var previousSpec: PoolSpec?

        public init(pool: String, fromVersion: Int? = nil, toVersion: Int? = nil, fromGeneration: Int? = nil, toGeneration: Int? = nil,
                    previousSpec: PoolSpec? = nil) {
            self.pool = pool
            self.fromVersion = fromVersion
            self.toVersion = toVersion
            self.fromGeneration = fromGeneration
            self.toGeneration = toGeneration
            self.previousSpec = previousSpec
        }
    }

    public var id: String
    /// The policy's `metadata.name`.
    public var policy: String
    public var kind: Policy.Kind
    /// The policy file's text as applied.
    public var source: String
    public var state: State
    /// Why the rollout halted, rolled back or was cancelled.
    public var reason: String?
    public var pools: [PoolChange]
    /// The wave being worked on (0 is the canary when there is one).
    public var wave: Int
    public var waves: Int
    /// Whether the canary wave passed its gate (so the pools now use the new version).
    public var canaryPassed: Bool
    public var createdAt: Date
    public var createdBy: String
    public var updatedAt: Date

    public init(id: String = UUID().uuidString.lowercased(), policy: String, kind: Policy.Kind, source: String, state: State = .running,
                reason: String? = nil, pools: [PoolChange], wave: Int = 0, waves: Int, canaryPassed: Bool = false,
                createdAt: Date, createdBy: String, updatedAt: Date? = nil) {
        self.id = id
        self.policy = policy
        self.kind = kind
        self.source = source
        self.state = state
        self.reason = reason
        self.pools = pools
        self.wave = wave
        self.waves = waves
        self.canaryPassed = canaryPassed
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.updatedAt = updatedAt ?? createdAt
    }

    public func change(of pool: String) -> PoolChange? { pools.first { $0.pool == pool } }
}
