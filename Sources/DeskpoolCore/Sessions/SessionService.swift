public import Foundation
public import Logging
public import ServiceLifecycle
import AsyncAlgorithms
import Synchronization

/// Follows sessions: console events (through `ConsoleTracker`) make desktops connected and
/// disconnected and record refused tickets as security events; a periodic review (through
/// `SessionSupervisor`) applies each pool's session policy: disconnect timeout, unconnected
/// timeout, longest session with a warning.
///
/// One of several replicas follows only the hosts it holds (`Ownership`), and takes a host's
/// connected sessions over when it gains the host.
public final class SessionService: Service, Sendable {
    public struct Options: Sendable {
        /// Wait after a session's last channel closed before it counts as disconnected.
        public var debounce: TimeInterval
        /// How often debounces are checked.
        public var tick: Duration
        /// How often session policies are reviewed.
        public var reviewInterval: TimeInterval

        public init(debounce: TimeInterval = 2, tick: Duration = .milliseconds(250), reviewInterval: TimeInterval = 5) {
            self.debounce = debounce
            self.tick = tick
            self.reviewInterval = reviewInterval
        }
    }

    static let actor = "broker"

    let store: any Store
    let hypervisors: [any Hypervisor]
    let sessions: SessionBroker
    let addresses: ClientAddressBook
    let options: Options
    let logger: Logger
    let now: @Sendable () -> Date
    /// Times the tracker's ticks (a test drives a manual clock).
    let clock: any Clock<Duration>
    /// Which hosts this broker follows.
    let ownership: any Ownership
    /// The running loop's input (one per `run()`).
    private let input = Mutex<AsyncStream<Input>.Continuation?>(nil)

    public init(store: any Store, hypervisors: [any Hypervisor], sessions: SessionBroker, addresses: ClientAddressBook,
                options: Options = Options(), logger: Logger = Logger(label: "deskpool.sessions"), now: @escaping @Sendable () -> Date = { Date() },
                clock: any Clock<Duration> = ContinuousClock(), ownership: any Ownership = SoleOwnership()) {
        self.store = store
        self.ownership = ownership
        self.hypervisors = hypervisors
        self.sessions = sessions
        self.addresses = addresses
        self.options = options
        self.logger = logger
        self.now = now
        self.clock = clock
    }

    /// What the loop reacts to.
    private enum Input: Sendable {
        /// A console event, with the real client resolved when it arrived (the gateway
        /// forgets a tunnel once it closes).
        case console(HypervisorEvent, phase: ConsolePhase, channel: String, client: String)
        /// A host's connection was made again (console events of the gap were missed), or
        /// this replica took the host over: its connected sessions are checked.
        case hostConnected(String)
        /// A domain stopped or started (a new qemu): its display's channels are gone.
        case domainRestarted(host: String, domain: String)
        case tick
    }

    /// This replica took `host` over: its connected sessions are adopted and checked.
    public func gained(host: String) {
        _ = input.withLock { $0?.yield(.hostConnected(host)) }
    }

