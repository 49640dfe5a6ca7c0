import Foundation

/// A line chart over time, drawn by the server as an SVG string to inline in a page (no
/// script, no chart bundle; the portal's CSP allows neither inline scripts nor `style=`, so it
/// is styled through classes in `portal.css`). Pure: the same input gives the same text.
///
/// Every series is one `<g class="chart-series CLASS" data-series="NAME">` with a `<polyline>`
/// per run of values without a gap, and a `<circle>` per value carrying `data-series`,
/// `data-start` (the point's time, ISO 8601) and `data-value`, which tests read. A missing
/// value is a gap, never zero. Every text in the SVG is escaped here (the page inlines it
/// unescaped).
struct SVGChart: Sendable {
    struct Point: Sendable, Hashable {
        var at: Date
        /// Nil (or not finite): no value at `at`, a gap in the line.
        var value: Double?
    }

    struct Series: Sendable, Hashable {
        var name: String
        /// The class that styles it (`series-sessions`): a stroke colour in `portal.css`.
        var cssClass: String
        var points: [Point]
    }

    var title: String
    /// The x axis: `from` at the left edge, `to` at the right.
    var from: Date
    var to: Date
    var series: [Series]
    /// Ticks on whole numbers (counts of things); otherwise at 1, 2 or 5 times a power of ten.
    var wholeNumbers = false
    /// The values' unit, after the top tick of the y axis (`s`).
    var unit = ""
    /// The id of what describes the chart in words (its table), for `aria-describedby`.
    var describedBy: String?

    // MARK: - Layout

    static let width = 720.0, height = 290.0
    /// The plot area's edges.
    static let left = 60.0, right = 704.0, top = 14.0, bottom = 220.0
    static let pointRadius = 3.0

    /// The top of the y axis: the largest value rounded up to a tick (1 when there is none).
    var yMax: Double { yTicks.last ?? 1 }

    /// The y axis's ticks from 0: about four steps of 1, 2 or 5 times a power of ten.
    var yTicks: [Double] {
        let largest = series.flatMap(\.points).compactMap(\.value).filter(\.isFinite).max() ?? 0
        var step = Self.step(for: Swift.max(largest, 0) / 4)
        if wholeNumbers { step = Swift.max(1, step.rounded(.up)) }
        let top = Swift.max(step, (Swift.max(largest, 0) / step).rounded(.up) * step)
        return (0...Int((top / step).rounded())).map { Double($0) * step }
    }

