import DeskpoolCore
import Foundation

/// How both stores write what they keep: dates as whole milliseconds since 1970 (an integer
/// column), specs and records as JSON text with sorted keys, and the words of their errors and
/// audit details.
enum StoreCoding {
    // A record a store returns carries its dates as read back, so it equals what a later read
    // returns.

    static func millis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(_ millis: Int64) -> Date {
        Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// `date` as it reads back from the store.
    static func stored(_ date: Date) -> Date {
        self.date(millis(date))
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, json: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(json.utf8))
    }

    static func versionNotFound(_ template: String, _ number: Int) -> DeskpoolError {
        DeskpoolError(.notFound, "template '\(template)' has no version \(number)", field: "version")
    }

    static func stateDetail(_ old: DesktopState, _ new: Desktop) -> String {
        var detail = "\(old.rawValue) -> \(new.state.rawValue)"
        if let reason = new.reason { detail += " reason: \(reason)" }
        if let user = new.user { detail += " user: \(user)" }
        return detail
    }
}
