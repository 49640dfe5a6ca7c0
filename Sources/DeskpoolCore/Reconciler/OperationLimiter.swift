import Foundation

/// Bounds how many operations run at once on one host (clones, defines, starts); the rest
/// wait in order. Waiting for a guest to boot is not an operation and holds no slot.
///
/// A waiter whose task is cancelled (the broker shutting down) leaves the queue at once with
/// `CancellationError` and never runs: a stop does not wait for the queue to drain.
public actor OperationLimiter {
    private let limit: Int
    private var running = 0
    private var waiters: [(id: UUID, continuation: CheckedContinuation<Void, any Error>)] = []

    public init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Runs `body` when a slot is free; throws `CancellationError` if the task is cancelled
    /// before that.
    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if running >= limit {
            let id = UUID()
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        waiters.append((id, continuation))
                    }
                }
            } onCancel: {
                Task { await self.leave(id) }
            }
        } else {
            running += 1
        }
        // The slot is ours from here (given by `release`, or taken above).
        defer { release() }
        try Task.checkCancellation()
        return try await body()
    }

    /// Operations running now and waiting (for tests and metrics).
    public var load: (running: Int, waiting: Int) { (running, waiters.count) }

    private func leave(_ id: UUID) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }  // got its slot meanwhile
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    private func release() {
        if waiters.isEmpty {
            running -= 1
        } else {
            waiters.removeFirst().continuation.resume()  // the slot passes straight to the next waiter
        }
    }
}
