internal import CLibvirt
import NIOPosix
import Foundation
import Synchronization

/// Process-wide libvirt set-up: done once, before the first connection.
///
/// - The default event loop implementation is registered and run on a thread of its own, so
///   event callbacks and keepalives work; `virEventRunDefaultImpl` blocks.
/// - SIGPIPE is ignored, as libvirt requires of its users (a daemon that restarts must not
///   kill the broker).
/// - libvirt's default error handler (which prints every error to stderr) is silenced: errors
///   are returned as `LibvirtError` and the caller decides what to log.
/// - Calls that can block (everything that may talk to a daemon or touch storage) run on a
///   dedicated thread pool, never on Swift's cooperative pool.
enum LibvirtRuntime {
    /// Threads for blocking libvirt calls. Starts and storage copies can take seconds each,
    /// so this is sized for concurrency, not for cores. Override with
    /// `DESKPOOL_LIBVIRT_THREADS`.
    static let threadCount: Int = {
        if let value = ProcessInfo.processInfo.environment["DESKPOOL_LIBVIRT_THREADS"],
           let count = Int(value), count > 0 {
            return count
        }
        return 16
    }()

    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()

    /// Marks the pool's threads, so a call made on one of them runs in place.
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether the current thread is one of libvirt's threads (where blocking is fine).
    static var isOnLibvirtThread: Bool { pthread_getspecific(threadKey) != nil }

    private static func markCurrentThread() {
        if pthread_getspecific(threadKey) == nil {
            pthread_setspecific(threadKey, UnsafeRawPointer(bitPattern: 1))
        }
    }

    /// Runs `body` on a libvirt thread without waiting for it.
    static func execute(_ body: @escaping @Sendable () -> Void) {
        ensureStarted()
        pool.submit { state in
            guard case .active = state else { return }
            markCurrentThread()
            body()
        }
    }

    private static let started: Bool = {
        // libvirt writes to its daemon's socket with write(2): a daemon that went away
        // (libvirtd restarted) would kill the process with SIGPIPE. libvirt asks its users to
        // ignore the signal; the write then fails with EPIPE and the connection closes.
        signal(SIGPIPE, SIG_IGN)
        _ = virInitialize()
        virSetErrorFunc(nil, silenceErrors)
        guard virEventRegisterDefaultImpl() == 0 else { return false }
        let thread = Thread {
            while true {
                if virEventRunDefaultImpl() < 0 { Thread.sleep(forTimeInterval: 0.05) }
            }
        }
        thread.name = "libvirt-events"
        thread.start()
        return true
    }()

    /// Makes sure the runtime is set up; cheap after the first call.
    static func ensureStarted() {
        _ = started
    }

    /// Runs `body` on a libvirt thread and returns its result. `body` reads libvirt's error
    /// on that same thread. Already on a libvirt thread (a task running on
    /// `LibvirtExecutor.shared`), it runs in place, without a thread hop.
    static func run<T: Sendable>(
        _ body: @escaping @Sendable () throws(LibvirtError) -> T
    ) async throws(LibvirtError) -> T {
        ensureStarted()
        if isOnLibvirtThread { return try body() }
        let result: Result<T, LibvirtError> = await withCheckedContinuation { continuation in
            pool.submit { state in
                guard case .active = state else {
                    continuation.resume(returning: .failure(
                        LibvirtError(code: .internalError, message: "libvirt thread pool is shut down")))
                    return
                }
                markCurrentThread()
                do throws(LibvirtError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Like `run`, but the caller can be let go before `body` returns: `register` receives a
    /// function that resumes the caller at once with an error (a connection closed under a
    /// call blocked on a frozen daemon). `body` still runs to its end on its thread; its late
    /// result is dropped. Returns nil from `register` to refuse (the caller gets the error it
    /// says). Already on a libvirt thread, it runs in place and cannot be let go.
    static func run<T: Sendable>(
        letGo register: (@escaping @Sendable (LibvirtError) -> Void) -> LibvirtError?,
        _ body: @escaping @Sendable () throws(LibvirtError) -> T
    ) async throws(LibvirtError) -> T {
        ensureStarted()
        if isOnLibvirtThread { return try body() }
        let once = ResumeOnce<T>()
        let result: Result<T, LibvirtError> = await withCheckedContinuation { continuation in
            once.wait(continuation)
            if let refusal = register({ error in once.resume(.failure(error)) }) {
                once.resume(.failure(refusal))
                return
            }
            pool.submit { state in
                guard case .active = state else {
                    once.resume(.failure(LibvirtError(code: .internalError, message: "libvirt thread pool is shut down")))
                    return
                }
                markCurrentThread()
                do throws(LibvirtError) {
                    once.resume(.success(try body()))
                } catch {
                    once.resume(.failure(error))
                }
            }
        }
        return try result.get()
    }
}

/// Resumes a continuation with the first result given; later ones are dropped.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Result<T, LibvirtError>, Never>?>(nil)

    func wait(_ continuation: CheckedContinuation<Result<T, LibvirtError>, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(_ result: Result<T, LibvirtError>) {
        continuation.withLock {
            $0?.resume(returning: result)
            $0 = nil
        }
    }
}

private func silenceErrors(_ userData: UnsafeMutableRawPointer?, _ error: virErrorPtr?) {}
