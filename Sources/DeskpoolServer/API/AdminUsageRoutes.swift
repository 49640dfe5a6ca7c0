public import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

/// `/api/v1/admin/usage`: the usage history (every desktop session: who, which pool and
/// desktop, when asked for, running, connected, ended and why), as sessions or summed into
/// hours, days or weeks; JSON, or CSV with `format=csv` or `Accept: text/csv`.
struct AdminUsageRoutes {
    let services: BrokerServices

    /// The longest period one query may cover.
    static let maxDays = 400
    /// Sessions one answer lists at most (a longer period: sum it with `bucket`).
    static let maxSessions = 10_000

    func add(to admin: RouterGroup<DeskpoolRequestContext>) {
        admin.get("usage") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let (query, interval) = try Self.query(request, now: services.now())
            let records = try await services.broker.usage(query)
            let csv = Self.wantsCSV(request)
            guard let interval else {
                guard records.count < Self.maxSessions else {
                    throw APIFailure(.badRequest, code: "invalidInput",
                                     "more than \(Self.maxSessions - 1) sessions in the period: shorten it or sum it with bucket=hour|day|week",
                                     field: "from")
                }
                if csv { return Self.csvResponse(UsageCSV.sessions(records), name: "sessions") }
                return try jsonResponse(UsageSessions(sessions: records))
            }
            guard let buckets = UsageReport.buckets(records, from: query.from!, to: query.to!, interval: interval, now: services.now()) else {
                throw APIFailure(.badRequest, code: "invalidInput", "too many \(interval.rawValue)s in the period", field: "bucket")
            }
            if csv { return Self.csvResponse(UsageCSV.buckets(buckets), name: interval.rawValue + "s") }
            return try jsonResponse(UsageBuckets(interval: interval.rawValue, buckets: buckets))
        }
    }

    /// The query's filters: `pool`, `user` (names), `from` and `to` (ISO 8601 times; default:
    /// the last 7 days up to now), `bucket` (`hour`, `day`, `week`).
    static func query(_ request: Request, now: Date) throws -> (UsageQuery, UsageReport.Interval?) {
        let parameters = request.uri.queryParameters
        var query = UsageQuery()
        for (key, keyPath) in [("pool", \UsageQuery.pool), ("user", \.user)] {
            if let value = parameters[key[...]] {
                guard DeskpoolConfiguration.isSafeName(String(value)) else {
                    throw APIFailure(.badRequest, code: "invalidInput", "must be a name (letters, digits, '.', '_' or '-', at most 64)", field: key)
                }
                query[keyPath: keyPath] = String(value)
            }
        }
        func time(_ key: String) throws -> Date? {
            guard let text = parameters[key[...]] else { return nil }
            guard let date = Self.date(String(text)) else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be an ISO 8601 time such as 2026-12-01T08:00:00Z", field: key)
            }
            return date
        }
        let to = try time("to") ?? now
        let from = try time("from") ?? to.addingTimeInterval(-7 * 86_400)
        guard from < to else { throw APIFailure(.badRequest, code: "invalidInput", "must be before to", field: "from") }
        guard to.timeIntervalSince(from) <= Double(maxDays) * 86_400 else {
            throw APIFailure(.badRequest, code: "invalidInput", "a period of at most \(maxDays) days", field: "from")
        }
        query.from = from
        query.to = to
        query.limit = maxSessions
        var interval: UsageReport.Interval?
        if let text = parameters["bucket"[...]] {
            guard let value = UsageReport.Interval(rawValue: String(text)) else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be hour, day or week", field: "bucket")
            }
            interval = value
            query.limit = Int.max
        }
        if let format = parameters["format"[...]], format != "csv", format != "json" {
            throw APIFailure(.badRequest, code: "invalidInput", "must be json or csv", field: "format")
        }
        return (query, interval)
    }

    /// An RFC 3339 time (`2026-12-01T08:00:00Z`, with an offset, with fractional seconds).
    static func date(_ text: String) -> Date? {
        guard text.utf8.count <= 64 else { return nil }
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text.uppercased()) { return date }
        }
        return nil
    }

    static func wantsCSV(_ request: Request) -> Bool {
        if let format = request.uri.queryParameters["format"[...]] { return format == "csv" }
        return request.headers[.accept]?.lowercased().contains("text/csv") == true
    }

    static func csvResponse(_ text: String, name: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8; header=present"
        headers[.contentDisposition] = "attachment; filename=\"deskpool-usage-\(name).csv\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The usage history as CSV (RFC 4180: a header line, CRLF line ends, fields quoted when they
/// hold a comma, a quote or a line break). A field that a spreadsheet would take for a formula
/// (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a `'` before it.
public enum UsageCSV {
    public static func sessions(_ records: [UsageRecord]) -> String {
        let header = ["session", "pool", "desktop", "desktopID", "user", "version", "requestedAt", "provisionedAt", "readyAt", "waitSeconds",
                      "firstConnectedAt", "lastDisconnectedAt", "connects", "endedAt", "endReason", "ticketAt"]
        return table(header, records.map { r in
            [r.session, r.pool, r.desktop, r.desktopID, r.user, String(r.version), time(r.requestedAt), time(r.provisionedAt), time(r.readyAt),
             seconds(r.waitSeconds), time(r.firstConnectedAt), time(r.lastDisconnectedAt), String(r.connects), time(r.endedAt), r.endReason ?? "", time(r.ticketAt)]
        })
    }

    public static func buckets(_ buckets: [UsageBucket]) -> String {
        let header = ["start", "end", "sessions", "users", "peakSessions", "sessionHours", "waitP50Seconds", "waitP95Seconds",
                      "provisioningP50Seconds", "bootP50Seconds", "connectP50Seconds", "ticketP50Seconds"]
        return table(header, buckets.map { b in
            [time(b.start), time(b.end), String(b.sessions), String(b.users), String(b.peakSessions), String(format: "%.3f", b.sessionHours),
             seconds(b.waitP50Seconds), seconds(b.waitP95Seconds), seconds(b.provisioningP50Seconds), seconds(b.bootP50Seconds),
             seconds(b.connectP50Seconds), seconds(b.ticketP50Seconds)]
        })
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }

    /// One field, quoted and defused as needed.
    public static func field(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func seconds(_ value: Double?) -> String {
        value.map { String(format: "%.3f", $0) } ?? ""
    }

    static func time(_ date: Date?) -> String {
        date.map { $0.formatted(.iso8601) } ?? ""
    }
}
