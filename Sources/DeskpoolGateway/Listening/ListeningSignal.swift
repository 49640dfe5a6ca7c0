import Synchronization

/// Tells waiters the port the gateway's listener bound (port 0 in the configuration picks a
/// free one), or why binding failed. A waiting task that is cancelled stops waiting.
final class ListeningSignal: Sendable {
    private struct State {
        var port: Int?
        var waiters: [UInt64: CheckedContinuation<Int, any Error>] = [:]
        /// Waiters cancelled before they were registered.
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    func wait() async throws -> Int {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let ready: Result<Int, any Error>? = state.withLock { state in
                    if let port = state.port { return .success(port) }
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Int, any Error>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.port == nil { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    func listening(on port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func failed(_ error: any Error) {
        let waiters = state.withLock { state in
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// The listener closed: later waiters wait for the next run.
    func stopped() {
        state.withLock { $0.port = nil }
    }
}
