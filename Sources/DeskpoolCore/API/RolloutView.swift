/// `POST /api/v1/admin/policies/{validate,plan}` and `POST /api/v1/admin/rollouts`: a policy
/// file's text (YAML, as in `policies/`), and the file name errors are reported against.
public struct PolicySource: Sendable, Hashable, Codable {
    public var source: String
    public var file: String?

    public init(source: String, file: String? = nil) {
        self.source = source
        self.file = file
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case source, file }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "the request")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(String.self, forKey: .source)
        file = try c.decodeIfPresent(String.self, forKey: .file)
    }
}

/// A policy that parsed: what the file is.
public struct PolicySummary: Sendable, Hashable, Codable {
    public var name: String
    public var kind: Policy.Kind
    public var description: String?
    public var pools: PoolSelector

    public init(_ policy: Policy) {
        name = policy.name
        kind = policy.kind
        description = policy.description
        pools = policy.selector
    }
}

/// A rollout with its desktops' progress, for the API, CLI and portal.
public struct RolloutView: Sendable, Hashable, Codable {
    public var rollout: Rollout
    /// Items by status.
    public var counts: [String: Int]
    public var items: [RolloutItem]

    public init(rollout: Rollout, items: [RolloutItem]) {
        self.rollout = rollout
        self.items = items
        var counts = Dictionary(uniqueKeysWithValues: RolloutItem.Status.allCases.map { ($0.rawValue, 0) })
        for item in items { counts[item.status.rawValue, default: 0] += 1 }
        self.counts = counts
    }

    /// Desktops settled (done, failed, skipped, rolled back) out of all.
    public var settled: Int { items.filter(\.status.isSettled).count }
}
