public import Foundation

/// A pool's sizes by time of day (`schedule:` in a pool file): each entry names days, a time
/// window in a time zone, and the `min`, `spare` and `max` that hold inside it; outside every
/// entry the pool's own sizes hold. The first entry that matches wins. The reconciler sizes the
/// pool with `PoolSpec.scheduled(at:)`; desktops in use are never taken away (it only retires
/// idle ones).
public struct ScheduleEntry: Sendable, Hashable, Codable {
    public enum Day: String, Sendable, Hashable, Codable, CaseIterable {
        case mon, tue, wed, thu, fri, sat, sun

        /// Calendar's weekday numbering: Sunday 1 ... Saturday 7.
        init?(weekday: Int) {
            let days: [Day] = [.sun, .mon, .tue, .wed, .thu, .fri, .sat]
            guard (1...7).contains(weekday) else { return nil }
            self = days[weekday - 1]
        }
    }

    /// The days the window starts on (a window past midnight ends the next day).
    public var days: [Day]
    /// Minutes after midnight: `from` ..< `to` (`to` <= `from`: the window ends the next day).
    public var from: Int
    public var to: Int
    /// An IANA time zone (`Europe/Berlin`); default UTC.
    public var timezone: String
    public var min: Int?
    public var spare: Int?
    /// Spares kept saved to disk in the window (nil: the pool's).
    public var saved: Int?
    public var max: Int?

    public init(days: [Day], from: Int, to: Int, timezone: String = "UTC", min: Int? = nil, spare: Int? = nil, saved: Int? = nil, max: Int? = nil) {
        self.days = days
        self.from = from
        self.to = to
        self.timezone = timezone
        self.min = min
        self.spare = spare
        self.saved = saved
        self.max = max
    }

    /// Whether the window holds `date`.
    public func contains(_ date: Date) -> Bool {
        guard let zone = TimeZone(identifier: timezone) else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        guard let weekday = parts.weekday, let day = Day(weekday: weekday) else { return false }
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        if from < to { return days.contains(day) && minute >= from && minute < to }
        // Past midnight: the evening part on its day, the morning part on the next.
        let previous = Day(weekday: weekday == 1 ? 7 : weekday - 1)!
        return (days.contains(day) && minute >= from) || (days.contains(previous) && minute < to)
    }

    /// `HH:MM` of minutes after midnight.
    public static func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }

    /// Minutes after midnight of `HH:MM` (`24:00` is the end of the day); nil when malformed.
    public static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let hours = Int(parts[0]), let minutes = Int(parts[1]), (0...59).contains(minutes),
              (0...23).contains(hours) || (hours == 24 && minutes == 0) else { return nil }
        return hours * 60 + minutes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case days, from, to, timezone, min, spare, saved, max
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "a schedule entry")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let names = try c.decode([String].self, forKey: .days)
        var days: [Day] = []
        for name in names {
            guard let day = Day(rawValue: name.lowercased()) else {
                throw try c.superDecoder(forKey: .days).invalid("days must be mon, tue, wed, thu, fri, sat or sun, not '\(name)'")
            }
            if !days.contains(day) { days.append(day) }
        }
        guard !days.isEmpty else { throw try c.superDecoder(forKey: .days).invalid("days must name at least one day") }
        self.days = days
        func time(_ key: CodingKeys) throws -> Int {
            let text = try c.decode(String.self, forKey: key)
            guard let value = Self.minutes(text) else {
                throw try c.superDecoder(forKey: key).invalid("\(key.stringValue) must be a time HH:MM (00:00 to 24:00), not '\(text)'")
            }
            return value
        }
        from = try time(.from)
        to = try time(.to)
        guard from != to else { throw try c.superDecoder(forKey: .to).invalid("to must differ from from (an empty window)") }
        timezone = try c.decodeIfPresent(String.self, forKey: .timezone) ?? "UTC"
        guard timezone.utf8.count <= 64, TimeZone(identifier: timezone) != nil else {
            throw try c.superDecoder(forKey: .timezone).invalid("timezone must be an IANA time zone such as Europe/Berlin, not '\(timezone)'")
        }
        for key in [CodingKeys.min, .spare, .saved, .max] {
            if let value = try c.decodeIfPresent(Int.self, forKey: key), value < 0 {
                throw try c.superDecoder(forKey: key).invalid("\(key.stringValue) must not be negative, not \(value)")
            }
        }
        min = try c.decodeIfPresent(Int.self, forKey: .min)
        spare = try c.decodeIfPresent(Int.self, forKey: .spare)
        saved = try c.decodeIfPresent(Int.self, forKey: .saved)
        max = try c.decodeIfPresent(Int.self, forKey: .max)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(days.map(\.rawValue), forKey: .days)
        try c.encode(Self.clock(from), forKey: .from)
        try c.encode(Self.clock(to), forKey: .to)
        try c.encode(timezone, forKey: .timezone)
        try c.encodeIfPresent(min, forKey: .min)
        try c.encodeIfPresent(spare, forKey: .spare)
        try c.encodeIfPresent(saved, forKey: .saved)
        try c.encodeIfPresent(max, forKey: .max)
    }
}

extension PoolSpec {
    /// The schedule entry that holds at `date`, if any (the first that matches).
    public func scheduleEntry(at date: Date) -> (index: Int, entry: ScheduleEntry)? {
        schedule.enumerated().first { $0.element.contains(date) }.map { ($0.offset, $0.element) }
    }

    /// The pool as it is sized at `date`: its schedule's sizes where an entry holds, its own
    /// elsewhere.
    public func scheduled(at date: Date) -> PoolSpec {
        guard let (_, entry) = scheduleEntry(at: date) else { return self }
        var sized = self
        sized.min = entry.min ?? min
        sized.spare = entry.spare ?? spare
        sized.savedSpare = entry.saved ?? savedSpare
        // A window with its own running spares holds them: the forecast rests.
        if entry.spare != nil { sized.forecast = nil }
        sized.max = entry.max ?? max
        return sized
    }

    /// Checks the schedule's entries against the pool's sizes (each entry's min, spare and max,
    /// with the pool's for what it leaves out, as `validate` checks the pool's own).
    func validateSchedule() throws(DeskpoolError) {
        guard schedule.count <= 50 else { throw DeskpoolError(.invalidInput, "at most 50 entries", field: "schedule") }
        for (index, entry) in schedule.enumerated() {
            let (low, spares, saved, high) = (entry.min ?? min, entry.spare ?? spare, entry.saved ?? savedSpare, entry.max ?? max)
            let field = "schedule[\(index)]"
            guard high >= 1, high <= Self.maxDesktops else {
                throw DeskpoolError(.invalidInput, "max must be between 1 and \(Self.maxDesktops)", field: field)
            }
            guard low <= high else { throw DeskpoolError(.invalidInput, "min (\(low)) must not exceed max (\(high))", field: field) }
            guard spares <= high else { throw DeskpoolError(.invalidInput, "spare (\(spares)) must not exceed max (\(high))", field: field) }
            // Subtracted, not added: a huge number must be refused, not overflow.
            guard spares >= 0, saved >= 0, saved <= high - spares else {
                throw DeskpoolError(.invalidInput, "running and saved spares (\(spares) + \(saved)) must not exceed max (\(high))", field: field)
            }
        }
    }
}
