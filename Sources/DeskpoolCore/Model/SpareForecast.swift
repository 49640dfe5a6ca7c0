public import Foundation

/// How a pool with `spare: auto` learns its spares from its usage history: the requests of
/// the same weekday and time in each of the last `weeks` weeks, within the next `minutes`.
public struct SpareForecastSettings: Sendable, Hashable, Codable {
    /// Weeks of history looked at (1 to 12).
    public var weeks = 4
    /// How far ahead the forecast looks, in minutes (5 to 240): the spares for the requests
    /// expected within it are made now, so that they are warm when the users come.
    public var minutes = 30
    /// Spares kept on top of the forecast, and all there is without history (0 to 1,000).
    public var buffer = 1
    /// The time zone whose weekdays and clock the weeks line up in (across a change of
    /// daylight saving time, 9:00 stays 9:00).
    public var timezone = "UTC"

    public init(weeks: Int = 4, minutes: Int = 30, buffer: Int = 1, timezone: String = "UTC") {
        self.weeks = weeks
        self.minutes = minutes
        self.buffer = buffer
        self.timezone = timezone
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case weeks, minutes, buffer, timezone
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(weeks, forKey: .weeks)
        try c.encode(minutes, forKey: .minutes)
        try c.encode(buffer, forKey: .buffer)
        try c.encode(timezone, forKey: .timezone)
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "forecast")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        for (key, path, range) in [(CodingKeys.weeks, \Self.weeks, 1...12), (.minutes, \.minutes, 5...240), (.buffer, \.buffer, 0...1000)] {
            if let value = try c.decodeIfPresent(Int.self, forKey: key) {
                guard range.contains(value) else {
                    throw try c.superDecoder(forKey: key).invalid("\(key.stringValue) must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
                }
                self[keyPath: path] = value
            }
        }
        timezone = try c.decodeIfPresent(String.self, forKey: .timezone) ?? "UTC"
        guard timezone.utf8.count <= 64, TimeZone(identifier: timezone) != nil else {
            throw try c.superDecoder(forKey: .timezone).invalid("timezone must be an IANA time zone such as Europe/Berlin, not '\(timezone)'")
        }
    }
}

/// What the forecast of a pool says for the next interval, and the spares it asks for.
public struct SpareForecast: Sendable, Hashable, Codable {
    /// The interval forecast: now ..< now + `minutes`.
    public var from: Date
    public var to: Date
    /// Requests in the same interval of each week looked at, the last week first; weeks
    /// before the pool's history began are left out.
    public var perWeek: [Int]
    /// Requests expected: the upper median of `perWeek` (one quiet week, a holiday, does not
    /// drag it down; one busy week alone does not raise it). Nil without history.
    public var expected: Int?
    /// Running spares to keep: `expected` plus the buffer (the buffer alone without history).
    public var spares: Int

    public init(from: Date, to: Date, perWeek: [Int], expected: Int?, spares: Int) {
        self.from = from
        self.to = to
        self.perWeek = perWeek
        self.expected = expected
        self.spares = spares
    }
}

/// The forecast as a pure function of the request times of the pool's usage history.
public enum SpareForecaster {
    /// The forecast at `now`: `requests` are the times sessions of the pool were requested
    /// (any order), `historySince` when its history begins (its first request; nil: none).
    public static func forecast(requests: [Date], historySince: Date?, at now: Date, settings: SpareForecastSettings) -> SpareForecast {
        let calendar = calendar(settings)
        let window = TimeInterval(settings.minutes * 60)
        var perWeek: [Int] = []
        if let historySince {
            for week in 1...settings.weeks {
                guard let start = calendar.date(byAdding: .day, value: -7 * week, to: now), start >= historySince else { break }
                let end = start.addingTimeInterval(window)
                perWeek.append(requests.count { $0 >= start && $0 < end })
            }
        }
        let expected = perWeek.isEmpty ? nil : perWeek.sorted()[perWeek.count / 2]
        return SpareForecast(from: now, to: now.addingTimeInterval(window), perWeek: perWeek, expected: expected,
                             spares: (expected ?? 0) + settings.buffer)
    }

    /// How far back a forecast at `now` needs the history (a day more than its weeks, for the
    /// start of the history).
    public static func historyStart(at now: Date, settings: SpareForecastSettings) -> Date {
        now.addingTimeInterval(-Double(settings.weeks * 7 + 1) * 86_400)
    }

    /// The forecast from usage records read from `historyStart(at:settings:)`: their request
    /// times, and the day of the first of them as the start of the history.
    public static func forecast(_ records: [UsageRecord], at now: Date, settings: SpareForecastSettings) -> SpareForecast {
        let requests = records.map(\.requestedAt)
        return forecast(requests: requests, historySince: requests.min().map { calendar(settings).startOfDay(for: $0) },
                        at: now, settings: settings)
    }

    static func calendar(_ settings: SpareForecastSettings) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: settings.timezone) ?? TimeZone(identifier: "UTC")!
        return calendar
    }
}

extension PoolSpec {
    /// The spares in words: `2`, `auto`, `1 running + 3 saved`, `auto + 2 saved`.
    public var sparesText: String {
        let running = forecast == nil ? String(spare) : "auto"
        guard savedSpare > 0 else { return running }
        return forecast == nil ? "\(running) running + \(savedSpare) saved" : "\(running) + \(savedSpare) saved"
    }

    /// The pool as the reconciler sizes it at `date`: its schedule's sizes where an entry
    /// holds, and with `spare: auto` the running spares `forecast` asks for (within max, less
    /// the saved spares).
    public func sized(at date: Date, forecast: SpareForecast?) -> PoolSpec {
        var sized = scheduled(at: date)
        if sized.forecast != nil, let forecast {
            sized.spare = Swift.max(0, Swift.min(forecast.spares, sized.max - sized.savedSpare))
        } else if sized.forecast != nil {
            sized.spare = Swift.min(sized.forecast?.buffer ?? 0, sized.max)
        }
        return sized
    }
}
