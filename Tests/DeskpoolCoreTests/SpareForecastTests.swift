import DeskpoolCore
import Foundation
import Testing

/// `spare: auto`: the forecast over synthetic histories, and what it makes of a pool's sizes.
@Suite("SpareForecaster: spares from the learned curve")
struct SpareForecastTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let calendar = { var c = Calendar(identifier: .gregorian); c.timeZone = utc; return c }()

    /// 2026-11-30 is a Monday; `week` 0 is that week, -1 the week before...
    static func date(week: Int, day: Int = 0, _ hour: Int, _ minute: Int = 0) -> Date {
        let monday = calendar.date(from: DateComponents(year: 2026, month: 11, day: 30))!
        return monday.addingTimeInterval(TimeInterval(((week * 7 + day) * 24 + hour) * 3600 + minute * 60))
    }

    /// Requests each Monday of the four weeks before week 0: `count` users between 9:00 and
    /// 9:10, and two through the afternoon; `holiday` names a week with no requests at all.
    static func mondayPeak(count: Int = 10, holidays: Set<Int> = []) -> [Date] {
        (1...4).flatMap { back -> [Date] in
            guard !holidays.contains(back) else { return [] }
            let peak = (0..<count).map { date(week: -back, 9, $0 % 10) }
            return peak + [date(week: -back, 14), date(week: -back, 15)]
        }
    }

    static let settings = SpareForecastSettings(weeks: 4, minutes: 30, buffer: 1)

    @Test("table: the forecast at a time, over a history", arguments: [
        // 8:45 on Monday: the 9:00 peak is within the next 30 minutes in every week.
        ("monday 8:45 before the peak", mondayPeak(), date(week: 0, 8, 45), [10, 10, 10, 10], 10, 11),
        // 8:00: the peak is further than the forecast looks.
        ("monday 8:00, peak not yet in view", mondayPeak(), date(week: 0, 8, 0), [0, 0, 0, 0], 0, 1),
        // The afternoon has one request in its half hour.
        ("monday 13:45", mondayPeak(), date(week: 0, 13, 45), [1, 1, 1, 1], 1, 2),
        // Tuesday is quiet: the buffer alone.
        ("tuesday 8:45", mondayPeak(), date(week: 0, day: 1, 8, 45), [0, 0, 0, 0], 0, 1),
        // A holiday two weeks ago: the upper median ignores one quiet week.
        ("a holiday in the history", mondayPeak(holidays: [2]), date(week: 0, 8, 45), [10, 0, 10, 10], 10, 11),
        // Two holidays in four weeks: the upper median still trusts the busy weeks.
        ("two holidays", mondayPeak(holidays: [2, 3]), date(week: 0, 8, 45), [10, 0, 0, 10], 10, 11),
        // A new pool with no history: the buffer alone, and no weeks looked at.
        ("a new pool", [Date](), date(week: 0, 8, 45), [Int](), nil, 1),
    ] as [(String, [Date], Date, [Int], Int?, Int)])
    func table(name: String, requests: [Date], at now: Date, perWeek: [Int], expected: Int?, spares: Int) {
        let history = requests.min().map { Self.calendar.startOfDay(for: $0) }
        let forecast = SpareForecaster.forecast(requests: requests, historySince: history, at: now, settings: Self.settings)
        #expect(forecast.perWeek == perWeek, "\(name)")
        #expect(forecast.expected == expected, "\(name)")
        #expect(forecast.spares == spares, "\(name)")
        #expect(forecast.from == now && forecast.to == now.addingTimeInterval(1800), "\(name)")
    }

    @Test("a pool two weeks old looks at two weeks only; one busy week alone does not raise the spares")
    func young() {
        // Only last Monday had the peak; the pool began the week before.
        let requests = (0..<10).map { Self.date(week: -1, 9, $0) } + [Self.date(week: -2, 12)]
        let forecast = SpareForecaster.forecast(requests: requests, historySince: Self.date(week: -2, 0), at: Self.date(week: 0, 8, 45),
                                                settings: Self.settings)
        #expect(forecast.perWeek == [10, 0])
        #expect(forecast.expected == 10)  // the upper median of two weeks is the busier one
        let three = SpareForecaster.forecast(requests: requests, historySince: Self.date(week: -3, 0), at: Self.date(week: 0, 8, 45),
                                             settings: Self.settings)
        #expect(three.perWeek == [10, 0, 0] && three.expected == 0)
    }

    @Test("the weeks line up in the forecast's time zone across a change of daylight saving time")
    func daylightSaving() {
        // Berlin left summer time on Sunday 2026-10-25: 9:00 on Monday the 19th was 7:00 UTC,
        // on Monday the 26th it is 8:00 UTC.
        var settings = Self.settings
        settings.timezone = "Europe/Berlin"
        let before = Date(timeIntervalSince1970: 1_792_393_200)  // 2026-10-19 07:00 UTC
        let requests = (0..<5).map { before.addingTimeInterval(TimeInterval($0 * 60)) }
        let now = Date(timeIntervalSince1970: 1_793_000_700)  // 2026-10-26 07:45 UTC = 8:45 Berlin
        let forecast = SpareForecaster.forecast(requests: requests, historySince: before.addingTimeInterval(-3600), at: now, settings: settings)
        #expect(forecast.perWeek == [5] && forecast.spares == 6)
    }

    @Test("a pool sized by its forecast: within max less the saved spares; a schedule entry's spare holds over it")
    func sizing() throws {
        var pool = PoolSpec(name: "eng", template: "tiny", max: 8)
        pool.forecast = Self.settings
        pool.savedSpare = 2
        let busy = SpareForecast(from: Self.date(week: 0, 8, 45), to: Self.date(week: 0, 9, 15), perWeek: [10], expected: 10, spares: 11)
        #expect(pool.sized(at: busy.from, forecast: busy).spare == 6)
        let quiet = SpareForecast(from: busy.from, to: busy.to, perWeek: [0], expected: 0, spares: 1)
        #expect(pool.sized(at: busy.from, forecast: quiet).spare == 1)
        #expect(pool.sized(at: busy.from, forecast: nil).spare == 1)  // the buffer, until a forecast is made
        pool.schedule = [ScheduleEntry(days: [.mon], from: 8 * 60, to: 10 * 60, spare: 3)]
        #expect(pool.sized(at: busy.from, forecast: busy).spare == 3)
        // A fixed pool ignores a forecast.
        var fixed = PoolSpec(name: "eng", template: "tiny", spare: 2)
        fixed.savedSpare = 1
        #expect(fixed.sized(at: busy.from, forecast: busy).spare == 2)
    }

    @Test("pool files: spare as a number, auto, or running and saved; forecast only with auto", arguments: [
        ("spare: 2\n", 2, 0, false, nil),
        ("spare: auto\n", 0, 0, true, nil),
        ("spare: {running: 1, saved: 3}\n", 1, 3, false, nil),
        ("spare: {running: auto, saved: 2}\nforecast: {weeks: 6, minutes: 60, buffer: 2, timezone: Europe/Berlin}\n", 0, 2, true, nil),
        ("spare: {saved: 2}\n", 0, 2, false, nil),
        ("spare: sometimes\n", 0, 0, false, "spare must be a number, auto, or {running: N|auto, saved: M}, not 'sometimes'"),
        ("spare: {running: 1, paused: 2}\n", 0, 0, false, "unknown key 'paused' in spare"),
        ("spare: {running: 6, saved: 6}\n", 0, 0, false, "running and saved spares (6 + 6) must not exceed max (10)"),
        ("spare: 2\nforecast: {weeks: 2}\n", 0, 0, false, "forecast is for a pool with spare: auto"),
        ("spare: auto\nforecast: {weeks: 20}\n", 0, 0, false, "weeks must be between 1 and 12, not 20"),
        ("spare: auto\nforecast: {timezone: Mars/Olympus}\n", 0, 0, false, "timezone must be an IANA time zone"),
    ] as [(String, Int, Int, Bool, String?)])
    func poolFiles(text: String, running: Int, saved: Int, auto: Bool, refusal: String?) throws {
        let yaml = "name: eng\ntemplate: tiny\n" + text
        do {
            let pool = try YAMLConfigDecoder.decode(PoolSpec.self, yaml: yaml)
            #expect(refusal == nil, "\(text) was accepted")
            #expect(pool.spare == running && pool.savedSpare == saved && (pool.forecast != nil) == auto, "\(text)")
            // What the store keeps reads back the same.
            let again = try JSONDecoder().decode(PoolSpec.self, from: try JSONEncoder().encode(pool))
            #expect(again == pool, "\(text)")
        } catch {
            #expect(refusal.map { "\(error)".contains($0) } == true, "\(text): \(error)")
        }
    }
}
