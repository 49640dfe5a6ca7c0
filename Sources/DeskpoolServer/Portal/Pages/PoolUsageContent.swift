import DeskpoolCore
import Foundation

/// A pool's usage page (`/admin/pools/NAME/usage?days=`): charts of the usage history by hour
/// (one day) or by day, each with a table of the same numbers beside it.
struct PoolUsageContent {
    /// One value per interval of the report, named: a line of a chart and a column of its
    /// table. A chart takes whatever list it is given, so a new line (a forecast, the spares
    /// saved) is one more entry in `capacitySeries` and no change to the renderer or the page.
    struct Series: Sendable {
        var name: String
        /// Its style in `portal.css` (`series-NAME`).
        var cssClass: String
        var value: @Sendable (UsageBucket) -> Double?
    }

    struct Chart {
        struct Column { var name: String }
        struct Cell { var text: String }
        struct Row {
            var start: Stamp
            var cells: [Cell]
        }

        var id: String
        var heading: String
        var svg: String
        var columns: [Column]
        var rows: [Row]
    }

    var poolName: String
    var periods: [UsageContent.Period]
    /// The period, as the API takes it (`from`, `to`: whole seconds) and for people.
    var from: String
    var to: String
    var period: String
    var interval: String
    var charts: [Chart]

    /// The interval of a report over `days`: hours for one day, days otherwise.
    static func interval(days: Int) -> UsageReport.Interval { days == 1 ? .hour : .day }

    /// The period `?days=` asks for: one of `UsageContent.choices`, 7 when not.
    static func days(_ text: Substring?) -> Int {
        text.flatMap { Int($0) }.flatMap { d in UsageContent.choices.contains { $0.0 == d } ? d : nil } ?? 7
    }

    init(pool: PoolSpec, days: Int, from: Date, to: Date, interval: UsageReport.Interval, buckets: [UsageBucket],
         samples: [CapacitySample] = []) {
        poolName = pool.name
        periods = UsageContent.choices.map { UsageContent.Period(days: $0.0, label: $0.1, current: $0.0 == days) }
        self.from = from.formatted(.iso8601)
        self.to = to.formatted(.iso8601)
        period = "\(Stamp(from).text) to \(Stamp(to).text)"
        self.interval = interval.rawValue
        let label = days == 1 ? "the last day" : "the last \(days) days"
        charts = [
            Self.chart(id: "sessions-chart", heading: "Sessions against capacity",
                       title: "Sessions against capacity of pool \(pool.name) over \(label), by \(interval.rawValue)",
                       buckets: buckets, interval: interval, series: Self.capacitySeries(pool, samples: samples, buckets: buckets), wholeNumbers: true),
            Self.chart(id: "wait-chart", heading: "Time to desktop",
                       title: "Time to desktop in pool \(pool.name) over \(label), by \(interval.rawValue), in seconds",
                       buckets: buckets, interval: interval, series: Self.waitSeries, unit: "s"),
        ]
    }

    /// The most sessions open at once in each interval; the ready and saved spares the
    /// reconciler's capacity samples saw in it, on average (where it has samples); and the sizes
    /// the pool's schedule (as it is now) gives at the interval's start.
    static func capacitySeries(_ pool: PoolSpec, samples: [CapacitySample] = [], buckets: [UsageBucket] = []) -> [Series] {
        let averages = Dictionary(uniqueKeysWithValues: buckets.compactMap { bucket -> (Date, (ready: Double, saved: Double))? in
            let within = samples.filter { $0.at >= bucket.start && $0.at < bucket.end }
            guard !within.isEmpty else { return nil }
            let count = Double(within.count)
            return (bucket.start, (Double(within.map(\.ready).reduce(0, +)) / count, Double(within.map(\.saved).reduce(0, +)) / count))
        })
        let spares = averages.isEmpty ? [] : [
            Series(name: "ready (average)", cssClass: "series-ready") { averages[$0.start]?.ready },
            Series(name: "saved (average)", cssClass: "series-saved") { averages[$0.start]?.saved },
        ]
        return [
            Series(name: "sessions", cssClass: "series-sessions") { Double($0.peakSessions) },
        ] + spares + [
            Series(name: "max (schedule)", cssClass: "series-max") { Double(pool.scheduled(at: $0.start).max) },
            Series(name: "min (schedule)", cssClass: "series-min") { Double(pool.scheduled(at: $0.start).min) },
        ]
    }

