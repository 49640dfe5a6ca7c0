/// `strategy:` of ConfigPolicy and UpdatePolicy. Every key is optional (defaults: canary 1,
/// waveSize 25%, maxUnavailable 1, failureThreshold 1, autoRollback true, no window, health
/// gate 10m with agent and display). A strategy that cannot make progress (a wave of 0, no
/// desktop allowed out of service) is refused.
extension RolloutStrategy: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case canary, waveSize, maxUnavailable, failureThreshold, autoRollback, window, healthGate
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "strategy")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        canary = try c.decodeCount(.canary, "strategy.canary", minimum: 0) ?? canary
        waveSize = try c.decodeCount(.waveSize, "strategy.waveSize", minimum: 1) ?? waveSize
        maxUnavailable = try c.decodeCount(.maxUnavailable, "strategy.maxUnavailable", minimum: 1) ?? maxUnavailable
        failureThreshold = try c.decodeCount(.failureThreshold, "strategy.failureThreshold", minimum: 1) ?? failureThreshold
        autoRollback = try c.decodeIfPresent(Bool.self, forKey: .autoRollback) ?? autoRollback
        window = try c.decodeIfPresent(MaintenanceWindow.self, forKey: .window)
        healthGate = try c.decodeIfPresent(HealthGate.self, forKey: .healthGate) ?? healthGate
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(canary, forKey: .canary)
        try c.encode(waveSize, forKey: .waveSize)
        try c.encode(maxUnavailable, forKey: .maxUnavailable)
        try c.encode(failureThreshold, forKey: .failureThreshold)
        try c.encode(autoRollback, forKey: .autoRollback)
        try c.encodeIfPresent(window, forKey: .window)
        try c.encode(healthGate, forKey: .healthGate)
    }
}

/// `3` or `"25%"`: a count from 0 to `PoolSpec.maxDesktops`, or a percentage from 1% to 100%.
extension DesktopCount: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text: String
        if let string = try? c.decode(String.self) { text = string }
        else if let number = try? c.decode(Int.self) { text = String(number) }
        else { throw decoder.invalid("\(decoder.pathName) must be a number of desktops or a percentage such as 25%") }
        guard let count = PolicyValues.desktopCount(text) else {
            throw decoder.invalid("\(decoder.pathName) must be a number of desktops or a percentage such as 25%, not '\(text)'")
        }
        switch count {
        case .count(let n):
            try decoder.require(n <= PoolSpec.maxDesktops, "\(decoder.pathName) must be at most \(PoolSpec.maxDesktops) desktops, not \(n)")
        case .percent(let p):
            try decoder.require((1...100).contains(p), "\(decoder.pathName) must be a percentage from 1% to 100%, not \(text)")
        }
        self = count
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .count(let n): try c.encode(n)
        case .percent: try c.encode(description)
        }
    }
}

extension KeyedDecodingContainer {
    /// An optional desktop count of at least `minimum` desktops when absolute.
    func decodeCount(_ key: Key, _ name: String, minimum: Int) throws -> DesktopCount? {
        guard let count = try decodeIfPresent(DesktopCount.self, forKey: key) else { return nil }
        if case .count(let n) = count, n < minimum {
            let why = minimum == 1 ? " (0 would never make progress)" : ""
            throw try superDecoder(forKey: key).invalid("\(name) must be at least \(minimum)\(why), not \(n)")
        }
        return count
    }
}

/// `healthGate: {timeout: 10m, agent: true, display: true}`.
extension HealthGate: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case timeout, agent, display
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "healthGate")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        timeoutSeconds = try c.decodeDuration(.timeout, "healthGate.timeout", 1...86_400) ?? timeoutSeconds
        agent = try c.decodeIfPresent(Bool.self, forKey: .agent) ?? agent
        display = try c.decodeIfPresent(Bool.self, forKey: .display) ?? display
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(timeoutSeconds, forKey: .timeout)
        try c.encode(agent, forKey: .agent)
        try c.encode(display, forKey: .display)
    }
}

extension Decoder {
    /// The dotted path of this decoder's node (`strategy.waveSize`), for messages.
    var pathName: String {
        let path = codingPath.map(\.stringValue).filter { $0 != "spec" }.joined(separator: ".")
        return path.isEmpty ? "value" : path
    }
}
