import DeskpoolClient
import DeskpoolCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes JSON (already pretty) to standard output with a final newline.
func printJSON(_ data: Data) {
    writeOutput(data + Data("\n".utf8))
}

/// Writes bytes to standard output, unbuffered. A reader that went away (`| head`) ends the
/// command quietly, as it would end any Unix filter.
func writeOutput(_ data: Data) {
    fflush(nil)
    data.withUnsafeBytes { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                exit(errno == EPIPE ? 0 : 1)
            }
            offset += written
        }
    }
}

/// How the CLI shows times, sizes and absent values.
enum Display {
    /// `2026-12-01 22:30:00Z`: UTC, to the second.
    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        return date.formatted(Date.ISO8601FormatStyle(dateSeparator: .dash, dateTimeSeparator: .space, timeSeparator: .colon, timeZone: .gmt))
    }

    /// `45s`, `12m`, `3h`, `5d` since a time.
    static func age(_ date: Date, now: Date = Date()) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m"
        case ..<86400: return "\(seconds / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }

    static func text(_ value: String?) -> String {
        guard let value, !value.isEmpty else { return "-" }
        return value
    }

    static func list(_ values: [String]) -> String {
        values.isEmpty ? "-" : values.joined(separator: ",")
    }

    /// MiB as `512 MiB`, `3.5 GiB`.
    static func mebibytes(_ value: Int?) -> String {
        guard let value else { return "-" }
        if value < 1024 { return "\(value) MiB" }
        let gib = Double(value) / 1024
        return gib >= 100 ? "\(Int(gib.rounded())) GiB" : String(format: "%.1f GiB", gib)
    }

    /// `key: value` lines with the keys aligned.
    static func fields(_ pairs: [(String, String)]) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { key, value in key + ":" + String(repeating: " ", count: width - key.count + 1) + value }
            .joined(separator: "\n") + "\n"
    }
}
