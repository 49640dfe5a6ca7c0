import DeskpoolCore
import DeskpoolServer
import DeskpoolTesting
import Foundation
import HTTPTypes
import Testing

/// The usage history through the API: a session recorded from its request to its logoff, the
/// filters, the intervals, and the CSV export holding what the JSON says.
@Suite("API: usage history")
struct UsageAPITests {
    @Test("a session from request to logoff, as JSON and as CSV with the same values; summed by hour; filters and bad input")
    func sessionToCSV() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let root = try await client.login("root")
                let alice = try await client.login("alice")
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer).status == .ok)
                let held = try #require(try await rig.harness.desktops("eng", in: [.assigned]).first)
                _ = try await rig.harness.store.transition(held.id, .consoleConnected(client: "192.0.2.7"), actor: "test")
                _ = try await rig.harness.store.transition(held.id, .consoleClosed, actor: "test")
                _ = try await rig.harness.store.transition(held.id, .consoleConnected(client: "192.0.2.7"), actor: "test")
                #expect(try await client.call(.delete, "/api/v1/sessions/\(held.id)", alice.bearer).status == .ok)

                let answer = try await client.call(.get, "/api/v1/admin/usage?pool=eng", root.bearer)
                #expect(answer.status == .ok)
                let sessions = try answer.body.decoded(UsageSessions.self).sessions
                #expect(sessions.count == 1)
                let record = try #require(sessions.first)
                #expect(record.user == "alice" && record.pool == "eng" && record.desktopID == held.id && record.desktop == held.name)
                #expect(record.session == held.sessionID && record.version == held.version)
                #expect(record.readyAt == record.requestedAt, "a ready desktop is running at once")
                #expect(record.connects == 2 && record.firstConnectedAt != nil && record.lastDisconnectedAt != nil)
                // The request's .vv carried the session's first ticket: the wait's ticket phase.
                let ticketAt = try #require(record.ticketAt, "the first ticket's time")
                #expect(ticketAt >= record.readyAt! && ticketAt <= record.firstConnectedAt!)
                #expect(record.endedAt != nil && record.endReason == "logged off by the user")

                let csv = try await client.call(.get, "/api/v1/admin/usage?pool=eng&format=csv", root.bearer)
                #expect(csv.status == .ok && csv.headers[.contentType]?.hasPrefix("text/csv") == true)
                let lines = csv.body.text.split(separator: "\r\n").map(String.init)
                #expect(lines.count == 2)
                let header = lines[0].split(separator: ",").map(String.init)
                let row = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                let field = { (name: String) in header.firstIndex(of: name).map { row[$0] } }
                #expect(field("session") == record.session && field("user") == "alice" && field("pool") == "eng")
                #expect(field("requestedAt") == record.requestedAt.formatted(.iso8601) && field("connects") == "2")
                #expect(field("ticketAt") == ticketAt.formatted(.iso8601))
                #expect(field("endReason") == "logged off by the user")
                #expect(try await client.call(.get, "/api/v1/admin/usage?pool=eng", [.authorization: "Bearer \(root.token)", .accept: "text/csv"])
                    .body.text == csv.body.text)

                let hourly = try await client.call(.get, "/api/v1/admin/usage?bucket=hour&from=\(Self.hourAgo())", root.bearer)
                #expect(hourly.status == .ok)
                let buckets = try hourly.body.decoded(UsageBuckets.self).buckets
                #expect(buckets.reduce(0) { $0 + $1.sessions } == 1 && buckets.map(\.peakSessions).max() == 1)

                #expect(try await client.call(.get, "/api/v1/admin/usage?user=bob", root.bearer).body.decoded(UsageSessions.self).sessions.isEmpty)
                for bad in ["from=yesterday", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "bucket=minute", "pool=../x",
                            "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "format=xml"] {
                    let refused = try await client.call(.get, "/api/v1/admin/usage?\(bad)", root.bearer)
                    #expect(refused.status == .badRequest && refused.body.errorCode == "invalidInput", "\(bad)")
                }
                #expect(try await client.call(.get, "/api/v1/admin/usage", alice.bearer).status == .forbidden)

                // The admin's pool page: the same session over the last 7 days, and the CSV link.
                let page = try await client.page(.get, "/admin/pools/eng", as: root)
                #expect(page.status == .ok)
                #expect(page.body.text.contains("id=\"usage-sessions\">1<") && page.body.text.contains("id=\"usage-peak\">1<"))
                #expect(page.body.text.contains("/api/v1/admin/usage?pool=eng&amp;from="))
                #expect(try await client.page(.get, "/admin/pools/eng?days=1", as: root).body.text.contains("<strong>day</strong>"))
            }
        }
    }

    @Test("the admin's pool page shows the schedule and the entry that holds now")
    func schedulePage() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1, configure: { pool in
            pool.schedule = [ScheduleEntry(days: ScheduleEntry.Day.allCases, from: 0, to: 24 * 60, spare: 1),
                             ScheduleEntry(days: [.sun], from: 60, to: 120, timezone: "Europe/Berlin", spare: 2)]
        }) {
            try await rig.test { client in
                let root = try await client.login("root")
                let html = try await client.page(.get, "/admin/pools/eng", as: root).body.text
                #expect(html.contains("<h2 id=\"schedule-heading\">Schedule</h2>"))
                #expect(html.contains("<tr class=\"active\"><td>mon, tue, wed, thu, fri, sat, sun</td><td>00:00–24:00</td><td>UTC</td>"))
                #expect(html.contains("<td>sun</td><td>01:00–02:00</td><td>Europe/Berlin</td><td class=\"num\">0 / 4 / 2</td><td></td>"))
            }
        }
    }

    @Test("CSV fields: quoted when they hold a comma, a quote or a line break; a formula's first character defused")
    func csvFields() {
        #expect(UsageCSV.field("plain") == "plain")
        #expect(UsageCSV.field("a,b") == "\"a,b\"")
        #expect(UsageCSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(UsageCSV.field("two\nlines") == "\"two\nlines\"")
        #expect(UsageCSV.field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(UsageCSV.field("@SUM(A1)") == "'@SUM(A1)")
        #expect(UsageCSV.field("-1") == "'-1")
    }

    static func hourAgo() -> String {
        Date().addingTimeInterval(-3600).formatted(.iso8601).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}
