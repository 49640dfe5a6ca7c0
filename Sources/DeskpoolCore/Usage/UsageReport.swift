public import Foundation

/// One interval of a usage report: sessions begun, distinct users, the most sessions open at
/// once, session time, and how long users waited for their desktop.
public struct UsageBucket: Sendable, Hashable, Codable {
    public var start: Date
    public var end: Date
    /// Sessions requested in the interval.
    public var sessions: Int
    /// Distinct users with a session open at some time in the interval.
    public var users: Int
    /// The most sessions open at once in the interval.
    public var peakSessions: Int
    /// Hours of sessions within the interval (a session across two intervals counts in each
    /// for its part).
    public var sessionHours: Double
    /// Wait from request to a running desktop, of the sessions requested in the interval that
    /// got one: median and 95th percentile, in seconds.
    public var waitP50Seconds: Double?
    public var waitP95Seconds: Double?
    /// The wait's phases (`UsageRecord`), medians in seconds, of the sessions requested in the
    /// interval that had them: making a desktop, booting it, and from running to the first
    /// console connection.
    public var provisioningP50Seconds: Double?
    public var bootP50Seconds: Double?
    public var connectP50Seconds: Double?
    /// Of those, from running to the first console ticket (median, seconds).
    public var ticketP50Seconds: Double?

    public init(start: Date, end: Date, sessions: Int = 0, users: Int = 0, peakSessions: Int = 0, sessionHours: Double = 0,
                waitP50Seconds: Double? = nil, waitP95Seconds: Double? = nil) {
        self.start = start
        self.end = end
        self.sessions = sessions
        self.users = users
        self.peakSessions = peakSessions
        self.sessionHours = sessionHours
        self.waitP50Seconds = waitP50Seconds
        self.waitP95Seconds = waitP95Seconds
    }
}

/// Usage records summed into intervals: pure, for the API, the CSV export and the pages.
public enum UsageReport {
    public enum Interval: String, Sendable, Hashable, CaseIterable {
        case hour, day, week

        var seconds: TimeInterval {
            switch self {
            case .hour: 3600
            case .day: 86_400
            case .week: 7 * 86_400
            }
        }
    }

    /// Intervals a report may have at most (a year of hours fits).
    public static let maxIntervals = 10_000

    /// The intervals of `interval` covering `from` ..< `to` (aligned to UTC: hours, days, and
    /// weeks from Monday 00:00), each with what `records` say of it; a session not ended counts
    /// as open until `now`. Nil when that would be more than `maxIntervals`.
    public static func buckets(_ records: [UsageRecord], from: Date, to: Date, interval: Interval, now: Date) -> [UsageBucket]? {
        // 1970-01-01 was a Thursday: weeks start 4 days later, on Monday 1970-01-05.
        let origin: TimeInterval = interval == .week ? 4 * 86_400 : 0
        let first = ((from.timeIntervalSince1970 - origin) / interval.seconds).rounded(.down) * interval.seconds + origin
        let count = Int(((to.timeIntervalSince1970 - first) / interval.seconds).rounded(.up))
        guard count >= 0, count <= maxIntervals else { return nil }
        return (0..<count).map { index in
            let start = Date(timeIntervalSince1970: first + Double(index) * interval.seconds)
            return bucket(records, start: start, end: start.addingTimeInterval(interval.seconds), now: now)
        }
    }

    /// What `records` say of `start` ..< `end` as one interval (a pool's page over a period).
    public static func summary(_ records: [UsageRecord], from start: Date, to end: Date, now: Date) -> UsageBucket {
        bucket(records, start: start, end: end, now: now)
    }

    static func bucket(_ records: [UsageRecord], start: Date, end: Date, now: Date) -> UsageBucket {
        var result = UsageBucket(start: start, end: end)
        var users = Set<String>()
        var edges: [(at: Date, delta: Int)] = []
        var waits: [Double] = [], provisioning: [Double] = [], boots: [Double] = [], connects: [Double] = [], tickets: [Double] = []
        for record in records {
            let opened = record.requestedAt, closed = record.endedAt ?? max(now, record.requestedAt)
            if opened >= start, opened < end {
                result.sessions += 1
                if let wait = record.waitSeconds { waits.append(wait) }
                if let value = record.provisioningSeconds { provisioning.append(value) }
                if let value = record.bootSeconds { boots.append(value) }
                if let value = record.connectSeconds { connects.append(value) }
                if let value = record.ticketSeconds { tickets.append(value) }
            }
            let from = max(opened, start), to = min(closed, end)
            // Open in the interval: overlapping it, or a session of no length inside it.
            guard from < to || (opened == closed && opened >= start && opened < end) else { continue }
            users.insert(record.user)
            result.sessionHours += to.timeIntervalSince(from) / 3600
            edges.append((from, 1))
            edges.append((to, -1))
        }
        // Ends before starts at the same instant: a session that ends as another begins is not
        // two at once.
        var open = 0
        for edge in edges.sorted(by: { $0.at != $1.at ? $0.at < $1.at : $0.delta < $1.delta }) {
            open += edge.delta
            result.peakSessions = max(result.peakSessions, open)
        }
        if result.peakSessions == 0, !users.isEmpty { result.peakSessions = 1 }
        result.users = users.count
        waits.sort()
        result.waitP50Seconds = percentile(waits, 0.5)
        result.waitP95Seconds = percentile(waits, 0.95)
        result.provisioningP50Seconds = percentile(provisioning.sorted(), 0.5)
        result.bootP50Seconds = percentile(boots.sorted(), 0.5)
        result.connectP50Seconds = percentile(connects.sorted(), 0.5)
        result.ticketP50Seconds = percentile(tickets.sorted(), 0.5)
        return result
    }

    /// The `p` quantile of sorted values (nearest rank); nil for none.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }
}
