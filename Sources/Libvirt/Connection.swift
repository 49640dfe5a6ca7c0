internal import CLibvirt
import Foundation
import Synchronization

/// A connection to a libvirt hypervisor, e.g. `qemu:///system` or `test:///default`.
///
/// libvirt connections are thread-safe, so one `Connection` is shared by every task. Calls
/// that may block run on libvirt's own threads (see `LibvirtRuntime`). The connection is
/// closed by `close()` or, failing that, when the last reference goes away.
public final class Connection: @unchecked Sendable {
    // @unchecked: the pointer is only handed to libvirt, which locks internally; the
    // mutable state is in Mutexes.
    let pointer: virConnectPtr
    public let uri: String
    public let isReadOnly: Bool
    /// Whether `close()` was called, the calls running on libvirt threads, and whether the
    /// libvirt side of the close waits for them.
    private struct Life {
        var closed = false
        var inFlight = 0
        var teardownPending = false
    }
    private let life = Mutex(Life())
    private let closeBroadcaster = CloseBroadcaster()
    /// Callers waiting for a call on a libvirt thread: `close()` lets them go.
    private let pendingCalls = Mutex<[UUID: @Sendable (LibvirtError) -> Void]>([:])
    /// One hub per event type (keyed by libvirt's event id), ended when the connection closes.
    let eventHubs = Mutex<[Int32: any ClosableEventHub]>([:])

    private init(pointer: virConnectPtr, uri: String, readOnly: Bool) {
        self.pointer = pointer
        self.uri = uri
        self.isReadOnly = readOnly
    }

    deinit {
        // Never closed: no call is in flight either (each holds the connection).
        if !isClosed { virConnectClose(pointer) }
    }

    /// Opens a connection. `readOnly` opens the read-only socket (no changes allowed).
    public static func open(_ uri: String, readOnly: Bool = false) async throws(LibvirtError) -> Connection {
        let connection = try await LibvirtRuntime.run { () throws(LibvirtError) -> Connection in
            let pointer = try check(uri.withCString { readOnly ? virConnectOpenReadOnly($0) : virConnectOpen($0) })
            return Connection(pointer: pointer, uri: uri, readOnly: readOnly)
        }
        connection.registerCloseCallback()
        return connection
    }

    /// Closes the connection. Objects obtained from it (domains, pools) stop working; event
    /// streams end; calls still waiting (on a frozen daemon) end for their callers with
    /// `noConnect`. Closing twice is harmless.
    ///
    /// The libvirt side (deregistering events, dropping the connection) waits until no call
    /// is in flight: libvirt's client crashes when a connection is torn down while another
    /// thread waits in it. A call blocked on a frozen daemon thus delays it until the daemon
    /// thaws or the socket is gone; the callers do not wait for that.
    public func close() async {
        let (first, now) = life.withLock { life -> (Bool, Bool) in
            guard !life.closed else { return (false, false) }
            life.closed = true
            life.teardownPending = life.inFlight > 0
            return (true, life.inFlight == 0)
        }
        guard first else { return }
        let waiting = pendingCalls.withLock { calls in
            defer { calls.removeAll() }
            return Array(calls.values)
        }
        for letGo in waiting { letGo(LibvirtError(code: .noConnect, message: "connection to \(uri) was closed")) }
        for hub in eventHubs.withLock({ Array($0.values) }) { hub.finishStreams() }
        if now { _ = try? await LibvirtRuntime.run { [self] () throws(LibvirtError) in tearDown() } }
        closeBroadcaster.fire(.client)
    }

    /// The libvirt side of `close()`, on a libvirt thread, with no call in flight.
    private func tearDown() {
        let hubs = eventHubs.withLock { hubs in
            defer { hubs.removeAll() }
            return Array(hubs.values)
        }
        for hub in hubs { hub.deregisterForClose(pointer) }
        virConnectUnregisterCloseCallback(pointer, connectionClosed)
        virConnectClose(pointer)
    }

    var isClosed: Bool { life.withLock { $0.closed } }

    /// Counts a call in, unless the connection is closed.
    private func enterCall() -> Bool {
        life.withLock { life in
            guard !life.closed else { return false }
            life.inFlight += 1
            return true
        }
    }

