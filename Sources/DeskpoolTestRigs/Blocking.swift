import Dispatch

/// Runs a blocking call (a socket read with a timeout, a process) on a thread of its own, not
/// on Swift's cooperative pool: that pool has one thread per core, and a test blocking it
/// starves the server under test on the same pool (on two cores, two such tests stop it).
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// `blocking` for a call that cannot throw.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}
