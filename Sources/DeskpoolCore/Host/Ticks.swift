/// A tick every `interval` on an injected clock: the services' timers (a `ContinuousClock`
/// in production; a test drives a manual one). Ends when its task is cancelled.
public struct Ticks: AsyncSequence, Sendable {
    public typealias Element = Void
    let interval: Duration
    let clock: any Clock<Duration>

    public init(every interval: Duration, on clock: any Clock<Duration>) {
        self.interval = interval
        self.clock = clock
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let interval: Duration
        let clock: any Clock<Duration>

        public mutating func next() async -> Void? {
            do {
                try await clock.sleep(for: interval)
                return ()
            } catch {
                return nil  // cancelled
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(interval: interval, clock: clock) }
}
