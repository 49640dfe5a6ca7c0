import Foundation

/// The small value grammars of policy files, shared by every kind: durations (`30s`, `15m`,
/// `2h` or seconds), desktop counts (`3` or `25%`), clock times (`22:00`) and UTC offsets
/// (`+01:00`). Each parser returns nil for text it does not accept; the caller words the error.
enum PolicyValues {
    /// `30s`, `15m`, `2h`, or a whole number of seconds.
    static func seconds(_ text: String) -> Int? {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard let last = text.last else { return nil }
        let factor: Int
        let digits: Substring
        switch last {
        case "s": factor = 1; digits = text.dropLast()
        case "m": factor = 60; digits = text.dropLast()
        case "h": factor = 3600; digits = text.dropLast()
        default: factor = 1; digits = Substring(text)
        }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        return n * factor
    }

    /// A duration as a file shows it: the largest whole unit.
    static func durationText(_ seconds: Int) -> String {
        if seconds > 0, seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds > 0, seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// `3` (a count) or `25%` (a percentage, not range-checked here).
    static func desktopCount(_ text: String) -> DesktopCount? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%") {
            let digits = text.dropLast()
            guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(digits) else { return nil }
            return .percent(p)
        }
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text) else { return nil }
        return .count(n)
    }

    /// `HH:MM`, 00:00-23:59, as minutes after midnight.
    static func minuteOfDay(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let hours = Int(parts[0]), let minutes = Int(parts[1]), hours < 24, minutes < 60
        else { return nil }
        return hours * 60 + minutes
    }

    static func timeText(_ minute: Int) -> String {
        let h = minute / 60, m = minute % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }

    /// `+HH:MM` or `-HH:MM` up to 14 hours, or `Z`, as minutes east of UTC.
    static func utcOffset(_ text: String) -> Int? {
        if text == "Z" { return 0 }
        guard let sign = text.first, sign == "+" || sign == "-", let minutes = minuteOfDay(String(text.dropFirst())),
              minutes <= 14 * 60
        else { return nil }
        return sign == "-" ? -minutes : minutes
    }

    static func offsetText(_ minutes: Int) -> String {
        (minutes < 0 ? "-" : "+") + timeText(abs(minutes))
    }

    /// Whether `text` has no control characters (one line of plain text).
    static func isSingleLine(_ text: String) -> Bool {
        !text.unicodeScalars.contains { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" }
    }
}

// MARK: - Decoding helpers

extension KeyedDecodingContainer {
    /// A scalar as text, whatever YAML resolved it to (`15m`, `90`, `"10%"`); JSON numbers too.
    func decodeScalarText(_ key: Key, _ name: String, expecting: String) throws -> String? {
        guard contains(key) else { return nil }
        if let text = try? decode(String.self, forKey: key) { return text }
        if let number = try? decode(Int.self, forKey: key) { return String(number) }
        throw try superDecoder(forKey: key).invalid("\(name) must be \(expecting)")
    }

    /// An optional duration in seconds (`30s`, `15m`, `2h` or a number of seconds) within `range`.
    func decodeDuration(_ key: Key, _ name: String, _ range: ClosedRange<Int>) throws -> Int? {
        let expecting = "a duration such as 30s, 15m, 2h or a number of seconds"
        guard let text = try decodeScalarText(key, name, expecting: expecting) else { return nil }
        guard let seconds = PolicyValues.seconds(text) else {
            throw try superDecoder(forKey: key).invalid("\(name) must be \(expecting), not '\(text)'")
        }
        guard range.contains(seconds) else {
            throw try superDecoder(forKey: key).invalid(
                "\(name) must be between \(PolicyValues.durationText(range.lowerBound)) and \(PolicyValues.durationText(range.upperBound)), not \(text)")
        }
        return seconds
    }

    /// An optional list of safe names (pools, a selector's labels).
    func decodeSafeNames(_ key: Key, _ name: String) throws -> [String]? {
        guard let names = try decodeIfPresent([String].self, forKey: key) else { return nil }
        if let bad = names.first(where: { !DeskpoolConfiguration.isSafeName($0) }) {
            throw try superDecoder(forKey: key).invalid("\(name): '\(bad)' is not a name (letters, digits, '.', '_' or '-', at most 64)")
        }
        return names
    }

    /// An optional string of at most `limit` characters.
    func decodeText(_ key: Key, _ name: String, limit: Int, singleLine: Bool = false) throws -> String? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard text.count <= limit else {
            throw try superDecoder(forKey: key).invalid("\(name) must be at most \(limit) characters, not \(text.count)")
        }
        if singleLine, !PolicyValues.isSingleLine(text) {
            throw try superDecoder(forKey: key).invalid("\(name) must be one line without control characters")
        }
        return text
    }

    /// `true` for a check or flag that can only be switched on by naming it.
    func decodeTrue(_ key: Key, _ name: String) throws -> Bool {
        guard try decode(Bool.self, forKey: key) else {
            throw try superDecoder(forKey: key).invalid("\(name) must be true (leave it out to skip it)")
        }
        return true
    }
}

extension Decoder {
    /// An invalid-value error pointing at this decoder's node, when `condition` fails.
    func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(ConfigurationError) {
        if !condition { throw invalid(message()) }
    }
}
