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
    private let closed = Mutex(false)
    private let closeBroadcaster = CloseBroadcaster()
    /// One hub per event type (keyed by libvirt's event id), ended when the connection closes.
    let eventHubs = Mutex<[Int32: any ClosableEventHub]>([:])

    private init(pointer: virConnectPtr, uri: String, readOnly: Bool) {
        self.pointer = pointer
        self.uri = uri
        self.isReadOnly = readOnly
    }

    deinit {
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
    /// streams end. Closing twice is harmless.
    public func close() async {
        let shouldClose = closed.withLock { closed -> Bool in
            defer { closed = true }
            return !closed
        }
        guard shouldClose else { return }
        let hubs = eventHubs.withLock { hubs in
            defer { hubs.removeAll() }
            return Array(hubs.values)
        }
        _ = try? await LibvirtRuntime.run { [self] () throws(LibvirtError) in
            for hub in hubs { hub.endForClose(self.pointer) }
            virConnectUnregisterCloseCallback(self.pointer, connectionClosed)
            virConnectClose(self.pointer)
        }
        closeBroadcaster.fire(.client)
    }

    var isClosed: Bool { closed.withLock { $0 } }

    /// Runs `body` with the raw pointer on a libvirt thread.
    func run<T: Sendable>(
        _ body: @escaping @Sendable (virConnectPtr) throws(LibvirtError) -> T
    ) async throws(LibvirtError) -> T {
        guard !isClosed else { throw LibvirtError(code: .noConnect, message: "connection to \(uri) is closed") }
        return try await LibvirtRuntime.run { [self] () throws(LibvirtError) -> T in try body(self.pointer) }
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
        guard !isClosed else { return false }
        LibvirtRuntime.ensureStarted()
        return virConnectIsAlive(pointer) == 1
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
