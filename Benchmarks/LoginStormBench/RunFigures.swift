import BenchSupport
import Foundation

/// One measured run: per-user latencies, the wall time from the first start to the last
/// answer, failures, and the process's CPU time over the run.
struct RunFigures: Sendable {
    var label: String
    var latencies: [Double] = []
    var failures = 0
    var firstFailure: String?
    var wall = 0.0
    var cpu = 0.0

    var count: Int { latencies.count + failures }
    /// Successful users per second of wall time.
    var throughput: Double { wall > 0 ? Double(latencies.count) / wall : 0 }
    var p50: Double { Self.percentile(latencies, 0.50) }
    var p99: Double { Self.percentile(latencies, 0.99) }
    var mean: Double { latencies.isEmpty ? 0 : latencies.reduce(0, +) / Double(latencies.count) }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    mutating func fail(_ description: String) {
        failures += 1
        if firstFailure == nil { firstFailure = description }
    }

    /// Runs `body(i)` for i in 0..<count with at most `concurrency` in flight, timing each one.
    static func measure(_ label: String, count: Int, concurrency: Int,
                        _ body: @escaping @Sendable (Int) async -> String?) async -> RunFigures {
        var figures = RunFigures(label: label)
        let cpuStart = processCPUSeconds()
        let start = ContinuousClock.now
        await withTaskGroup(of: (Double, String?).self) { group in
            var next = 0
            func add() {
                let i = next
                next += 1
                group.addTask {
                    let begin = ContinuousClock.now
                    let failure = await body(i)
                    return ((ContinuousClock.now - begin).seconds, failure)
                }
            }
            while next < min(count, concurrency) { add() }
            for await (latency, failure) in group {
                if let failure { figures.fail(failure) } else { figures.latencies.append(latency) }
                if next < count { add() }
            }
        }
        figures.wall = (ContinuousClock.now - start).seconds
        figures.cpu = processCPUSeconds() - cpuStart
        return figures
    }
}
