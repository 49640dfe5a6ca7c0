/// What applying a policy would do, per pool and per desktop: deterministic for the same
/// policy and state (desktops in a fixed order), so two plans can be compared, and what
/// `apply` records as the rollout's items.
public struct PolicyPlan: Sendable, Hashable, Codable {
    /// How a change reaches a desktop.
    public enum Method: String, Sendable, Hashable, Codable {
        /// While it runs, unnoticed by its user (memory within the maximum, console and
        /// session policy, which the broker applies).
        case live
        /// Its definition is changed now; the change takes effect when the guest next starts.
        case restart
        /// Destroyed and cloned again (a new version, or settings only a new clone gets).
        case refresh
        /// A command runs in the guest through its agent.
        case command
        /// Checks read the definition, state and guest.
        case check
        /// Nothing to do.
        case none
    }

    public struct PoolChange: Sendable, Hashable, Codable {
        public var pool: String
        /// What changes for the pool itself ("version 1 -> 2", "memoryMiB 512 -> 1024").
        public var changes: [String]

        public init(pool: String, changes: [String]) {
            self.pool = pool
            self.changes = changes
        }
    }

    /// Why a desktop is not part of a rollout. Encoded as its text (`skipped` in the API).
    public enum SkipReason: Sendable, Hashable, Codable, CustomStringConvertible {
        /// UpdatePolicy: it is on the target version already.
        case alreadyOn(version: Int)
        /// UpdatePolicy: failed or being deleted; its pool makes a new one on its current version.
        case replacedByPool(DesktopState)
        /// UpdatePolicy: a dedicated desktop whose disk is its user's (`dedicated: keep`).
        case keptDedicated
        /// ConfigPolicy: not made yet (provisioning, failed ...); it gets the settings when it is.
        case madeLater(DesktopState)
        /// ConfigPolicy: its definition matches already; its record may move to `generation`.
        case definitionMatches(movesTo: Int?)
        /// GuestCommandPolicy, CheckPolicy: its guest is not running.
        case notRunning(DesktopState)
        /// GuestCommandPolicy: a user has it (`includeInUse: false`).
        case inUse(user: String?)
        /// A reason read back from its text.
        case other(String)

        public var description: String {
            switch self {
            case .alreadyOn(let version): "already on v\(version)"
            case .replacedByPool(let state): "\(state.rawValue): the pool replaces it with a desktop on its current version"
            case .keptDedicated: DedicatedUpdate.keptReason
            case .madeLater(let state): "\(state.rawValue): it gets the pool's settings when it is made"
            case .definitionMatches(let generation):
                "its definition already matches" + (generation.map { "; its record moves to generation \($0)" } ?? "")
            case .notRunning(let state): "\(state.rawValue): its guest is not running"
            case .inUse(let user): "in use by \(user ?? "a user") (includeInUse: false)"
            case .other(let text): text
            }
        }

        public init(from decoder: any Decoder) throws { self = .other(try decoder.singleValueContainer().decode(String.self)) }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(description)
        }
    }

    public struct DesktopChange: Sendable, Hashable, Codable {
        public var desktopID: String
        public var desktop: String
        public var pool: String
        public var state: DesktopState
        public var user: String?
        /// The rollout's wave (0 first; the canary when the strategy has one). Nil: not part
        /// of the rollout (`skipped` says why).
        public var wave: Int?
        public var from: String
        public var to: String
        /// Each change, with how it reaches the desktop ("memoryMiB 512 -> 1024 (live)").
        public var changes: [String]
        public var method: Method
        /// What the desktop's user will notice, and when.
        public var impact: String
        public var skipped: SkipReason?

        public init(desktopID: String, desktop: String, pool: String, state: DesktopState, user: String?, wave: Int?, from: String, to: String,
                    changes: [String], method: Method, impact: String, skipped: SkipReason? = nil) {
            self.desktopID = desktopID
            self.desktop = desktop
            self.pool = pool
            self.state = state
            self.user = user
            self.wave = wave
            self.from = from
            self.to = to
            self.changes = changes
            self.method = method
            self.impact = impact
            self.skipped = skipped
        }
    }

    public var policy: String
    public var kind: Policy.Kind
    public var pools: [PoolChange]
    public var desktops: [DesktopChange]
    public var waves: Int

    public init(policy: String, kind: Policy.Kind, pools: [PoolChange], desktops: [DesktopChange], waves: Int) {
        self.policy = policy
        self.kind = kind
        self.pools = pools
        self.desktops = desktops
        self.waves = waves
    }

    /// Desktops the rollout will act on.
    public var included: [DesktopChange] { desktops.filter { $0.wave != nil } }
}
