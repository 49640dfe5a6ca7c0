/// One policy file (`policies/*.yaml`): `apiVersion: deskpool/v1`, a `kind`, `metadata.name`
/// and a `spec` of that kind. A policy selects pools and says what to change or check on
/// their desktops; `PolicyPlanner` turns it into a per-desktop plan and a rollout runs it.
public struct Policy: Sendable, Hashable {
    public static let apiVersion = "deskpool/v1"

    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case config = "ConfigPolicy"
        case update = "UpdatePolicy"
        case guestCommand = "GuestCommandPolicy"
        case check = "CheckPolicy"
    }

    public enum Spec: Sendable, Hashable {
        case config(ConfigPolicySpec)
        case update(UpdatePolicySpec)
        case guestCommand(GuestCommandPolicySpec)
        case check(CheckPolicySpec)
    }

    /// `metadata.name`: a safe name (letters, digits, '.', '_', '-'), unique among policies.
    public var name: String
    /// `metadata.description`: free text for admins (shown escaped, never interpreted).
    public var description: String?
    public var spec: Spec

    public init(name: String, description: String? = nil, spec: Spec) {
        self.name = name
        self.description = description
        self.spec = spec
    }

    public var kind: Kind {
        switch spec {
        case .config: .config
        case .update: .update
        case .guestCommand: .guestCommand
        case .check: .check
        }
    }

    public var selector: PoolSelector {
        switch spec {
        case .config(let s): s.selector
        case .update(let s): s.selector
        case .guestCommand(let s): s.selector
        case .check(let s): s.selector
        }
    }
}

/// Which pools a policy applies to: pools named in `pools`, and pools whose labels include
/// every pair of `labels`. At least one of the two must be given; both select the union.
public struct PoolSelector: Sendable, Hashable {
    public var pools: [String]
    public var labels: [String: String]

    public init(pools: [String] = [], labels: [String: String] = [:]) {
        self.pools = pools
        self.labels = labels
    }

    public func selects(_ pool: PoolSpec) -> Bool {
        pools.contains(pool.name) || (!labels.isEmpty && labels.allSatisfy { pool.labels[$0.key] == $0.value })
    }
}