    /// Counts a call out (on its libvirt thread); the last one out of a closed connection
    /// does the close's libvirt side.
    private func leaveCall() {
        let tearDownNow = life.withLock { life -> Bool in
            life.inFlight -= 1
            guard life.closed, life.inFlight == 0, life.teardownPending else { return false }
            life.teardownPending = false
            return true
        }
        if tearDownNow { tearDown() }
    }

    /// Runs `body` with the raw pointer on a libvirt thread. When the connection is closed
    /// meanwhile (the daemon went away or froze, and its supervisor gave up on it), the caller
    /// gets `noConnect` at once: a call blocked on a frozen daemon is not waited for.
    func run<T: Sendable>(
        _ body: @escaping @Sendable (virConnectPtr) throws(LibvirtError) -> T
    ) async throws(LibvirtError) -> T {
        guard enterCall() else { throw LibvirtError(code: .noConnect, message: "connection to \(uri) is closed") }
        let id = UUID()
        defer { pendingCalls.withLock { _ = $0.removeValue(forKey: id) } }
        return try await LibvirtRuntime.run(letGo: { [self] letGo -> LibvirtError? in
            let open = life.withLock { life -> Bool in
                // Under the lock `close()` takes: it lets go of every call it finds.
                if !life.closed { pendingCalls.withLock { $0[id] = letGo } }
                return !life.closed
            }
            guard open else {
                LibvirtRuntime.execute { [self] in leaveCall() }  // the body will not run
                return LibvirtError(code: .noConnect, message: "connection to \(uri) is closed")
            }
            return nil
        }) { [self] () throws(LibvirtError) -> T in
            defer { leaveCall() }
            return try body(self.pointer)
        }
    }

    /// Runs `body` on a libvirt thread without waiting, unless the connection is closed.
    func detached(_ body: @escaping @Sendable (virConnectPtr) -> Void) {
        guard enterCall() else { return }
        LibvirtRuntime.execute { [self] in
            defer { leaveCall() }
            body(self.pointer)
        }
    }

    // MARK: - Health

    /// Whether the connection still works (for remote URIs: the daemon still answers).
    public var isAlive: Bool {
        get async {
            (try? await run { pointer throws(LibvirtError) in virConnectIsAlive(pointer) == 1 }) ?? false
        }
    }

    /// Whether the connection is open, asked without waiting: for remote URIs libvirt only
    /// looks at its client socket (no round trip), so this is safe on any thread. A closed
    /// connection, or one whose daemon went away, is not alive.
    public var isAliveNow: Bool {
        LibvirtRuntime.ensureStarted()
        // Under the lock `close()` takes: the libvirt side cannot be torn down meanwhile.
        return life.withLock { life in !life.closed && virConnectIsAlive(pointer) == 1 }
    }

    /// Starts keepalive probes: after `count` unanswered probes sent every `interval`
    /// seconds the connection is closed and close notifications fire. Returns `false` when
    /// the driver does not use keepalive (local drivers such as `test:///`).
    @discardableResult
    public func setKeepAlive(interval: Int32 = 5, count: UInt32 = 3) async throws(LibvirtError) -> Bool {
        try await run { pointer throws(LibvirtError) in
            try check(virConnectSetKeepAlive(pointer, interval, count)) == 0
        }
    }

    /// Why a connection was closed without the caller asking for it.
    public enum CloseReason: Int32, Sendable {
        case error = 0, endOfFile = 1, keepalive = 2, client = 3
    }

    /// Fires once when libvirt closes the connection underneath the caller (daemon restarted,
    /// keepalive timed out). Each call returns a new stream; streams end when the connection
    /// is closed.
    public func closeNotifications() -> AsyncStream<CloseReason> {
        closeBroadcaster.subscribe()
    }

    private func registerCloseCallback() {
        let opaque = Unmanaged.passRetained(closeBroadcaster).toOpaque()
        // Local drivers (test:///) do not support close callbacks; they never close
        // underneath us, so there is nothing to report and no error to raise.
        if virConnectRegisterCloseCallback(pointer, connectionClosed, opaque, releaseCloseBroadcaster) < 0 {
            Unmanaged<CloseBroadcaster>.fromOpaque(opaque).release()
        }
    }

    // MARK: - Host