    /// The smallest of 1, 2, 5 times a power of ten that is at least `raw` (1 for nothing).
    static func step(for raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        return [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) } ?? 10 * magnitude
    }

    func x(_ date: Date) -> Double {
        let span = to.timeIntervalSince(from)
        guard span > 0 else { return Self.left }
        return Self.left + date.timeIntervalSince(from) / span * (Self.right - Self.left)
    }

    func y(_ value: Double) -> Double {
        Self.bottom - value / yMax * (Self.bottom - Self.top)
    }

    /// The x axis's ticks: aligned to UTC hours, days or Mondays, at most about six.
    var xTicks: [(at: Date, label: String)] {
        let span = to.timeIntervalSince(from)
        guard span > 0 else { return [(from, Self.label(from, daily: false))] }
        let hour = 3600.0, day = 86_400.0
        let steps = [hour, 2 * hour, 3 * hour, 6 * hour, 12 * hour, day, 2 * day, 7 * day, 14 * day, 30 * day, 60 * day, 120 * day]
        let step = steps.first { span / $0 <= 6 } ?? span / 4
        var ticks: [(at: Date, label: String)] = []
        // Weeks from Monday, as the usage report's (1970-01-01 was a Thursday).
        let origin = step.truncatingRemainder(dividingBy: 7 * day) == 0 ? 4 * day : 0
        var at = ((from.timeIntervalSince1970 - origin) / step).rounded(.up) * step + origin
        while at <= to.timeIntervalSince1970 {
            let date = Date(timeIntervalSince1970: at)
            ticks.append((date, Self.label(date, daily: step >= day)))
            at += step
        }
        return ticks
    }

    /// `HH:MM` within a day (`MM-DD` at midnight), `MM-DD` for daily ticks; UTC.
    static func label(_ date: Date, daily: Bool) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.month, .day, .hour, .minute], from: date)
        let (month, day, hour, minute) = (c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
        if daily || (hour == 0 && minute == 0) { return String(format: "%02d-%02d", month, day) }
        return String(format: "%02d:%02d", hour, minute)
    }

    // MARK: - Output

    /// The chart as an `<svg>` element.
    func svg() -> String {
        let e = Self.escape
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(Self.f(Self.width)) \(Self.f(Self.height))\""
        out += " role=\"img\" aria-label=\"\(e(title))\""
        if let describedBy { out += " aria-describedby=\"\(e(describedBy))\"" }
        out += ">\n<title>\(e(title))</title>\n"

        // Axes, grid and ticks.
        out += "<g class=\"chart-axes\">\n"
        let ticks = yTicks
        for (index, tick) in ticks.enumerated() {
            let at = Self.f(y(tick))
            out += "<line class=\"chart-grid\" x1=\"\(Self.f(Self.left))\" y1=\"\(at)\" x2=\"\(Self.f(Self.right))\" y2=\"\(at)\"/>"
            let label = Self.number(tick) + (index == ticks.count - 1 && !unit.isEmpty ? " " + unit : "")
            out += "<text class=\"chart-tick\" x=\"\(Self.f(Self.left - 6))\" y=\"\(at)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(e(label))</text>\n"
        }
        for tick in xTicks {
            let at = Self.f(x(tick.at))
            out += "<line class=\"chart-axis\" x1=\"\(at)\" y1=\"\(Self.f(Self.bottom))\" x2=\"\(at)\" y2=\"\(Self.f(Self.bottom + 4))\"/>"
            out += "<text class=\"chart-tick\" x=\"\(at)\" y=\"\(Self.f(Self.bottom + 18))\" text-anchor=\"middle\">\(e(tick.label))</text>\n"
        }
        out += "<text class=\"chart-tick\" x=\"\(Self.f(Self.left - 6))\" y=\"\(Self.f(Self.bottom + 18))\" text-anchor=\"end\">UTC</text>\n"
        out += "<line class=\"chart-axis\" x1=\"\(Self.f(Self.left))\" y1=\"\(Self.f(Self.top))\" x2=\"\(Self.f(Self.left))\" y2=\"\(Self.f(Self.bottom))\"/>"
        out += "<line class=\"chart-axis\" x1=\"\(Self.f(Self.left))\" y1=\"\(Self.f(Self.bottom))\" x2=\"\(Self.f(Self.right))\" y2=\"\(Self.f(Self.bottom))\"/>\n"
        out += "</g>\n"

        // The series: a polyline per run without a gap, a circle per value.
        for series in series {
            let name = e(series.name)
            out += "<g class=\"chart-series \(e(series.cssClass))\" data-series=\"\(name)\">\n"
            for run in Self.runs(series.points) {
                let points = run.map { "\(Self.f(x($0.at))),\(Self.f(y($0.value)))" }.joined(separator: " ")
                out += "<polyline class=\"chart-line\" fill=\"none\" points=\"\(points)\"/>\n"
            }
            for point in series.points {
                guard let value = point.value, value.isFinite else { continue }
                let start = point.at.formatted(.iso8601), text = Self.number(value)
                out += "<circle class=\"chart-point\" cx=\"\(Self.f(x(point.at)))\" cy=\"\(Self.f(y(value)))\" r=\"\(Self.f(Self.pointRadius))\""
                out += " data-series=\"\(name)\" data-start=\"\(start)\" data-value=\"\(text)\">"
                out += "<title>\(name) \(e(Stamp(point.at).text)): \(text)\(unit.isEmpty ? "" : " " + e(unit))</title></circle>\n"
            }
            out += "</g>\n"
        }

        // The legend, under the x axis's labels.
        out += "<g class=\"chart-legend\">\n"
        var legendX = Self.left
        let legendY = Self.bottom + 48
        for series in series {
            out += "<g class=\"chart-series \(e(series.cssClass))\">"
            out += "<line class=\"chart-line\" x1=\"\(Self.f(legendX))\" y1=\"\(Self.f(legendY))\" x2=\"\(Self.f(legendX + 22))\" y2=\"\(Self.f(legendY))\"/>"
            out += "<text class=\"chart-legend-text\" x=\"\(Self.f(legendX + 28))\" y=\"\(Self.f(legendY))\" dominant-baseline=\"middle\">\(e(series.name))</text></g>\n"
            legendX += 28 + Double(series.name.count) * 8 + 24
        }
        out += "</g>\n</svg>"
        return out
    }

    /// The runs of `points` with a value, in order: a missing value ends one.
    static func runs(_ points: [Point]) -> [[(at: Date, value: Double)]] {
        var runs: [[(at: Date, value: Double)]] = [], current: [(at: Date, value: Double)] = []
        for point in points {
            if let value = point.value, value.isFinite {
                current.append((point.at, value))
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// A value as `data-value` and the tables give it: whole numbers without a fraction, others
    /// as Swift prints a Double (the shortest text that reads back the same).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A coordinate, to a tenth.
    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Text for XML and HTML, in content and in quoted attributes alike: `& < > " '` as
    /// entities, and the control characters XML forbids left out.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
