import DeskpoolTesting

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds, failing after `limit`: tests wait on conditions, never
/// on fixed sleeps.
func eventually(_ what: String, within limit: Duration = .seconds(10), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimeoutError(what: what, duration: limit) }
        try await Task.sleep(for: .milliseconds(5))
    }
}
