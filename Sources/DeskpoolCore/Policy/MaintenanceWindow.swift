public import Foundation

/// When a rollout may change desktops: on `days`, from `start` to `end` (minutes after
/// midnight, in UTC or a fixed UTC offset). A window whose end is before its start runs past
/// midnight (22:00-06:00), and belongs to the day it starts on.
public struct MaintenanceWindow: Sendable, Hashable {
    public enum Day: String, Sendable, Hashable, CaseIterable {
        case sun, mon, tue, wed, thu, fri, sat
    }

    public var days: Set<Day>
    public var startMinute: Int
    public var endMinute: Int
    /// Minutes east of UTC.
    public var utcOffsetMinutes: Int

    public init(days: Set<Day> = Set(Day.allCases), startMinute: Int, endMinute: Int, utcOffsetMinutes: Int = 0) {
        self.days = days
        self.startMinute = startMinute
        self.endMinute = endMinute
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    /// Whether `date` falls inside the window.
    public func contains(_ date: Date) -> Bool {
        let local = Int(date.timeIntervalSince1970.rounded(.down)) / 60 + utcOffsetMinutes
        let minute = ((local % 1440) + 1440) % 1440
        let dayIndex = (((local - minute) / 1440 + 4) % 7 + 7) % 7  // 1970-01-01 was a Thursday
        let today = Day.allCases[dayIndex]
        let yesterday = Day.allCases[(dayIndex + 6) % 7]
        if startMinute <= endMinute {
            return days.contains(today) && minute >= startMinute && minute < endMinute
        }
        return (days.contains(today) && minute >= startMinute) || (days.contains(yesterday) && minute < endMinute)
    }
}
