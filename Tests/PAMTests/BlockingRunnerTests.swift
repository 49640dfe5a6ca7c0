@testable import PAM
import Foundation
import Synchronization
import Testing

/// The bounded, deadline-aware runner that keeps PAM's blocking calls off Swift's pool.
@Suite("Blocking runner")
struct BlockingRunnerTests {
    @Test("never runs more than its limit at once, and runs every job")
    func limit() async {
        let runner = BlockingRunner(limit: 2)
        let peak = Shared((current: 0, peak: 0))
        let results = await withTaskGroup(of: Int?.self) { group in
            for index in 0..<8 {
                group.addTask {
                    await runner.run(wait: .seconds(30), timeout: .seconds(30)) {
                        peak.value.withLock { $0.current += 1; $0.peak = max($0.peak, $0.current) }
                        usleep(20_000)
                        peak.value.withLock { $0.current -= 1 }
                        return index
                    }
                }
            }
            return await group.reduce(into: [Int?]()) { $0.append($1) }
        }
        #expect(results.compactMap { $0 }.sorted() == Array(0..<8))
        #expect(peak.value.withLock { $0.peak } == 2)
    }

    @Test("a job that overruns its deadline returns nil at the deadline and keeps its slot")
    func overrun() async throws {
        let runner = BlockingRunner(limit: 1)
        let release = DispatchSemaphore(value: 0)
        let started = ContinuousClock.now
        let result = await runner.run(wait: .seconds(1), timeout: .milliseconds(200)) { () -> Int in
            release.wait()
            return 1
        }
        #expect(result == nil)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(runner.runningCount == 1, "the blocked thread still holds its slot")
        release.signal()
        // Once the C call returns, the slot is free again.
        for _ in 0..<200 where runner.runningCount != 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(runner.runningCount == 0)
    }

    @Test("a job still waiting for a slot at its deadline never runs")
    func expiredWhileWaiting() async throws {
        let runner = BlockingRunner(limit: 1)
        let release = DispatchSemaphore(value: 0)
        let ran = Shared(false)
        async let blocker = runner.run(wait: .seconds(30), timeout: .seconds(30)) { () -> Int in
            release.wait()
            return 0
        }
        try await Task.sleep(for: .milliseconds(50))
        let waiting = await runner.run(wait: .milliseconds(100), timeout: .seconds(30)) { () -> Int in
            ran.value.withLock { $0 = true }
            return 1
        }
        #expect(waiting == nil)
        release.signal()
        #expect(await blocker == 0)
        try await Task.sleep(for: .milliseconds(100))
        #expect(ran.value.withLock { $0 } == false)
    }

    @Test("a queued job that waits longer than its run timeout, but within its wait, still runs: a queue is not a hang")
    func queueIsNotAHang() async throws {
        let runner = BlockingRunner(limit: 1)
        async let blocker = runner.run(wait: .seconds(5), timeout: .seconds(5)) { () -> Int in
            Thread.sleep(forTimeInterval: 0.4)
            return 0
        }
        try await Task.sleep(for: .milliseconds(50))
        let queued = await runner.run(wait: .seconds(5), timeout: .milliseconds(200)) { () -> Int in 1 }
        #expect(queued == 1)
        #expect(await blocker == 0)
    }
}

/// A value shared between test tasks and blocking threads.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}
