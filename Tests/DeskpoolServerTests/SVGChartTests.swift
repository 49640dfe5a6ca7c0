@testable import DeskpoolServer
import Foundation
import Testing

/// The usage page's chart renderer: lines broken at gaps, values at the right height, every
/// text escaped, and an empty chart still a chart.
@Suite("Portal: SVG charts")
struct SVGChartTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var name = "sessions"
        var values: [Double?]
        var wholeNumbers = true
        var polylines: Int
        /// Per value shown: its circle's cy and data-value.
        var circles: [(cy: String, value: String)]
    }

    static let start = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z

    static let cases: [Case] = [
        // 0...4: the y axis's top is 4, the plot 14 (top) to 220 (bottom).
        Case(testDescription: "values map to heights", values: [0, 2, 4], polylines: 1,
             circles: [("220.0", "0"), ("117.0", "2"), ("14.0", "4")]),
        Case(testDescription: "a gap gives two lines, and no point", values: [1, nil, 1], polylines: 2,
             circles: [("14.0", "1"), ("14.0", "1")]),
        Case(testDescription: "a leading and a trailing gap", values: [nil, 3, 3, nil], polylines: 1,
             circles: [("14.0", "3"), ("14.0", "3")]),
        // 9 rounds up to 10 (steps of 5): 6 is three fifths up.
        Case(testDescription: "the top rounds up to a tick", values: [9, 6], polylines: 1,
             circles: [("34.6", "9"), ("96.4", "6")]),
        // Not whole numbers: a quarter of 1.5 steps up to 0.5, the top is 1.5; data-value exact.
        Case(testDescription: "fractions", values: [0.5, 1.5], wholeNumbers: false, polylines: 1,
             circles: [("151.3", "0.5"), ("14.0", "1.5")]),
        Case(testDescription: "no values at all", values: [nil, nil], polylines: 0, circles: []),
        Case(testDescription: "an empty series", values: [], polylines: 0, circles: []),
        Case(testDescription: "a value that is no number is a gap", values: [1, .nan, 1], polylines: 2,
             circles: [("14.0", "1"), ("14.0", "1")]),
        Case(testDescription: "a hostile series name is escaped everywhere", name: "\"><script>alert('x')</script>&\u{1}",
             values: [1], polylines: 1, circles: [("14.0", "1")]),
    ]

    @Test("series to SVG", arguments: cases)
    func render(_ c: Case) {
        let times = c.values.indices.map { Self.start.addingTimeInterval(Double($0) * 3600) }
        var chart = SVGChart(title: "Sessions <of> \"eng\" & 'more'", from: Self.start,
                             to: Self.start.addingTimeInterval(Double(max(c.values.count - 1, 1)) * 3600),
                             series: [.init(name: c.name, cssClass: "series-sessions",
                                            points: zip(times, c.values).map { SVGChart.Point(at: $0, value: $1) })])
        chart.wholeNumbers = c.wholeNumbers
        let svg = chart.svg()

        #expect(svg.hasPrefix("<svg ") && svg.hasSuffix("</svg>"))
        let root = Markup.tags("svg", in: svg)
        #expect(Markup.attribute("role", root[0]) == "img")
        #expect(Markup.attribute("aria-label", root[0]) == "Sessions &lt;of&gt; &quot;eng&quot; &amp; &#39;more&#39;")
        #expect(Markup.tags("polyline", in: svg).count == c.polylines)
        let circles = Markup.tags("circle", in: svg)
        #expect(circles.map { Markup.attribute("cy", $0) ?? "" } == c.circles.map(\.cy))
        #expect(circles.map { Markup.attribute("data-value", $0) ?? "" } == c.circles.map(\.value))
        let shown = zip(times, c.values).filter { $0.1.map(\.isFinite) ?? false }.map { $0.0.formatted(.iso8601) }
        #expect(circles.map { Markup.attribute("data-start", $0) ?? "" } == shown)
        let escaped = SVGChart.escape(c.name)
        #expect(circles.allSatisfy { Markup.attribute("data-series", $0) == escaped })
        #expect(svg.contains("data-series=\"\(escaped)\""), "the series' group")
        #expect(svg.contains(">\(escaped)</text>"), "the legend")
        // Axes with labelled ticks, whatever the values.
        #expect(Markup.tags("text", in: svg).filter { Markup.attribute("class", $0) == "chart-tick" }.count >= 3)
        // Nothing of a name gets out of its quotes or into markup; no style attributes (CSP).
        #expect(!svg.contains("<script") && !svg.contains("'x'") && !svg.contains("\u{1}") && !svg.contains("style="))
    }

    @Test("escaping: the five characters of markup, control characters left out")
    func escape() {
        #expect(SVGChart.escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;")
        #expect(SVGChart.escape("tab\tbell\u{7}del\u{7F}") == "tab\tbelldel")
        #expect(SVGChart.escape("größe €") == "größe €")
    }

    @Test("ticks: steps of 1, 2 or 5; whole numbers for counts; x ticks at UTC hours and days")
    func ticks() {
        #expect(SVGChart.step(for: 0) == 1 && SVGChart.step(for: 0.3) == 0.5 && SVGChart.step(for: 1.75) == 2 && SVGChart.step(for: 30) == 50)
        var chart = SVGChart(title: "t", from: Self.start, to: Self.start.addingTimeInterval(24 * 3600),
                             series: [.init(name: "s", cssClass: "c", points: [.init(at: Self.start, value: 1)])])
        chart.wholeNumbers = true
        #expect(chart.yTicks == [0, 1])
        #expect(chart.xTicks.map(\.label) == ["12:00", "18:00", "01-16", "06:00"])
        // 30 days: weekly, on Mondays (2027-01-15 was a Friday).
        chart.to = Self.start.addingTimeInterval(30 * 86_400)
        #expect(chart.xTicks.map(\.label) == ["01-18", "01-25", "02-01", "02-08"])
    }
}
