import BenchSupport
import Foundation
import Logging

/// VmRSS and VmHWM of this process, MiB, from /proc/self/status.
func memoryMiB() -> (rss: Double, hwm: Double) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func value(_ key: String) -> Double {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024  // kB
    }
    return (value("VmRSS"), value("VmHWM"))
}

/// The broker's logs at warning and above, on standard error.
func benchLogger(_ label: String) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    return logger
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The host a benchmark runs desktops on and what it clones them from: `--uri`,
/// `--storage-pool`, `--image`, `--template`, `--state-dir`, `--domain-type`.
struct BenchHost {
    let uri: String
    let storagePool: String
    let image: String
    let templateDirectory: String
    let stateDirectory: String
    let domainType: String

    init(_ arguments: Arguments) {
        uri = arguments.string("uri", "qemu:///system")
        storagePool = arguments.string("storage-pool")
        image = arguments.string("image")
        templateDirectory = arguments.string("template")
        stateDirectory = arguments.string("state-dir")
        domainType = arguments.string("domain-type", "qemu")
    }
}
