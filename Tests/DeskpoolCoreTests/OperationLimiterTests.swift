import DeskpoolCore
import Foundation
import Synchronization
import Testing

/// `OperationLimiter`: at most `limit` bodies at once, in order; a cancelled waiter leaves at
/// once and never runs (a stopping broker does not drain the queue).
@Suite("Operation limiter")
struct OperationLimiterTests {
    @Test("cancelled waiters throw at once and never run; the holder and later waiters are unaffected")
    func cancelledWaiters() async throws {
        let limiter = OperationLimiter(limit: 1)
        let ran = Shared<[Int]>([])
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await limiter.run {
                ran.withLock { $0.append(0) }
                for await _ in release.stream { break }
            }
        }
        while await limiter.load.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let waiters = (1...3).map { n in Task { try await limiter.run { ran.withLock { $0.append(n) } } } }
        while await limiter.load.waiting < 3 { try await Task.sleep(for: .milliseconds(5)) }
        let clock = ContinuousClock()
        let cancelled = clock.now
        for waiter in waiters { waiter.cancel() }
        for waiter in waiters {
            await #expect(throws: CancellationError.self) { try await waiter.value }
        }
        #expect(clock.now - cancelled < .seconds(1), "the waiters left at once, while the slot is still held")
        #expect(await limiter.load.waiting == 0)
        let later = Task { try await limiter.run { ran.withLock { $0.append(4) } } }
        while await limiter.load.waiting < 1 { try await Task.sleep(for: .milliseconds(5)) }
        release.continuation.yield()
        try await holder.value
        try await later.value
        #expect(ran.withLock { $0 } == [0, 4], "only the holder and the later waiter ran")
        #expect(await limiter.load.running == 0)
    }

    @Test("at most the limit at once, in order")
    func bound() async throws {
        let limiter = OperationLimiter(limit: 2)
        let state = Shared<(now: Int, most: Int, order: [Int])>((0, 0, []))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<10 {
                group.addTask {
                    try await limiter.run {
                        state.withLock { $0.now += 1; $0.most = max($0.most, $0.now); $0.order.append(n) }
                        try await Task.sleep(for: .milliseconds(10))
                        state.withLock { $0.now -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(state.withLock { $0.most } == 2)
        #expect(state.withLock { $0.order.count } == 10)
    }
}

/// A value behind a lock that tasks share.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}
