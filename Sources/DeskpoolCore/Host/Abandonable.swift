import ServiceLifecycle
import Synchronization

/// `body`'s result, or nil when `limit` passes first (without a limit: when the service group
/// shuts down first), or the calling task is cancelled. `body` is then left to finish on its
/// own — a blocked libvirt call cannot be interrupted, and a task group would wait for it — and
/// its late result goes to `late` (to close a connection opened too late, say).
public func abandonable<T: Sendable>(
    within limit: Duration? = nil, late: (@Sendable (T) async -> Void)? = nil, _ body: @escaping @Sendable () async -> T
) async -> T? {
    let answer = Mutex(AbandonableAnswer<T>())
    let give = { @Sendable (value: T?) -> Bool in
        answer.withLock { slot -> Bool in
            guard !slot.given else { return false }
            slot.given = true
            if let waiting = slot.waiting { waiting.resume(returning: value) } else { slot.value = value }
            slot.waiting = nil
            return true
        }
    }
    let work = Task {
        let result = await body()
        if !give(result) { await late?(result) }
    }
    let deadline = Task {
        if let limit { try? await Task.sleep(for: limit) } else { try? await gracefulShutdown() }
        _ = give(nil)
    }
    defer { deadline.cancel() }
    return await withTaskCancellationHandler {
        await withCheckedContinuation { continuation in
            let given = answer.withLock { slot -> (Bool, T?) in
                if slot.given { return (true, slot.value) }
                slot.waiting = continuation
                return (false, nil)
            }
            // Answered before we waited: `give` kept the value.
            if given.0 { continuation.resume(returning: given.1) }
        }
    } onCancel: {
        _ = give(nil)
        work.cancel()
    }
}

private struct AbandonableAnswer<T: Sendable> {
    var waiting: CheckedContinuation<T?, Never>?
    var value: T?
    var given = false
}
