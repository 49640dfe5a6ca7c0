import DeskpoolCore
import Foundation

struct PoolContent {
    struct DesktopRow {
        var id: String
        var desktopName: String
        var state: String
        var holder: String
        var host: String
        var version: Int
        var updated: Stamp
        var since: Stamp?
        var clientAddress: String
        var why: String
    }

    var poolName: String
    var template: String
    var version: String
    var assignment: String
    var min: Int
    var max: Int
    var spare: String
    var maxPerUser: Int
    var naming: String
    var users: String
    var groups: String
    var hosts: String
    var disconnectTimeout: String
    var generation: Int
    var draining: Bool
    var capacity: CapacityContent
    var desktops: [DesktopRow]
    var sessions: [DesktopRow]
    var hasDesktops: Bool
    var hasSessions: Bool
    /// The pool's further login, when it has one.
    var factor: String?
    var usage: UsageContent?
    /// `spare: auto`: the forecast now and the spares it asks for.
    var forecast: ForecastContent?
    /// The schedule's entries, the one that holds now marked.
    var schedule: [ScheduleRow] = []
    var hasSchedule = false

    struct ScheduleRow {
        var days: String
        var window: String
        var timezone: String
        var sizes: String
        var active: Bool
    }

    /// The schedule as rows, the entry that holds at `now` marked.
    mutating func showSchedule(of pool: PoolSpec, at now: Date) {
        let holding = pool.scheduleEntry(at: now)?.index
        schedule = pool.schedule.enumerated().map { index, entry in
            ScheduleRow(days: entry.days.map(\.rawValue).joined(separator: ", "),
                        window: "\(ScheduleEntry.clock(entry.from))–\(ScheduleEntry.clock(entry.to))",
                        timezone: entry.timezone,
                        sizes: "\(entry.min ?? pool.min) / \(entry.max ?? pool.max) / \(entry.spare.map(String.init) ?? (pool.forecast == nil ? String(pool.spare) : "auto"))"
                            + ((entry.saved ?? pool.savedSpare) > 0 ? " + \(entry.saved ?? pool.savedSpare) saved" : ""),
                        active: index == holding)
        }
        hasSchedule = !schedule.isEmpty
    }

    init(_ pool: PoolSpec, desktops: [Desktop]) {
        func list(_ names: [String], none: String) -> String { names.isEmpty ? none : names.joined(separator: ", ") }
        poolName = pool.name
        template = pool.template
        version = pool.version.description
        assignment = pool.assignment.rawValue
        min = pool.min
        max = pool.max
        spare = pool.sparesText
        maxPerUser = pool.maxPerUser
        naming = pool.naming.description
        users = list(pool.users, none: "none")
        groups = list(pool.groups, none: "none")
        hosts = list(pool.hosts, none: "any")
        disconnectTimeout = "\(pool.session.disconnectTimeoutSeconds) s"
        generation = pool.generation
        draining = pool.draining
        factor = pool.factor
        capacity = CapacityContent(PoolCapacity(desktops), max: pool.max)
        let rows = desktops.map { d in
            DesktopRow(id: d.id, desktopName: d.name, state: d.state.rawValue, holder: d.user ?? "—", host: d.host, version: d.version,
                       updated: Stamp(d.updatedAt), since: d.sessionStartedAt.map(Stamp.init), clientAddress: d.client ?? "—",
                       why: d.reason ?? "")
        }
        self.desktops = rows
        sessions = zip(desktops, rows).filter { $0.0.state.isInSession }.map(\.1)
        hasDesktops = !rows.isEmpty
        hasSessions = !sessions.isEmpty
    }
}

/// A pool's use over a period, from the usage history: sessions, users, the most at once,
/// session hours, and the wait for a desktop (median and 95th percentile).
struct UsageContent {
    struct Period {
        var days: Int
        var label: String
        var current: Bool
    }

    var days: Int
    var periods: [Period]
    var sessions: Int
    var users: Int
    var peakSessions: Int
    var sessionHours: String
    var waitP50: String
    var waitP95: String
    /// Medians of the wait's phases: making a desktop, booting it, and the first connection.
    var phases: String
    var csvLink: String
    /// The period's charts (`/admin/pools/NAME/usage`).
    var chartsLink: String

    static let choices = [(1, "day"), (7, "7 days"), (30, "30 days"), (90, "90 days")]

    init(pool: String, days: Int, summary: UsageBucket) {
        self.days = days
        periods = Self.choices.map { Period(days: $0.0, label: $0.1, current: $0.0 == days) }
        sessions = summary.sessions
        users = summary.users
        peakSessions = summary.peakSessions
        sessionHours = String(format: "%.1f", summary.sessionHours)
        waitP50 = summary.waitP50Seconds.map { Self.seconds($0) } ?? "—"
        waitP95 = summary.waitP95Seconds.map { Self.seconds($0) } ?? "—"
        phases = [("making", summary.provisioningP50Seconds), ("booting", summary.bootP50Seconds), ("to the first ticket", summary.ticketP50Seconds),
                  ("to the first connection", summary.connectP50Seconds)]
            .map { "\($0.0) \($0.1.map { Self.seconds($0) } ?? "—")" }.joined(separator: ", ")
        let from = summary.start.formatted(.iso8601).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        csvLink = "/api/v1/admin/usage?pool=\(pool)&from=\(from)&format=csv"
        chartsLink = "/admin/pools/\(pool)/usage?days=\(days)"
    }

    static func seconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f s", value) : String(format: "%.0f s", value)
    }
}

/// What `spare: auto` forecasts for a pool now, and what the reconciler makes of it.
struct ForecastContent {
    var window: String
    var weeks: String
    var expected: String
    var spares: Int
    var buffer: Int
    /// A schedule entry's own spare holds now (the forecast rests).
    var resting: Bool
    var ready: Int
    var saved: Int

    init(_ forecast: SpareForecast, settings: SpareForecastSettings, pool: PoolSpec, at now: Date, capacity: PoolCapacity) {
        let clock = { (date: Date) in String(Stamp(date).iso.dropFirst(11).prefix(5)) }  // 2026-12-07T08:45:00Z
        window = "\(clock(forecast.from))–\(clock(forecast.to)) UTC"
        weeks = forecast.perWeek.isEmpty ? "no history yet"
            : forecast.perWeek.map(String.init).joined(separator: ", ") + " (the last week first, over \(settings.weeks) weeks)"
        expected = forecast.expected.map(String.init) ?? "—"
        spares = pool.sized(at: now, forecast: forecast).spare
        buffer = settings.buffer
        resting = pool.scheduled(at: now).forecast == nil
        ready = capacity.ready
        saved = capacity.saved
    }
}
