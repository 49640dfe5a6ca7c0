/// `window: {days: [mon, tue], start: "22:00", end: "06:00", utcOffset: "+01:00"}`. `days`
/// defaults to every day and `utcOffset` to `+00:00`; `start` and `end` are required and
/// differ. Quote the times: unquoted, YAML 1.1 may read `22:00` as a number in base 60 (both
/// are accepted here, since the text is read as written).
extension MaintenanceWindow: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case days, start, end, utcOffset
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "window")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var days = Set(Day.allCases)
        if let names = try c.decodeIfPresent([String].self, forKey: .days) {
            let allowed = Day.allCases.map(\.rawValue).joined(separator: ", ")
            try c.superDecoder(forKey: .days).require(!names.isEmpty, "window.days must name at least one day (\(allowed))")
            days = []
            for name in names {
                guard let day = Day(rawValue: name.lowercased()) else {
                    throw try c.superDecoder(forKey: .days).invalid("window.days: '\(name)' is not a day (one of \(allowed))")
                }
                days.insert(day)
            }
        }
        var minutes: [Int] = []
        for key in [CodingKeys.start, .end] {
            guard let text = try c.decodeScalarText(key, "window.\(key.stringValue)", expecting: "a time HH:MM") else {
                throw decoder.invalid("window.\(key.stringValue) is required (a time HH:MM)")
            }
            guard let minute = PolicyValues.minuteOfDay(text) else {
                throw try c.superDecoder(forKey: key).invalid("window.\(key.stringValue) must be a time from 00:00 to 23:59, not '\(text)'")
            }
            minutes.append(minute)
        }
        try c.superDecoder(forKey: .end).require(minutes[0] != minutes[1],
                                                  "window.start and window.end are the same time: the window would be empty")
        var offset = 0
        if let text = try c.decodeScalarText(.utcOffset, "window.utcOffset", expecting: "an offset such as +01:00") {
            guard let minutes = PolicyValues.utcOffset(text) else {
                throw try c.superDecoder(forKey: .utcOffset).invalid("window.utcOffset must be +HH:MM or -HH:MM up to 14:00, not '\(text)'")
            }
            offset = minutes
        }
        self.init(days: days, startMinute: minutes[0], endMinute: minutes[1], utcOffsetMinutes: offset)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Day.allCases.filter(days.contains).map(\.rawValue), forKey: .days)
        try c.encode(PolicyValues.timeText(startMinute), forKey: .start)
        try c.encode(PolicyValues.timeText(endMinute), forKey: .end)
        try c.encode(PolicyValues.offsetText(utcOffsetMinutes), forKey: .utcOffset)
    }
}