    public func run() async throws {
        let (inputs, continuation) = AsyncStream.makeStream(of: Input.self)
        input.withLock { $0 = continuation }
        defer { input.withLock { $0 = nil } }
        await withDiscardingTaskGroup { group in
            for hypervisor in hypervisors {
                group.addTask { [addresses] in
                    for await event in await hypervisor.events().cancelOnGracefulShutdown() {
                        switch event.kind {
                        case .console(let phase, let channel):
                            continuation.yield(.console(event, phase: phase, channel: channel, client: addresses.client(behind: channel)))
                        case .hostConnected:
                            continuation.yield(.hostConnected(event.host))
                        case .started, .stopped:
                            continuation.yield(.domainRestarted(host: event.host, domain: event.domain))
                        default:
                            continue
                        }
                    }
                }
            }
            group.addTask { [options] in
                for await _ in Ticks(every: options.tick, on: self.clock).cancelOnGracefulShutdown() {
                    continuation.yield(.tick)
                }
                continuation.finish()
            }
            // One loop owns the tracker: no lock, events handled in order.
            var tracker = ConsoleTracker(debounce: options.debounce)
            // Sessions connected before a restart: a client that left meanwhile (its tunnel
            // ended with the old process) is found out now; the others' disconnects must
            // still count.
            for action in await checkConnectedSessions(host: nil, tracker: &tracker) { await perform(action) }
            var warned: Set<String> = []
            var lastReview = Date.distantPast
            for await input in inputs.cancelOnGracefulShutdown() {
                switch input {
                case .console(let event, let phase, let channel, let client):
                    guard ownership.holding(.host(event.host)) != nil else { continue }  // its host's replica follows it
                    let key = ConsoleTracker.Key(host: event.host, domain: event.domain)
                    for action in tracker.handle(phase, on: key, channel: channel, client: client, at: now()) { await perform(action) }
                case .hostConnected(let host):
                    guard ownership.holding(.host(host)) != nil else { continue }
                    for action in await checkConnectedSessions(host: host, tracker: &tracker) { await perform(action) }
                case .domainRestarted(let host, let domain):
                    guard ownership.holding(.host(host)) != nil else { continue }
                    for action in tracker.domainRestarted(ConsoleTracker.Key(host: host, domain: domain)) { await perform(action) }
                case .tick:
                    for action in tracker.tick(at: now()) { await perform(action) }
                    if now().timeIntervalSince(lastReview) >= options.reviewInterval {
                        lastReview = now()
                        await review(warned: &warned)
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// Adopts the sessions the store says are connected (on `host`, or everywhere) and asks
    /// each desktop's display for its clients, and so for the sessions the tracker holds
    /// connected there: a session without any is disconnected (a domain gone has none). A
    /// host that cannot be asked now keeps its sessions as they are (asked again when it is
    /// back).
    private func checkConnectedSessions(host: String?, tracker: inout ConsoleTracker) async -> [ConsoleTracker.Action] {
        let connected = ((try? await store.desktops(pool: nil)) ?? []).filter {
            $0.state == .connected && (host == nil || $0.host == host) && ownership.holding(.host($0.host)) != nil
        }
        for desktop in connected { tracker.adopt(ConsoleTracker.Key(host: desktop.host, domain: desktop.name)) }
        // Adopted ones count as reported: this is every session held connected on `host`.
        var actions: [ConsoleTracker.Action] = []
        for key in tracker.reported(onHost: host) {
            guard let hypervisor = hypervisors.first(where: { $0.host == key.host }) else { continue }
            do throws(DeskpoolError) {
                if try await hypervisor.consoleClients(ofDesktop: key.domain).isEmpty {
                    logger.notice("console client gone while its events could not be seen; the session is disconnected",
                                  metadata: ["desktop": "\(key.domain)", "host": "\(key.host)"])
                    actions += tracker.noClients(on: key)
                }
            } catch where error.code == .notFound {
                actions += tracker.domainRestarted(key)
            } catch {
                logger.warning("cannot ask a desktop for its console clients", metadata: ["desktop": "\(key.domain)", "error": "\(error)"])
            }
        }
        return actions
    }

    private func perform(_ action: ConsoleTracker.Action) async {
        let host: String = switch action {
        case .connected(let key, _), .disconnected(let key), .failedTicket(let key, _): key.host
        }
        guard let holding = ownership.holding(.host(host)) else { return }
        await holding.run { await performHeld(action) }
    }

    private func performHeld(_ action: ConsoleTracker.Action) async {
        do {
            switch action {
            case .connected(let key, let client):
                guard let desktop = try await desktop(key) else { return }
                if try await store.transition(desktop.id, .consoleConnected(client: client), actor: Self.actor) != nil {
                    logger.info("console connected", metadata: ["desktop": "\(key.domain)", "user": "\(desktop.user ?? "")", "client": "\(client)"])
                }
            case .disconnected(let key):
                guard let desktop = try await desktop(key) else { return }
                if try await store.transition(desktop.id, .consoleClosed, actor: Self.actor) != nil {
                    logger.info("console disconnected", metadata: ["desktop": "\(key.domain)", "user": "\(desktop.user ?? "")"])
                }
            case .failedTicket(let key, let client):
                logger.warning("console connection refused: wrong, expired or replaced ticket",
                               metadata: ["desktop": "\(key.domain)", "host": "\(key.host)", "client": "\(client)"])
                try await store.audit(AuditEntry(at: now(), actor: "client:\(client)", action: "console.refused", subject: "desktop/\(key.domain)",
                                                 result: "refused", detail: "a console channel presented a wrong, expired or replaced ticket"))
            }
        } catch {
            logger.error("cannot record a console event", metadata: ["action": "\(action)", "error": "\(error)"])
        }
    }

    private func desktop(_ key: ConsoleTracker.Key) async throws(DeskpoolError) -> Desktop? {
        guard let desktop = try await store.desktop(named: key.domain), desktop.host == key.host else { return nil }
        return desktop
    }

    /// Applies the pools' session policies once.
    func review(warned: inout Set<String>) async {
        do {
            let pools = Dictionary(try await store.pools().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let desktops = try await store.desktops(pool: nil)
            let live = Set(desktops.compactMap(\.sessionID))
            warned.formIntersection(live)
            let hosts = Set(desktops.map(\.host)).filter { ownership.holding(.host($0)) != nil }
            let mine = desktops.filter { hosts.contains($0.host) }
            for action in SessionSupervisor().review(mine, pools: pools, warned: warned, now: now()) {
                let desktop: Desktop = switch action {
                case .logoff(let desktop, _), .warn(let desktop, _): desktop
                }
                guard let holding = ownership.holding(.host(desktop.host)) else { continue }
                await holding.run { await enforce(action, warned: &warned) }
            }
        } catch {
            logger.error("cannot review sessions", metadata: ["error": "\(error)"])
        }
    }

    private func enforce(_ action: SessionSupervisor.Action, warned: inout Set<String>) async {
        switch action {
        case .logoff(let desktop, let reason):
            do {
                try await sessions.logoff(desktop: desktop.id, by: Self.actor, reason: reason)
                logger.info("session ended by policy", metadata: ["desktop": "\(desktop.name)", "user": "\(desktop.user ?? "")", "reason": "\(reason)"])
            } catch {
                logger.warning("cannot end a session", metadata: ["desktop": "\(desktop.name)", "error": "\(error)"])
            }
        case .warn(let desktop, let message):
            if let session = desktop.sessionID { warned.insert(session) }
            guard let hypervisor = hypervisors.first(where: { $0.host == desktop.host }) else { return }
            do {
                try await hypervisor.showMessage(message, onDesktop: desktop.name)
                try await store.audit(AuditEntry(at: now(), actor: Self.actor, action: "session.warn", subject: "desktop/\(desktop.name)", detail: message))
            } catch {
                logger.warning("cannot warn a user", metadata: ["desktop": "\(desktop.name)", "error": "\(error)"])
            }
        }
    }
}
