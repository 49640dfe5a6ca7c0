public import DeskpoolCore
import Logging

/// The broker's core wired up for a test: a store, hosts, the reconciler, the session broker,
/// consoles, the session service and admin actions. `running` runs the reconciler and the
/// session service for the duration of a body.
public struct BrokerHarness: Sendable {
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
    public let directory: BrokerConsoleDirectory
    /// Carries out rollouts (run by `running`).
    public let rollouts: RolloutService
    /// Plans and applies policies, and pauses, resumes, cancels and rolls back rollouts.
    public let policies: PolicyRollouts

    /// - Parameters:
    ///   - hosts: the hosts' configuration (console addresses); default: one per hypervisor, on 127.0.0.1.
    ///   - gateway: with a configuration, `.vv` files point at the gateway.
    public init(store: any Store, hypervisors: [any Hypervisor], options: ReconcilerService.Options, hosts: [HostConfiguration]? = nil,
                gateway: GatewayConfiguration? = nil, sessionOptions: SessionService.Options = SessionService.Options(debounce: 0.3, tick: .milliseconds(50), reviewInterval: 0.2),
                tls: [String: VirtViewerFile.TLS] = [:], rolloutInterval: Duration = .milliseconds(50)) {
        self.store = store
        self.hypervisors = hypervisors
        var logger = Logger(label: "deskpool.test")
        logger.logLevel = .warning
        let estimator = ReadyEstimator()
        let reconciler = ReconcilerService(store: store, hypervisors: hypervisors, options: options, estimator: estimator, logger: logger)
        self.reconciler = reconciler
        let hosts = hosts ?? hypervisors.map { HostConfiguration(name: $0.host, uri: "test:///default") }
        let tokenKey = ConnectTokenKey.random()
        self.tokenKey = tokenKey
        let consoles = ConsoleBroker(store: store, hypervisors: hypervisors, hosts: hosts, gateway: gateway, tokenKey: tokenKey, tls: tls, logger: logger)
        self.consoles = consoles
        self.directory = BrokerConsoleDirectory(store: store, hypervisors: hypervisors, hosts: hosts)
        let broker = SessionBroker(store: store, estimator: estimator, placement: { await reconciler.place($0) }, onNewDesktop: { reconciler.poke() },
                                   revokeConsole: { await consoles.revoke(desktop: $0) },
                                   hosts: { SessionBroker.connectedness(of: hypervisors) })
        self.broker = broker
        let addresses = ClientAddressBook()
        self.addresses = addresses
        self.sessions = SessionService(store: store, hypervisors: hypervisors, sessions: broker, addresses: addresses, options: sessionOptions, logger: logger)
        self.admin = Administration(store: store, hypervisors: hypervisors)
        let rollouts = RolloutService(store: store, hypervisors: hypervisors, sessions: broker, options: .init(interval: rolloutInterval),
                                      logger: logger, reconcile: { reconciler.poke() })
        self.rollouts = rollouts
        self.policies = PolicyRollouts(store: store, hypervisors: hypervisors, poke: { rollouts.poke(); reconciler.poke() })
    }

    /// Runs the reconciler, the session service and the rollout service while `body` runs,
    /// and stops them after.
    public func running<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await reconciler.run() }
            group.addTask { try await sessions.run() }
            group.addTask { try await rollouts.run() }
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
