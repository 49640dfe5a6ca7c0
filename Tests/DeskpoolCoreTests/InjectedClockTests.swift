import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// The services' timers run on the clock they are given: a test moves time instead of
/// waiting for it.
@Suite("Services on an injected clock")
struct InjectedClockTests {
    static func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TimeoutError(what: what, duration: .seconds(10)) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("the reconciler sweeps when its clock passes the interval, not before")
    func reconcilerSweeps() async throws {
        let clock = ManualClock()
        var broker = BrokerConfiguration()
        broker.sweepIntervalSeconds = 60
        let reconciler = ReconcilerService(store: try SQLiteStore.inMemory(), hosts: Hosts([FakeHypervisor(host: "a")]),
                                           options: .init(broker: broker), clock: clock)
        let running = Task { try await reconciler.run() }
        defer { running.cancel() }
        // The first pass (started by run) and the sweep's timer waiting on the clock.
        try await Self.waitFor("the first pass and the sweep timer") { reconciler.passes >= 1 && clock.sleepers >= 1 }
        try await Task.sleep(for: .milliseconds(300))
        let before = reconciler.passes
        try await Task.sleep(for: .milliseconds(300))
        #expect(reconciler.passes == before, "no sweep while the clock stands still")
        clock.advance(by: .seconds(59))
        try await Task.sleep(for: .milliseconds(200))
        #expect(reconciler.passes == before, "no sweep before the interval")
        clock.advance(by: .seconds(1))
        try await Self.waitFor("a sweep once the interval passed") { reconciler.passes > before }
    }

    @Test("a manual clock wakes sleepers at their deadline, and a cancelled sleeper at once")
    func manualClock() async throws {
        let clock = ManualClock()
        let woke = Task { try await clock.sleep(for: .seconds(5)); return clock.now.offset }
        try await Self.waitFor("the sleeper") { clock.sleepers == 1 }
        clock.advance(by: .seconds(4))
        #expect(clock.sleepers == 1)
        clock.advance(by: .seconds(1))
        #expect(try await woke.value == .seconds(5))
        let cancelled = Task { try await clock.sleep(for: .seconds(5)) }
        try await Self.waitFor("the second sleeper") { clock.sleepers == 1 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(clock.sleepers == 0)
    }
}
