public import DeskpoolCore
public import Foundation
public import Libvirt
public import Logging
public import ServiceLifecycle
import Synchronization

/// The broker's connection to one host, supervised: made when the service starts (a host that
/// is down is tried again, the broker starts anyway), watched through libvirt's keepalive and
/// close callback, and made again with backoff when it drops (libvirtd restarted, stopped,
/// frozen, the host rebooted). `HostLinkMachine` decides; this owns the connection and does.
///
/// While the host is not connected, `connection()` fails at once: requests that need the
/// host are answered with `hypervisorUnavailable` instead of waiting. Each new connection is
/// handed to `connections()`'s subscribers, who subscribe to its events again.
public final class HostLink: Service, Sendable {
    public struct Options: Sendable {
        public var backoff: HostLinkMachine.Backoff
        /// The link's watchdog: a probe (a cheap call to libvirtd) every `keepAliveInterval`
        /// seconds; one unanswered for `keepAliveInterval × keepAliveCount` seconds drops the
        /// connection (libvirtd frozen, or the host gone). libvirt's own client keepalive is
        /// not used: libvirt 9's client crashes when it closes a connection on which other
        /// threads wait (`HostLinkTests` freezes a daemon with calls in flight to show it).
        public var keepAliveInterval: Int32
        public var keepAliveCount: UInt32

        public init(backoff: HostLinkMachine.Backoff = .init(), keepAliveInterval: Int32 = 2, keepAliveCount: UInt32 = 3) {
            self.backoff = backoff
            self.keepAliveInterval = keepAliveInterval
            self.keepAliveCount = keepAliveCount
        }

        public init(_ host: HostConfiguration) {
            self.init(keepAliveInterval: Int32(host.keepAliveIntervalSeconds), keepAliveCount: UInt32(host.keepAliveCount))
        }
    }

    public let host: String
    public let uri: String
    let options: Options
    let logger: Logger
    let now: @Sendable () -> Date

    private struct State {
        var machine: HostLinkMachine
        var connection: Connection?
        var subscribers: [UUID: AsyncStream<Connection>.Continuation] = [:]
        /// `close()` was called: no more connections.
        var closed = false
        /// Wakes the supervisor watching the current connection when a caller finds it dead
        /// before libvirt said so, or when the link is closed.
        var nudge: AsyncStream<Void>.Continuation?
    }
    private let state: Mutex<State>

    /// A link not connected yet: `run()` connects it.
    public init(host: String, uri: String, options: Options = Options(), logger: Logger = Logger(label: "deskpool.host"),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.host = host
        self.uri = uri
        self.options = options
        self.logger = logger
        self.now = now
        self.state = Mutex(State(machine: HostLinkMachine(backoff: options.backoff, now: now())))
    }

    /// A link over a connection already open (tests, commands that connected first). `run()`
    /// supervises it from there: when it drops, the link connects to its URI again.
    public convenience init(host: String, connection: Connection, options: Options = Options(), logger: Logger = Logger(label: "deskpool.host")) {
        self.init(host: host, uri: connection.uri, options: options, logger: logger)
        state.withLock { state in
            _ = state.machine.connected(at: now())
            state.connection = connection
        }
    }

    /// Opens the connection now, once, and fails when the host cannot be reached (commands
    /// that need the host at once; `deskpool serve` uses `run()`, which retries).
    public static func connect(host: String, uri: String, options: Options = Options()) async throws(DeskpoolError) -> HostLink {
        do throws(LibvirtError) {
            return HostLink(host: host, connection: try await Connection.open(uri), options: options)
        } catch {
            throw DeskpoolError(.hypervisorFailed, "connecting to \(uri) on \(host): \(error.message)")
        }
    }

    public var status: HostStatus { state.withLock { $0.machine.status } }

    /// The connection, while the host is connected; otherwise a `noConnect` error at once.
    public func connection() throws(LibvirtError) -> Connection {
        let current = state.withLock { state -> Connection? in state.machine.status.isConnected ? state.connection : nil }
        guard let current else { throw LibvirtError(code: .noConnect, message: "host \(host) is not connected") }
        return current
    }

