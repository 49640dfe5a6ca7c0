public import DeskpoolCore
public import Foundation
import Logging

/// One `Broker` built for a test (as `deskpool serve` builds one), with its parts at hand:
/// `running` runs its services for the duration of a body.
public struct BrokerHarness: Sendable {
    /// The broker itself: `requestDesktop`, `logoff`, the read side.
    public let core: Broker
    public let store: any Store
    public let hypervisors: [any Hypervisor]
    public let reconciler: ReconcilerService
    public let broker: SessionBroker
    public let admin: Administration
    public let consoles: ConsoleBroker
    public let sessions: SessionService
    /// The gateway's record of which client is behind which tunnel.
    public let addresses: ClientAddressBook
    public let tokenKey: ConnectTokenKey
    public let directory: StoreConsoleDirectory
    /// Carries out rollouts (run by `running`).
    public let rollouts: RolloutService
    /// Plans and applies policies, and pauses, resumes, cancels and rolls back rollouts.
    public let policies: PolicyRollouts

    /// - Parameters:
    ///   - hosts: the hosts' configuration (console addresses); default: one per hypervisor, on 127.0.0.1.
    ///   - gateway: with a configuration, `.vv` files point at the gateway.
    ///   - leases: one of several replicas on `store`, sharing the work through leases.
    ///   - now: the broker's dates (a test of schedules moves them).
    public init(store: any Store, hypervisors: [any Hypervisor], options: ReconcilerService.Options, hosts: [HostConfiguration]? = nil,
                gateway: GatewayConfiguration? = nil, sessionOptions: SessionService.Options = SessionService.Options(debounce: 0.3, tick: .milliseconds(50), reviewInterval: 0.2),
                tls: [String: VirtViewerFile.TLS] = [:], rolloutInterval: Duration = .milliseconds(50), images: ImageImportConfiguration = ImageImportConfiguration(),
                leases: LeaseService.Options? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        var logger = Logger(label: "deskpool.test")
        logger.logLevel = .warning
        let tokenKey = ConnectTokenKey.random()
        let core = Broker(
            store: store, hosts: Hosts(hypervisors, configurations: hosts),
            configuration: Broker.Configuration(reconciler: options, sessions: sessionOptions, rollouts: .init(interval: rolloutInterval),
                                                gateway: gateway, tokenKey: tokenKey, tls: tls, images: images, leases: leases),
            logger: { [logger] _ in logger }, now: now)
        self.core = core
        self.store = store
        self.hypervisors = hypervisors
        self.reconciler = core.reconciler
        self.broker = core.sessions
        self.admin = core.admin
        self.consoles = core.consoles
        self.sessions = core.tracking
        self.addresses = core.addresses
        self.tokenKey = tokenKey
        self.directory = core.directory
        self.rollouts = core.rollouts
        self.policies = core.policies
    }

    /// Runs the reconciler, the session service and the rollout service while `body` runs,
    /// and stops them after.
    public func running<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in core.services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Polls `condition` until it holds, failing with `TimeoutError` after `timeout`.
    public func wait(for what: String, timeout: Duration, poll: Duration = .milliseconds(50),
                     _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TimeoutError(what: what, duration: timeout) }
            reconciler.poke()
            try await Task.sleep(for: poll)
        }
    }

    /// What concurrent requests got.
    public struct Answers: Sendable {
        public var assigned: [Desktop] = []
        public var preparing: [Desktop] = []
        public var exhausted = 0
    }

    /// One request per user, all at once.
    public func requestConcurrently(pool: String, users: [String], groups: [String]) async throws -> Answers {
        try await withThrowingTaskGroup(of: SessionBroker.Answer.self) { group in
            for user in users { group.addTask { try await broker.request(.init(user: user, groups: groups), pool: pool) } }
            var answers = Answers()
            for try await answer in group {
                switch answer {
                case .assigned(let d): answers.assigned.append(d)
                case .preparing(let d, _): answers.preparing.append(d)
                case .exhausted: answers.exhausted += 1
                }
            }
            return answers
        }
    }

    /// The desktops of a pool in a state.
    public func desktops(_ pool: String, in states: Set<DesktopState>) async throws -> [Desktop] {
        try await store.desktops(pool: pool).filter { states.contains($0.state) }
    }
}
