/// `GET /api/v1/admin/usage` without `bucket`: the sessions open in the period.
public struct UsageSessions: Sendable, Hashable, Codable {
    public var sessions: [UsageRecord]
    public init(sessions: [UsageRecord]) { self.sessions = sessions }
}

/// `GET /api/v1/admin/usage?bucket=hour|day|week`: the period summed by interval.
public struct UsageBuckets: Sendable, Hashable, Codable {
    public var interval: String
    public var buckets: [UsageBucket]
    public init(interval: String, buckets: [UsageBucket]) {
        self.interval = interval
        self.buckets = buckets
    }
}
