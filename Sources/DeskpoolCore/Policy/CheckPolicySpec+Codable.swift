/// `spec:` of a CheckPolicy: `checks` (at least one, names unique) and `remediation`
/// (`none`, the default; `refresh`; or `{configPolicy: NAME}`).
extension CheckPolicySpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case selector, checks, remediation
    }

    enum RemediationKeys: String, CodingKey, CaseIterable {
        case configPolicy
    }

    /// The most checks in one policy.
    public static let maxChecks = 100

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "spec of a CheckPolicy")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let selector = try c.decodeSelector(.selector, in: decoder)
        guard c.contains(.checks) else { throw decoder.invalid("spec.checks is required: at least one check") }
        let checks = try c.decode([Check].self, forKey: .checks)
        let checksDecoder = try c.superDecoder(forKey: .checks)
        try checksDecoder.require(!checks.isEmpty, "checks must hold at least one check")
        try checksDecoder.require(checks.count <= Self.maxChecks, "checks may hold at most \(Self.maxChecks) checks")
        var names = Set<String>()
        for (index, check) in checks.enumerated() where !names.insert(check.name).inserted {
            var list = try c.nestedUnkeyedContainer(forKey: .checks)
            for _ in 0..<index { _ = try list.superDecoder() }
            throw try list.superDecoder().invalid("check name '\(check.name)' is used twice; give one of them a name")
        }
        self.init(selector: selector, checks: checks, remediation: try Self.decodeRemediation(c))
    }

    private static func decodeRemediation(_ c: KeyedDecodingContainer<CodingKeys>) throws -> Remediation? {
        guard c.contains(.remediation) else { return nil }
        let d = try c.superDecoder(forKey: .remediation)
        if let text = try? d.singleValueContainer().decode(String.self) {
            switch text {
            case "none": return nil
            case "refresh": return .refresh
            default: throw d.invalid("remediation must be none, refresh or {configPolicy: NAME}, not '\(text)'")
            }
        }
        try d.rejectUnknownKeys(RemediationKeys.self, in: "remediation")
        let name = try d.container(keyedBy: RemediationKeys.self).decode(String.self, forKey: .configPolicy)
        try d.require(DeskpoolConfiguration.isSafeName(name), "remediation.configPolicy must be a policy name, not '\(name)'")
        return .configPolicy(name)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(selector, forKey: .selector)
        try c.encode(checks, forKey: .checks)
        switch remediation {
        case nil: try c.encode("none", forKey: .remediation)
        case .refresh: try c.encode("refresh", forKey: .remediation)
        case .configPolicy(let name):
            var r = c.nestedContainer(keyedBy: RemediationKeys.self, forKey: .remediation)
            try r.encode(name, forKey: .configPolicy)
        }
    }
}
