import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Testing

/// The admin's usage page of a pool: its charts hold, point for point, what the usage API
/// answers for the same period.
@Suite("Portal: a pool's usage page")
struct PoolUsagePageTests {
    @Test("two sessions at once: the sessions chart's points are the API's peakSessions; the schedule's sizes; admins only")
    func sessionsAgainstCapacity() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 2, configure: { pool in
            pool.schedule = [ScheduleEntry(days: ScheduleEntry.Day.allCases, from: 0, to: 24 * 60, min: 1, max: 3)]
        }) {
            try await rig.test { client in
                let root = try await client.login("root")
                let alice = try await client.login("alice")
                let bob = try await client.login("bob")
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer).status == .ok)
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", bob.bearer).status == .ok)
                for desktop in try await rig.harness.desktops("eng", in: [.assigned]) {
                    #expect(try await client.call(.delete, "/api/v1/sessions/\(desktop.id)", desktop.user == "alice" ? alice.bearer : bob.bearer).status == .ok)
                }

                #expect(try await client.page(.get, "/admin/pools/eng", as: root).body.text.contains("href=\"/admin/pools/eng/usage?days=7\""))
                let page = try await client.page(.get, "/admin/pools/eng/usage?days=1", as: root)
                #expect(page.status == .ok)
                let html = page.body.text
                let period = try #require(Markup.tags("div", in: html).first { Markup.attribute("id", $0) == "usage-period" })
                let from = try #require(Markup.attribute("data-from", period)), to = try #require(Markup.attribute("data-to", period))
                #expect(Markup.attribute("data-bucket", period) == "hour")

                let query = "pool=eng&from=\(Self.encoded(from))&to=\(Self.encoded(to))&bucket=hour"
                let api = try await client.call(.get, "/api/v1/admin/usage?\(query)", root.bearer)
                #expect(api.status == .ok)
                let buckets = try api.body.decoded(UsageBuckets.self).buckets
                #expect(buckets.count >= 24 && buckets.map(\.peakSessions).max() == 2)

                let circles = Markup.tags("circle", in: html)
                func points(_ series: String) -> [String: String] {
                    Dictionary(circles.filter { Markup.attribute("data-series", $0) == series }
                        .map { (Markup.attribute("data-start", $0) ?? "", Markup.attribute("data-value", $0) ?? "") }) { first, _ in first }
                }
                let starts = buckets.map { $0.start.formatted(.iso8601) }
                #expect(points("sessions") == Dictionary(uniqueKeysWithValues: zip(starts, buckets.map { String($0.peakSessions) })))
                #expect(points("max (schedule)") == Dictionary(uniqueKeysWithValues: starts.map { ($0, "3") }))
                #expect(points("min (schedule)") == Dictionary(uniqueKeysWithValues: starts.map { ($0, "1") }))
                // The wait only where sessions were requested: a gap elsewhere, not zero.
                let waited = buckets.filter { $0.waitP50Seconds != nil }
                #expect(!waited.isEmpty && points("median").keys.sorted() == waited.map { $0.start.formatted(.iso8601) }.sorted())

                // Two charts, each an image with a name and its table beside it; no inline styles.
                let svgs = Markup.tags("svg", in: html)
                #expect(svgs.count == 2 && svgs.allSatisfy { Markup.attribute("role", $0) == "img" && Markup.attribute("aria-label", $0) != nil })
                #expect(html.contains("<table id=\"sessions-chart-table\">") && html.contains("<table id=\"wait-chart-table\">"))
                #expect(html.components(separatedBy: "<tr>").count - 1 == 2 * (buckets.count + 1), "a row per hour, and the head")
                #expect(!html.contains("style=") && !html.contains("<script>"))

                #expect(try await client.page(.get, "/admin/pools/eng/usage", as: root).body.text.contains("data-bucket=\"day\""))
                #expect(try await client.page(.get, "/admin/pools/eng/usage", as: alice).status == .forbidden)
                #expect(try await client.page(.get, "/admin/pools/nope/usage", as: root).status == .notFound)
            }
        }
    }

    @Test("spare: auto: the pool page shows the forecast and the spares it asks for; the usage page adds today's forecast by hour")
    func forecast() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 2, configure: { pool in
            pool.forecast = SpareForecastSettings(weeks: 4, minutes: 30, buffer: 2)
            pool.savedSpare = 1
        }) {
            try await rig.test { client in
                let root = try await client.login("root")
                let alice = try await client.login("alice")
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer).status == .ok)

                let pool = try await client.page(.get, "/admin/pools/eng", as: root).body.text
                #expect(pool.contains("<dd id=\"pool-sizes\">0 / 4 / auto + 1 saved</dd>"), "\(pool)")
                // No week before today in the history: the buffer alone.
                #expect(pool.contains("<dd id=\"forecast-weeks\">no history yet</dd>"))
                #expect(pool.contains("<dd id=\"forecast-spares\">2 (expected + buffer 2, within max)</dd>"))

                // Two capacity samples in the hour two hours ago: the chart shows their averages there.
                let hour = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600 - 7200)
                try await rig.harness.store.recordCapacity([
                    CapacitySample(pool: "eng", at: hour.addingTimeInterval(300), ready: 3, saved: 1, inUse: 0, preparing: 0),
                    CapacitySample(pool: "eng", at: hour.addingTimeInterval(600), ready: 2, saved: 2, inUse: 1, preparing: 0),
                ])
                let html = try await client.page(.get, "/admin/pools/eng/usage?days=1", as: root).body.text
                let svgs = Markup.tags("svg", in: html)
                #expect(svgs.count == 3 && html.contains("<table id=\"forecast-chart-table\">"))
                let circles = Markup.tags("circle", in: html)
                func values(_ series: String) -> [String] {
                    circles.filter { Markup.attribute("data-series", $0) == series }.compactMap { Markup.attribute("data-value", $0) }
                }
                #expect(values("running spares asked") == Array(repeating: "2", count: 24), "every hour of today asks the buffer")
                #expect(values("expected requests").isEmpty, "nothing is expected without history")
                #expect(values("requests").compactMap(Int.init).reduce(0, +) == 1, "alice's request, in its hour")
                func point(_ series: String, at start: Date) -> String? {
                    circles.first { Markup.attribute("data-series", $0) == series && Markup.attribute("data-start", $0) == start.formatted(.iso8601) }
                        .flatMap { Markup.attribute("data-value", $0) }
                }
                #expect(point("ready (average)", at: hour) == "2.5" && point("saved (average)", at: hour) == "1.5", "the samples' averages")
                #expect(point("ready (average)", at: hour.addingTimeInterval(-3600)) == nil, "no sample, no point")
            }
        }
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}
