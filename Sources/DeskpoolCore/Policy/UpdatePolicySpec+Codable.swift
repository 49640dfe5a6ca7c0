/// `spec:` of an UpdatePolicy:
///
/// ```yaml
/// spec:
///   selector: {pools: [demo]}
///   version: latest            # or a version number from 1
///   logoff: {mode: forceAfter, after: 15m}
///   strategy: {canary: 1, waveSize: 25%}
///   dedicated: keep            # or replace: re-clone dedicated desktops (destroys their users' data)
/// ```
extension UpdatePolicySpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case selector, version, logoff, strategy, dedicated
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "spec of an UpdatePolicy")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let selector = try c.decodeSelector(.selector, in: decoder)
        var version = PoolSpec.VersionChoice.latest
        let expecting = "latest or a version number from 1"
        if let text = try c.decodeScalarText(.version, "version", expecting: expecting) {
            if text == "latest" {
                version = .latest
            } else if text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text), n >= 1 {
                version = .pinned(n)
            } else {
                throw try c.superDecoder(forKey: .version).invalid("version must be \(expecting), not '\(text)'")
            }
        }
        var dedicated = DedicatedUpdate.keep
        if let text = try c.decodeScalarText(.dedicated, "dedicated", expecting: "keep or replace") {
            guard let value = DedicatedUpdate(rawValue: text) else {
                throw try c.superDecoder(forKey: .dedicated).invalid("dedicated must be keep or replace, not '\(text)'")
            }
            dedicated = value
        }
        self.init(selector: selector, version: version,
                  logoff: try c.decodeIfPresent(LogoffMode.self, forKey: .logoff) ?? .waitForLogoff,
                  strategy: try c.decodeIfPresent(RolloutStrategy.self, forKey: .strategy) ?? RolloutStrategy(), dedicated: dedicated)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(selector, forKey: .selector)
        switch version {
        case .latest: try c.encode("latest", forKey: .version)
        case .pinned(let n): try c.encode(n, forKey: .version)
        }
        try c.encode(logoff, forKey: .logoff)
        try c.encode(strategy, forKey: .strategy)
        // Only when not the default, as in the file: the JSON mirrors what was written.
        if dedicated != .keep { try c.encode(dedicated.rawValue, forKey: .dedicated) }
    }
}

/// `logoff:` of ConfigPolicy and UpdatePolicy: `{mode: waitForLogoff}` (the default) or
/// `{mode: forceAfter, after: 15m, message: "..."}`.
extension LogoffMode: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case mode, after, message
    }

    /// The longest warning shown before a forced logoff.
    public static let maxMessageLength = 500
    /// The longest grace period before a forced logoff.
    public static let maxGraceSeconds = 86_400

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "logoff")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "waitForLogoff"
        switch mode {
        case "waitForLogoff":
            for key in [CodingKeys.after, .message] where c.contains(key) {
                throw try c.superDecoder(forKey: key).invalid("logoff.\(key.stringValue) is only for mode forceAfter")
            }
            self = .waitForLogoff
        case "forceAfter":
            guard let seconds = try c.decodeDuration(.after, "logoff.after", 0...Self.maxGraceSeconds) else {
                throw decoder.invalid("logoff.after is required with mode forceAfter: how long users are warned before they are logged off")
            }
            let message = try c.decodeText(.message, "logoff.message", limit: Self.maxMessageLength, singleLine: true)
            if let message, message.allSatisfy(\.isWhitespace) {
                throw try c.superDecoder(forKey: .message).invalid("logoff.message must not be empty (leave it out for the default warning)")
            }
            self = .forceAfter(seconds: seconds, message: message ?? Self.defaultWarning)
        default:
            throw try c.superDecoder(forKey: .mode).invalid("logoff.mode must be waitForLogoff or forceAfter, not '\(mode)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .waitForLogoff:
            try c.encode("waitForLogoff", forKey: .mode)
        case .forceAfter(let seconds, let message):
            try c.encode("forceAfter", forKey: .mode)
            try c.encode(seconds, forKey: .after)
            try c.encode(message, forKey: .message)
        }
    }
}