    /// The wait from request to a running desktop; an interval without sessions has none.
    static let waitSeries: [Series] = [
        Series(name: "median", cssClass: "series-p50") { $0.waitP50Seconds },
        Series(name: "95th percentile", cssClass: "series-p95") { $0.waitP95Seconds },
    ]

    static func chart(id: String, heading: String, title: String, buckets: [UsageBucket], interval: UsageReport.Interval,
                      series: [Series], wholeNumbers: Bool = false, unit: String = "") -> Chart {
        let values = series.map { s in buckets.map { s.value($0) } }
        // The x axis from the first interval's start to the last one's (one interval at least).
        let first = buckets.first?.start ?? Date(timeIntervalSince1970: 0)
        let last = Swift.max(buckets.last?.start ?? first, first.addingTimeInterval(interval == .hour ? 3600 : 86_400))
        var svg = SVGChart(title: title, from: first, to: last, series: zip(series, values).map { s, v in
            SVGChart.Series(name: s.name, cssClass: s.cssClass, points: zip(buckets, v).map { SVGChart.Point(at: $0.start, value: $1) })
        })
        svg.wholeNumbers = wholeNumbers
        svg.unit = unit
        svg.describedBy = id + "-table"
        let rows = buckets.indices.map { index in
            var start = Stamp(buckets[index].start)
            start.text = String(start.text.prefix(16))  // 2026-12-01 08:00: the column says UTC
            return Chart.Row(start: start, cells: values.map { Chart.Cell(text: $0[index].map(Self.cell) ?? "—") })
        }
        return Chart(id: id, heading: heading, svg: svg.svg(),
                     columns: series.map { Chart.Column(name: unit.isEmpty ? $0.name : "\($0.name) (\(unit))") }, rows: rows)
    }

    /// `spare: auto`: today by hour (UTC), what the forecast expects of each hour (the same
    /// hour of the same weekday in the weeks before), the running spares it asks for at the
    /// hour's start, and the requests so far.
    static func forecastChart(pool: PoolSpec, settings: SpareForecastSettings, history: [UsageRecord], day: Date, now: Date) -> Chart {
        let hours = (0..<24).map { day.addingTimeInterval(Double($0) * 3600) }
        var hourly = settings
        hourly.minutes = 60
        let before = history.filter { $0.requestedAt < day }
        let expected = hours.map { SpareForecaster.forecast(before, at: $0, settings: hourly).expected.map(Double.init) }
        let spares = hours.map { Double(pool.sized(at: $0, forecast: SpareForecaster.forecast(before, at: $0, settings: settings)).spare) }
        let requests = hours.map { hour -> Double? in
            hour > now ? nil : Double(history.count { $0.requestedAt >= hour && $0.requestedAt < hour.addingTimeInterval(3600) })
        }
        let buckets = hours.map { UsageBucket(start: $0, end: $0.addingTimeInterval(3600)) }
        let values = Dictionary(uniqueKeysWithValues: zip(hours, zip(expected, zip(spares, requests))).map { ($0.0, $0.1) })
        let series = [
            Series(name: "expected requests", cssClass: "series-forecast") { values[$0.start]?.0 },
            Series(name: "running spares asked", cssClass: "series-max") { values[$0.start]?.1.0 },
            Series(name: "requests", cssClass: "series-sessions") { values[$0.start]?.1.1 },
        ]
        return chart(id: "forecast-chart", heading: "Today's forecast (spare: auto)",
                     title: "Forecast of pool \(pool.name) for today by hour: expected requests, running spares asked, requests so far",
                     buckets: buckets, interval: .hour, series: series, wholeNumbers: true)
    }

    /// A value in a table: whole numbers as they are, others to a tenth.
    static func cell(_ value: Double) -> String {
        value == value.rounded() ? SVGChart.number(value) : String(format: "%.1f", value)
    }
}
