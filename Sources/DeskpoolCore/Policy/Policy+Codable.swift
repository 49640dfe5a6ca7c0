// A policy decodes strictly from its file's YAML and encodes to JSON of the same shape
// (`apiVersion`, `kind`, `metadata`, `spec`), so a policy kept in a rollout record or returned
// by the API decodes back through the same checks.

extension Policy: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case apiVersion, kind, metadata, spec
    }

    enum MetadataKeys: String, CodingKey, CaseIterable {
        case name, description
    }

    /// The longest `metadata.description`.
    public static let maxDescriptionLength = 1000

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "the policy")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = try c.decode(String.self, forKey: .apiVersion)
        guard version == Self.apiVersion else {
            throw try c.superDecoder(forKey: .apiVersion).invalid("apiVersion '\(version)' is not supported; use \(Self.apiVersion)")
        }
        let kindText = try c.decode(String.self, forKey: .kind)
        guard let kind = Kind(rawValue: kindText) else {
            let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw try c.superDecoder(forKey: .kind).invalid("kind '\(kindText)' is not a policy kind (one of \(kinds))")
        }
        guard c.contains(.metadata) else { throw decoder.invalid("metadata is required (metadata.name names the policy)") }
        let metadataDecoder = try c.superDecoder(forKey: .metadata)
        try metadataDecoder.rejectUnknownKeys(MetadataKeys.self, in: "metadata")
        let metadata = try metadataDecoder.container(keyedBy: MetadataKeys.self)
        name = try metadata.decode(String.self, forKey: .name)
        guard DeskpoolConfiguration.isSafeName(name) else {
            throw try metadata.superDecoder(forKey: .name).invalid(
                "metadata.name '\(name)' must be letters, digits, '.', '_' or '-' (at most 64)")
        }
        description = try metadata.decodeText(.description, "metadata.description", limit: Self.maxDescriptionLength)
        guard c.contains(.spec) else {
            throw decoder.invalid("spec is required")
        }
        switch kind {
        case .config: spec = .config(try c.decode(ConfigPolicySpec.self, forKey: .spec))
        case .update: spec = .update(try c.decode(UpdatePolicySpec.self, forKey: .spec))
        case .guestCommand: spec = .guestCommand(try c.decode(GuestCommandPolicySpec.self, forKey: .spec))
        case .check: spec = .check(try c.decode(CheckPolicySpec.self, forKey: .spec))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.apiVersion, forKey: .apiVersion)
        try c.encode(kind.rawValue, forKey: .kind)
        var metadata = c.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
        try metadata.encode(name, forKey: .name)
        try metadata.encodeIfPresent(description, forKey: .description)
        switch spec {
        case .config(let s): try c.encode(s, forKey: .spec)
        case .update(let s): try c.encode(s, forKey: .spec)
        case .guestCommand(let s): try c.encode(s, forKey: .spec)
        case .check(let s): try c.encode(s, forKey: .spec)
        }
    }
}

extension PoolSelector: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case pools, labels
    }

    /// `selector:` of every kind: `pools` (names) and/or `labels` (pairs every selected pool has).
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "selector")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pools = try c.decodeSafeNames(.pools, "selector.pools") ?? []
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        for (key, value) in labels where !DeskpoolConfiguration.isSafeName(key) || !DeskpoolConfiguration.isSafeName(value) {
            throw try c.superDecoder(forKey: .labels).invalid(
                "selector.labels: '\(key): \(value)' must be a name and a value of letters, digits, '.', '_' or '-'")
        }
        try decoder.require(!pools.isEmpty || !labels.isEmpty, "selector must name pools or labels (a policy never selects every pool by default)")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if !pools.isEmpty { try c.encode(pools, forKey: .pools) }
        if !labels.isEmpty { try c.encode(labels, forKey: .labels) }
    }
}

extension KeyedDecodingContainer {
    /// The required `selector:` of a spec.
    func decodeSelector(_ key: Key, in decoder: any Decoder) throws -> PoolSelector {
        guard contains(key) else {
            throw decoder.invalid("spec.selector is required: the pools (or labels) the policy applies to")
        }
        return try decode(PoolSelector.self, forKey: key)
    }
}