    /// The last connection, connected or not (tests that look at libvirt directly).
    public var lastConnection: Connection? { state.withLock { $0.connection } }

    /// Whether a failed call means the host is gone rather than that the call failed: the
    /// link is not connected, or its connection's socket is closed. Tells the supervisor.
    func lostConnection(_ error: LibvirtError) -> Bool {
        let (connected, connection) = state.withLock { ($0.machine.status.isConnected, $0.connection) }
        guard connected, let connection, error.code != .noConnect else { return true }
        guard [.internalError, .rpcError, .systemError, .operationFailed].contains(error.code), !connection.isAliveNow else { return false }
        _ = state.withLock { $0.nudge?.yield() }
        return true
    }

    public func recovered(generation: Int) {
        let changed = state.withLock { state -> Bool in
            let before = state.machine.status.state
            state.machine.recovered(generation: generation, at: now())
            return before != state.machine.status.state
        }
        if changed { logger.notice("host back in service", metadata: ["host": "\(host)", "generation": "\(generation)"]) }
    }

    /// The current connection (if connected) and each one made after it, until the consumer
    /// stops or the link's service ends.
    public func connections() -> AsyncStream<Connection> {
        let (stream, continuation) = AsyncStream.makeStream(of: Connection.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        let closed = state.withLock { state -> Bool in
            guard !state.closed else { return true }
            if state.machine.status.isConnected, let connection = state.connection { continuation.yield(connection) }
            state.subscribers[id] = continuation
            return false
        }
        if closed { continuation.finish() }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// One attempt to connect now, waiting at most `limit` (`deskpool serve` makes it before
    /// it starts, so that its start-up work finds the hosts that are up). Failing is fine:
    /// `run()` tries again with backoff.
    @discardableResult
    public func connectOnce(within limit: Duration = .seconds(10)) async -> Bool {
        guard !status.isConnected else { return true }
        let outcome = await abandonable(within: limit, late: Self.closeLate, openAttempt)
        switch outcome {
        case .success(let connection):
            connected(connection)
            return true
        case .failure(let error):
            _ = attemptFailed(error)
            return false
        case nil:
            _ = attemptFailed(LibvirtError(code: .operationTimeout, message: "no answer within \(limit)"))
            return false
        }
    }

    /// Closes the connection for good: `connections()` (and so the hypervisor's event
    /// streams) end, and `run()` returns.
    public func close() async {
        let connection = state.withLock { state in
            state.closed = true
            state.nudge?.yield()
            return state.connection
        }
        endSubscriptions()
        await connection?.close()
    }

    private var isClosed: Bool { state.withLock { $0.closed } }

    private func endSubscriptions() {
        let subscribers = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    // MARK: - Supervision

    public func run() async throws {
        defer { endSubscriptions() }
        while !Task.isCancelled, !Task.isShuttingDownGracefully, !isClosed {
            let wait: Duration
            if let connection = state.withLock({ $0.machine.status.isConnected ? $0.connection : nil }) {
                await turnOffClientKeepAlive(connection)
                guard let reason = await dropOrShutdown(connection), !isClosed else { return }
                wait = drop(connection, reason: reason)
                await connection.close()
            } else {
                // Shutting down: an open still blocked (a frozen libvirtd) is left behind.
                guard let outcome = await abandonable(late: Self.closeLate, openAttempt) else { return }
                switch outcome {
                case .success(let connection):
                    connected(connection)
                    continue
                case .failure(let error):
                    wait = attemptFailed(error)
                }
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
        }
    }

    private func turnOffClientKeepAlive(_ connection: Connection) async {
        // libvirtd may ask for keepalive itself; an interval of 0 turns the client side off.
        _ = try? await connection.setKeepAlive(interval: 0, count: 0)
    }

    /// Whether libvirtd answers a cheap call within `limit` (the call is left behind if not:
    /// a frozen daemon holds it until it thaws).
    private static func answers(_ connection: Connection, within limit: Duration) async -> Bool {
        await abandonable(within: limit) { (try? await connection.libvirtVersion()) != nil } ?? false
    }

    /// One attempt to open the link's URI.
    private var openAttempt: @Sendable () async -> Result<Connection, LibvirtError> {
        { [uri] in
            do throws(LibvirtError) { return .success(try await Connection.open(uri)) } catch { return .failure(error) }
        }
    }

    /// A connection opened after its caller stopped waiting is closed.
    private static let closeLate: @Sendable (Result<Connection, LibvirtError>) async -> Void = { result in
        if case .success(let connection) = result { await connection.close() }
    }

    /// Waits until the connection drops (the reason) or the service is asked to stop (nil).
    private func dropOrShutdown(_ connection: Connection) async -> String? {
        let closes = connection.closeNotifications()
        // A stream per watch: an AsyncStream ends for good when the task reading it is cancelled.
        let (nudges, nudge) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.nudge = nudge }
        defer { state.withLock { $0.nudge = nil } }
        return await withTaskGroup(of: String?.self) { group in
            group.addTask {
                for await reason in closes { return Self.describe(reason) }
                return "the connection was closed"
            }
            group.addTask {
                for await _ in nudges {
                    if self.isClosed { return nil }
                    // A caller saw a dead socket: believe it only if libvirt agrees.
                    if !connection.isAliveNow { return "the connection's socket is closed" }
                }
                return nil
            }
            group.addTask { [options] in
                // The watchdog: libvirtd answers within interval × count, or the link drops.
                let interval = Duration.seconds(Int(max(1, options.keepAliveInterval)))
                let limit = interval * Int(max(1, options.keepAliveCount))
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { return nil }
                    if await !Self.answers(connection, within: limit) {
                        return Task.isCancelled ? nil : "libvirtd stopped answering (frozen, or the host is down)"
                    }
                }
                return nil
            }
            group.addTask {
                try? await gracefulShutdown()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private static func describe(_ reason: Connection.CloseReason) -> String {
        switch reason {
        case .endOfFile: "libvirtd closed the connection (restarted or stopped)"
        case .keepalive: "libvirtd stopped answering keepalive probes (frozen, or the host is down)"
        case .error: "the connection failed"
        case .client: "the connection was closed"
        }
    }

    private func connected(_ connection: Connection) {
        guard !isClosed else {
            Task { await connection.close() }
            return
        }
        let (generation, subscribers, after) = state.withLock { state in
            let failed = state.machine.status.failedAttempts
            _ = state.machine.connected(at: now())
            state.connection = connection
            return (state.machine.status.generation, Array(state.subscribers.values), failed)
        }
        logger.notice(generation == 1 ? "host connected" : "host connected again",
                      metadata: ["host": "\(host)", "uri": "\(uri)", "generation": "\(generation)", "failedAttempts": "\(after)"])
        for subscriber in subscribers { subscriber.yield(connection) }
    }

    private func drop(_ connection: Connection, reason: String) -> Duration {
        let action = state.withLock { $0.machine.dropped(reason, at: now()) }
        logger.warning("host connection dropped; reconnecting", metadata: ["host": "\(host)", "reason": "\(reason)"])
        if case .connect(let after) = action { return after }
        return options.backoff.first
    }

    private func attemptFailed(_ error: LibvirtError) -> Duration {
        let (action, status) = state.withLock { state in
            let action = state.machine.attemptFailed("cannot connect to \(uri)", at: now())
            return (action, state.machine.status)
        }
        // The first failure and then every tenth, so a host down for hours does not flood the log.
        if status.failedAttempts == 1 || status.failedAttempts % 10 == 0 {
            logger.warning("host unreachable; retrying", metadata: [
                "host": "\(host)", "uri": "\(uri)", "attempts": "\(status.failedAttempts)", "error": "\(error.message)",
                "retryAt": "\(status.retryAt.map { "\($0)" } ?? "")"])
        }
        if case .connect(let after) = action { return after }
        return options.backoff.first
    }
}
