import BenchSupport
import Foundation

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

/// The `p` quantile of sorted durations, in µs.
func percentile(_ sorted: [Duration], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))].seconds * 1e6
}

func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

func fmt2(_ value: Double) -> String { String(format: "%.2f", value) }

/// A signed difference: "+12.3" or "-4.5".
func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + fmt(value) }

/// User and system CPU seconds of the whole process so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// A table row: a label, then right-aligned cells of `width`.
func row(_ label: String, _ cells: String..., width: Int = 10) -> String {
    label.padding(toLength: 30, withPad: " ", startingAt: 0) + cells.map { pad($0, width) }.joined()
}

func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
