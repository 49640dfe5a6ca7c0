/// How many of a pool's desktops are in which state.
public struct PoolCapacity: Sendable, Hashable, Codable {
    public var total = 0
    public var ready = 0
    /// Spares saved to disk, and being saved.
    public var saved = 0
    public var assigned = 0
    public var connected = 0
    public var disconnected = 0
    /// Provisioning, starting, refreshing and restarting.
    public var provisioning = 0
    public var failed = 0
    /// Stopping, off and deleting.
    public var other = 0

    public init() {}

    public init(_ desktops: [Desktop]) {
        total = desktops.count
        for desktop in desktops {
            switch desktop.state {
            case .ready: ready += 1
            case .saving, .saved: saved += 1
            case .assigned: assigned += 1
            case .connected: connected += 1
            case .disconnected: disconnected += 1
            case .provisioning, .starting, .refreshing, .restarting: provisioning += 1
            case .failed: failed += 1
            case .stopping, .off, .deleting: other += 1
            }
        }
    }
}

/// A pool as admins see it: its spec (the keys of a pool file), whether it is being deleted,
/// and its desktops by state.
public struct PoolView: Sendable, Hashable, Codable {
    public var spec: PoolSpec
    public var draining: Bool
    public var capacity: PoolCapacity
    public init(spec: PoolSpec, capacity: PoolCapacity) {
        self.spec = spec
        self.draining = spec.draining
        self.capacity = capacity
    }
}

/// `POST /api/v1/admin/pools/{name}/scale`: the sizes to change; absent ones stay.
public struct ScaleRequest: Sendable, Hashable, Codable {
    public var min: Int?
    public var max: Int?
    /// Running spares (a number: a `spare: auto` pool gets fixed ones).
    public var spare: Int?
    /// Saved spares.
    public var saved: Int?
    public init(min: Int? = nil, max: Int? = nil, spare: Int? = nil, saved: Int? = nil) {
        self.min = min
        self.max = max
        self.spare = spare
        self.saved = saved
    }
}

/// `PUT /api/v1/admin/pools/{name}/entitlements`: who may use the pool (replaces both lists).
public struct EntitlementsRequest: Sendable, Hashable, Codable {
    public var users: [String]
    public var groups: [String]
    public init(users: [String], groups: [String]) {
        self.users = users
        self.groups = groups
    }
}

extension PoolView {
    enum CodingKeys: String, CodingKey { case spec, draining, capacity }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        spec = try c.decode(PoolSpec.self, forKey: .spec)
        draining = try c.decode(Bool.self, forKey: .draining)
        capacity = try c.decode(PoolCapacity.self, forKey: .capacity)
        spec.draining = draining
    }
}
