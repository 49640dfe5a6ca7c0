/// A test waited longer than it allowed.
public struct TimeoutError: Error, CustomStringConvertible {
    public let what: String
    public let duration: Duration
    public var description: String { "timed out after \(duration) waiting for \(what)" }

    public init(what: String, duration: Duration) {
        self.what = what
        self.duration = duration
    }
}

/// Runs `body`, failing with `TimeoutError` if it takes longer than `duration`. For tests
/// that wait on a condition (an event, a state): they wait generously, never forever.
public func withTimeout<T: Sendable>(
    _ duration: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw TimeoutError(what: what, duration: duration)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