    /// The host's memory and CPUs, as `virNodeGetInfo` reports them.
    public func hostInfo() async throws(LibvirtError) -> HostInfo {
        try await run { pointer throws(LibvirtError) in
            var info = virNodeInfo()
            try check(virNodeGetInfo(pointer, &info))
            // Some drivers cannot tell free memory: libvirt returns 0 then, and so do we.
            let free = virNodeGetFreeMemory(pointer)
            let model = withUnsafeBytes(of: info.model) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            return HostInfo(
                model: model,
                memoryBytes: UInt64(info.memory) * 1024,
                freeMemoryBytes: free,
                cpus: Int(info.cpus),
                mhz: Int(info.mhz),
                sockets: Int(info.sockets),
                coresPerSocket: Int(info.cores),
                threadsPerCore: Int(info.threads)
            )
        }
    }

    /// The host capabilities XML (`virConnectGetCapabilities`).
    public func capabilities() async throws(LibvirtError) -> String {
        try await run { pointer throws(LibvirtError) in try takeString(virConnectGetCapabilities(pointer)) }
    }

    /// The domain capabilities XML for one emulator, architecture, machine and virt type
    /// (`virConnectGetDomainCapabilities`); `nil` arguments let libvirt choose.
    public func domainCapabilities(
        emulator: String? = nil, arch: String? = nil, machine: String? = nil, virtType: String? = nil
    ) async throws(LibvirtError) -> String {
        try await run { pointer throws(LibvirtError) in
            try takeString(withOptionalCStrings([emulator, arch, machine, virtType]) { args in
                virConnectGetDomainCapabilities(pointer, args[0], args[1], args[2], args[3], 0)
            })
        }
    }

    /// The version of the libvirt library on the daemon side, e.g. 9000000 for 9.0.0.
    public func libvirtVersion() async throws(LibvirtError) -> UInt64 {
        try await run { pointer throws(LibvirtError) in
            var version: UInt = 0
            try check(virConnectGetLibVersion(pointer, &version))
            return UInt64(version)
        }
    }

    /// The host name of the hypervisor host.
    public func hostname() async throws(LibvirtError) -> String {
        try await run { pointer throws(LibvirtError) in try takeString(virConnectGetHostname(pointer)) }
    }
}

/// What `virNodeGetInfo` says about a host.
public struct HostInfo: Sendable, Hashable {
    public var model: String
    public var memoryBytes: UInt64
    /// 0 when the driver cannot tell.
    public var freeMemoryBytes: UInt64
    public var cpus: Int
    public var mhz: Int
    public var sockets: Int
    public var coresPerSocket: Int
    public var threadsPerCore: Int
}

// MARK: - Close notifications

final class CloseBroadcaster: @unchecked Sendable {
    private let lock = NSLock()
    private var continuations: [UUID: AsyncStream<Connection.CloseReason>.Continuation] = [:]
    private var fired: Connection.CloseReason?

    func subscribe() -> AsyncStream<Connection.CloseReason> {
        let (stream, continuation) = AsyncStream.makeStream(of: Connection.CloseReason.self)
        let id = UUID()
        let alreadyFired = lock.withLock { () -> Connection.CloseReason? in
            if fired == nil { continuations[id] = continuation }
            return fired
        }
        if let alreadyFired {
            continuation.yield(alreadyFired)
            continuation.finish()
        } else {
            continuation.onTermination = { [weak self] _ in
                self?.lock.withLock { _ = self?.continuations.removeValue(forKey: id) }
            }
        }
        return stream
    }

    func fire(_ reason: Connection.CloseReason) {
        let all = lock.withLock { () -> [AsyncStream<Connection.CloseReason>.Continuation] in
            fired = reason
            defer { continuations.removeAll() }
            return Array(continuations.values)
        }
        for continuation in all {
            continuation.yield(reason)
            continuation.finish()
        }
    }

    deinit {
        for continuation in continuations.values { continuation.finish() }
    }
}

private func connectionClosed(_ connection: virConnectPtr?, _ reason: Int32, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    let broadcaster = Unmanaged<CloseBroadcaster>.fromOpaque(opaque).takeUnretainedValue()
    broadcaster.fire(Connection.CloseReason(rawValue: reason) ?? .error)
}

private func releaseCloseBroadcaster(_ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<CloseBroadcaster>.fromOpaque(opaque).release()
}

/// Calls `body` with C strings for each argument (`nil` stays `nil`), valid during the call.
func withOptionalCStrings<R>(
    _ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws(LibvirtError) -> R
) throws(LibvirtError) -> R {
    let copies = strings.map { $0.map { strdup($0)! } }
    defer { copies.forEach { free($0) } }
    return try body(copies.map { $0.map { UnsafePointer($0) } })
}
