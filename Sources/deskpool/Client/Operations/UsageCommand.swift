import ArgumentParser
import DeskpoolClient
import DeskpoolCore
import Foundation

/// `deskpool usage`: the usage history, as sessions or summed by interval, as a table, JSON or CSV.
struct UsageCommand: APICommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show the usage history: desktop sessions, or summed by hour, day or week (admin).",
        discussion: """
            The sessions open in the period (default: the last 7 days; at most 9999), or with --bucket the \
            period summed by UTC hour, day or week: sessions requested, distinct users, the most at once, \
            session hours and the wait for a desktop (median and 95th percentile). --csv writes the broker's \
            CSV (for a spreadsheet); --json its JSON. Times are ISO 8601, e.g. 2026-12-01T08:00:00Z.
            """
    )
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Only this pool.") var pool: String?
    @Option(help: "Only this user.") var user: String?
    @Option(help: ArgumentHelp("The period's start (default: 7 days before --to).", valueName: "time")) var from: String?
    @Option(help: ArgumentHelp("The period's end (default: now).", valueName: "time")) var to: String?
    @Option(help: ArgumentHelp("Sum by hour, day or week.", valueName: "interval")) var bucket: String?
    @Flag(help: "Write CSV (a header line, then a line per session or interval).") var csv = false

    func validate() throws {
        if let bucket, !["hour", "day", "week"].contains(bucket) { throw ValidationError("--bucket must be hour, day or week") }
        if csv && output.json { throw ValidationError("give --csv or --json, not both") }
    }

    func run(_ api: APIClient) async throws {
        if csv { return writeOutput(try await api.usageCSV(pool: pool, user: user, from: from, to: to, bucket: bucket)) }
        if output.json {
            return printJSON(try await api.rawJSON(.usage(pool: pool, user: user, from: from, to: to, bucket: bucket, csv: false)))
        }
        if let bucket {
            let report = try await api.usageBuckets(pool: pool, user: user, from: from, to: to, bucket: bucket)
            var table = TextTable("START", "SESSIONS", "USERS", "PEAK", "HOURS", "WAIT P50", "WAIT P95")
            for b in report.buckets {
                table.append([Display.time(b.start), String(b.sessions), String(b.users), String(b.peakSessions),
                              String(format: "%.1f", b.sessionHours), Self.seconds(b.waitP50Seconds), Self.seconds(b.waitP95Seconds)])
            }
            print(table.render(), terminator: "")
            return
        }
        let sessions = try await api.usageSessions(pool: pool, user: user, from: from, to: to).sessions
        var table = TextTable("REQUESTED", "POOL", "DESKTOP", "USER", "WAIT", "CONNECTS", "ENDED", "WHY")
        for s in sessions {
            table.append([Display.time(s.requestedAt), s.pool, s.desktop, s.user, Self.seconds(s.waitSeconds), String(s.connects),
                          Display.time(s.endedAt), s.endReason ?? (s.endedAt == nil ? "in session" : "-")])
        }
        print(table.render(), terminator: "")
    }

    static func seconds(_ value: Double?) -> String {
        value.map { String(format: "%.1f s", $0) } ?? "-"
    }
}
