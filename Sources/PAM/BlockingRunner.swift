import Foundation
import Synchronization

/// Runs blocking jobs on dedicated threads, at most `limit` at a time, with two bounds: how
/// long a job may wait for a slot, and how long it may run once started.
///
/// A job that waits for a slot past its wait is dropped without running. A job that runs
/// past its timeout keeps its thread and slot until the C call returns (a thread in C
/// cannot be cancelled), but its caller gets `nil` at the deadline. So a hung PAM module
/// costs at most `limit` threads, never an unbounded number. The two bounds are separate so
/// that a queue of healthy logins (a morning login storm) is not mistaken for a hung module.
final class BlockingRunner: Sendable {
    let limit: Int
    private let state: Mutex<State>

    private struct State {
        var running = 0
        var waiting: [any RunnableJob] = []
    }

    init(limit: Int) {
        precondition(limit > 0, "limit must be positive")
        self.limit = limit
        self.state = Mutex(State())
    }

    /// How many jobs run right now (for tests and metrics).
    var runningCount: Int { state.withLock { $0.running } }

    /// Runs `body` on a dedicated thread; `nil` when it waited longer than `wait` for a slot
    /// (it then never runs) or ran longer than `timeout`.
    func run<T: Sendable>(wait: Duration, timeout: Duration, _ body: @escaping @Sendable () -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let job = Job(body: body, continuation: continuation, timeout: timeout)
            let startNow = state.withLock { state -> Bool in
                if state.running < limit {
                    state.running += 1
                    return true
                }
                state.waiting.append(job)
                return false
            }
            if startNow {
                start(job)
            } else {
                DispatchQueue.global().asyncAfter(deadline: .now() + Self.dispatchTime(wait)) { [self] in
                    let dropped = state.withLock { state -> Bool in
                        let before = state.waiting.count
                        state.waiting.removeAll { $0 === job }
                        return state.waiting.count < before
                    }
                    if dropped { job.expire() }
                }
            }
        }
    }

    static func dispatchTime(_ duration: Duration) -> DispatchTimeInterval {
        .nanoseconds(Int(duration.components.seconds) * 1_000_000_000 + Int(duration.components.attoseconds / 1_000_000_000))
    }

    private func start(_ job: any RunnableJob) {
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.dispatchTime(job.timeout)) { job.expire() }
        let thread = Thread { [self] in
            job.execute()
            let next = state.withLock { state -> (any RunnableJob)? in
                if state.waiting.isEmpty {
                    state.running -= 1
                    return nil
                }
                return state.waiting.removeFirst()
            }
            if let next { start(next) }
        }
        thread.name = "deskpool-blocking"
        thread.start()
    }
}

private protocol RunnableJob: AnyObject, Sendable {
    /// How long the job may run once started.
    var timeout: Duration { get }
    func execute()
    func expire()
}

/// One job: resumes its caller exactly once, with the result or with `nil` at the deadline.
private final class Job<T: Sendable>: RunnableJob, @unchecked Sendable {
    // @unchecked: `body` and `continuation` are guarded by `lock`.
    private let lock = NSLock()
    private var body: (@Sendable () -> T)?
    private var continuation: CheckedContinuation<T?, Never>?
    let timeout: Duration

    init(body: @escaping @Sendable () -> T, continuation: CheckedContinuation<T?, Never>, timeout: Duration) {
        self.body = body
        self.continuation = continuation
        self.timeout = timeout
    }

    func execute() {
        // Take the body so whatever it captured (a password) goes away with the call.
        guard let body = lock.withLock({ () -> (@Sendable () -> T)? in
            defer { self.body = nil }
            return continuation == nil ? nil : self.body
        }) else { return }
        let value = body()
        resume(value)
    }

    func expire() {
        lock.withLock { body = nil }
        resume(nil)
    }

    private func resume(_ value: T?) {
        let waiting = lock.withLock { () -> CheckedContinuation<T?, Never>? in
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume(returning: value)
    }
}
