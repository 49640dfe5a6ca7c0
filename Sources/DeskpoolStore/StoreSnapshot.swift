public import DeskpoolCore

/// Everything a store holds, row by row (specs and records as their stored JSON), for the
/// one-way copy of an installation from SQLite to PostgreSQL (`deskpool local store copy`):
/// version numbers, pool generations, audit ids and their order come across as they were.
public struct StoreSnapshot: Sendable {
    public struct Pool: Sendable, Hashable {
        public var name: String
        public var spec: String
        public var generation: Int
        public var draining: Bool
    }

    public struct RolloutRow: Sendable, Hashable {
        public var id: String
        public var policy: String
        public var state: String
        public var record: String
        public var createdAt: Int64
    }

    public struct ItemRow: Sendable, Hashable {
        public var rollout: String
        public var desktop: String
        public var position: Int
        public var record: String
    }

    /// Template name -> its definition's JSON.
    public var templates: [String: String] = [:]
    public var versions: [TemplateVersion] = []
    /// Template name -> the highest version number ever handed out.
    public var counters: [String: Int] = [:]
    public var pools: [Pool] = []
    public var desktops: [Desktop] = []
    public var rollouts: [RolloutRow] = []
    public var items: [ItemRow] = []
    /// Oldest first, with their ids.
    public var audit: [AuditEntry] = []
    /// The usage history, oldest request first.
    public var usage: [UsageRecord] = []
    /// Pools' capacity samples, oldest first.
    public var capacity: [CapacitySample] = []

    public init() {}

    /// What it holds, for the command's report.
    public var summary: String {
        "\(templates.count) template(s), \(versions.count) version(s), \(pools.count) pool(s), \(desktops.count) desktop(s), "
            + "\(rollouts.count) rollout(s) with \(items.count) item(s), \(audit.count) audit entries, \(usage.count) session(s) of usage history, \(capacity.count) capacity sample(s)"
    }
}
