/// What happens to a pool's sessions over time (`session:` in a pool file).
public struct SessionSettings: Sendable, Hashable, Codable {
    public enum LogoffAction: String, Sendable, Hashable, Codable, CaseIterable {
        /// Destroy the desktop and clone it again from the pool's current version (a dedicated
        /// desktop comes back to its user, fresh).
        case refresh
        /// Shut the desktop down; it starts again at its user's next request (dedicated pools).
        case shutdown
        /// Leave the desktop as it is (dedicated pools: it stays its user's).
        case keep
    }

    /// Seconds a session may stay disconnected before the logoff action (0: never).
    public var disconnectTimeoutSeconds = 900
    /// Default: refresh for floating pools, keep for dedicated pools.
    public var logoffAction: LogoffAction?
    /// Longest session in seconds from assignment (0: no limit); the user is warned first.
    public var maxSessionSeconds = 0
    /// Seconds before the end of the longest session that the user is warned on their desktop.
    public var warningSeconds = 300
    /// Seconds an assigned desktop nobody connected to is kept before it is released (0: never).
    public var unconnectedTimeoutSeconds = 600

    public init() {}

    /// The action for a pool with `assignment`.
    public func action(for assignment: PoolSpec.Assignment) -> LogoffAction {
        logoffAction ?? (assignment == .floating ? .refresh : .keep)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case disconnectTimeoutSeconds, logoffAction, maxSessionSeconds, warningSeconds, unconnectedTimeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "session")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        disconnectTimeoutSeconds = try c.decodeBounded(.disconnectTimeoutSeconds, 0...604_800) ?? disconnectTimeoutSeconds
        maxSessionSeconds = try c.decodeBounded(.maxSessionSeconds, 0...2_592_000) ?? maxSessionSeconds
        warningSeconds = try c.decodeBounded(.warningSeconds, 0...86_400) ?? warningSeconds
        unconnectedTimeoutSeconds = try c.decodeBounded(.unconnectedTimeoutSeconds, 0...604_800) ?? unconnectedTimeoutSeconds
        if let text = try c.decodeIfPresent(String.self, forKey: .logoffAction) {
            guard let action = LogoffAction(rawValue: text) else {
                throw try c.superDecoder(forKey: .logoffAction).invalid("session.logoffAction must be refresh, shutdown or keep, not '\(text)'")
            }
            logoffAction = action
        }
    }
}
