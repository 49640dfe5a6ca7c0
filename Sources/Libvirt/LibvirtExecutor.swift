/// A task executor on libvirt's own threads, where blocking libvirt calls are allowed.
///
/// Every `Libvirt` call runs its C call on a libvirt thread; called from Swift's cooperative
/// pool that costs two thread hand-overs per call. Code that makes many libvirt calls in a
/// row (a reconciler pass, provisioning a desktop) can run on this executor instead, and each
/// call then runs in place:
///
/// ```swift
/// try await withTaskExecutorPreference(LibvirtExecutor.shared) {
///     let domain = try await connection.defineDomain(xml: xml)
///     try await domain.start()
/// }
/// ```
///
/// Keep CPU-heavy Swift work off it: its threads are sized for waiting on libvirt.
public final class LibvirtExecutor: TaskExecutor {
    public static let shared = LibvirtExecutor()

    private init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        LibvirtRuntime.execute { job.runSynchronously(on: executor) }
    }
}
