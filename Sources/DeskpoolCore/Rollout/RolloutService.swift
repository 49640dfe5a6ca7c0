public import Foundation
public import Logging
public import ServiceLifecycle
import AsyncAlgorithms
import Synchronization

/// Carries out the rollouts the store holds: on a timer and when poked, each rollout that is
/// not over is read with its items and desktops, `RolloutMachine` decides with the rule of
/// its kind, and the actions run. All progress is in the store, so after a restart (even a kill -9) the next
/// pass continues where the last one was: desktops being refreshed are finished by the
/// reconciler, and items are settled from what the desktops show. Of several replicas, the
/// one that holds the rollouts lease runs them.
public final class RolloutService: Service, Sendable {
    public struct Options: Sendable {
        public var interval: Duration
        public init(interval: Duration = .seconds(1)) { self.interval = interval }
    }

    let store: any Store
    let hypervisors: [String: any Hypervisor]
    let sessions: SessionBroker
    let options: Options
    let logger: Logger
    let now: @Sendable () -> Date
    /// Times the passes (a test drives a manual clock).
    let clock: any Clock<Duration>
    /// Wakes the reconciler (desktops marked for refresh).
    let reconcile: @Sendable () -> Void
    let pokeContinuation = Mutex<AsyncStream<Void>.Continuation?>(nil)
    /// Policies parsed from rollout records, by rollout id.
    let policies = Mutex<[String: Policy]>([:])
    /// Cancelled rollouts with nothing left under way.
    let settledCancels = Mutex<Set<String>>([])
    /// Whether this broker runs the rollouts (one replica of several does).
    let ownership: any Ownership

    public convenience init(store: any Store, hypervisors: [any Hypervisor], sessions: SessionBroker, options: Options = Options(),
                logger: Logger = Logger(label: "deskpool.rollouts"), now: @escaping @Sendable () -> Date = { Date() },
                reconcile: @escaping @Sendable () -> Void = {}) {
        self.init(store: store, hosts: Hosts(hypervisors), sessions: sessions, options: options, logger: logger, now: now, reconcile: reconcile)
    }

    public init(store: any Store, hosts: Hosts, sessions: SessionBroker, options: Options = Options(),
                logger: Logger = Logger(label: "deskpool.rollouts"), now: @escaping @Sendable () -> Date = { Date() },
                reconcile: @escaping @Sendable () -> Void = {}, clock: any Clock<Duration> = ContinuousClock(),
                ownership: any Ownership = SoleOwnership()) {
        self.store = store
        self.ownership = ownership
        self.hypervisors = hosts.byName
        self.sessions = sessions
        self.options = options
        self.logger = logger
        self.now = now
        self.reconcile = reconcile
        self.clock = clock
    }

    public func poke() {
        _ = pokeContinuation.withLock { $0?.yield() }
    }

    public func run() async throws {
        let (pokes, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        pokeContinuation.withLock { $0 = continuation }
        defer { pokeContinuation.withLock { $0 = nil } }
        await withDiscardingTaskGroup { group in
            group.addTask { [options] in
                for await _ in Ticks(every: options.interval, on: self.clock).cancelOnGracefulShutdown() {
                    self.poke()
                }
            }
            poke()
            for await _ in pokes.cancelOnGracefulShutdown() { await step() }
            group.cancelAll()
        }
    }

    /// One pass over every rollout that is not over, if this broker runs the rollouts; its
    /// writes carry the rollouts lease's fence. Returns how many actions ran.
    @discardableResult
    public func step() async -> Int {
        guard let holding = ownership.holding(.rollouts) else { return 0 }
        return await holding.run { await stepHeld() }
    }

    private func stepHeld() async -> Int {
        var count = 0
        do {
            // Rollouts not over, and recent cancelled ones whose desktops under way at the
            // cancel are still to be settled (once settled, they are not read again).
            let settled = settledCancels.withLock { $0 }
            let cancelled = try await store.rollouts(in: [.cancelled], limit: 50).filter { !settled.contains($0.id) }
            let rollouts = try await store.rollouts(in: Rollout.State.active, limit: 1000) + cancelled
            guard !rollouts.isEmpty else { return 0 }
            let desktops = Dictionary(try await store.desktops(pool: nil).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for rollout in rollouts {
                let items = try await store.rolloutItems(rollout: rollout.id)
                if rollout.state == .cancelled && !items.contains(where: { $0.status == .inProgress || $0.status == .waiting }) {
                    settledCancels.withLock { _ = $0.insert(rollout.id) }
                    continue
                }
                count += await step(rollout, items: items, desktops: desktops)
            }
        } catch {
            if !Task.isCancelled { logger.error("rollout pass failed", metadata: ["error": "\(error)"]) }
        }
        return count
    }

    private func step(_ rollout: Rollout, items: [RolloutItem], desktops: [String: Desktop]) async -> Int {
        let policy: Policy
        do {
            policy = try cachedPolicy(rollout)
        } catch {
            logger.error("a rollout's policy no longer parses; halting it", metadata: ["rollout": "\(rollout.id)", "error": "\(error)"])
            _ = try? await store.updateRollout(rollout.id, from: [.running], actor: PolicyRollouts.actor(rollout.id)) {
                $0.state = .halted
                $0.reason = "the policy no longer parses: \(error.message)"
            }
            return 0
        }
        switch policy.spec {
        case .update(let spec):
            let actions = RolloutMachine.decide(RolloutMachine.Input(
                rollout: rollout, rule: .update, strategy: spec.strategy, logoff: spec.logoff, items: items, desktops: desktops, now: now()))
            for action in actions {
                do {
                    try await perform(action, rollout: rollout, strategy: spec.strategy, desktops: desktops)
                } catch {
                    logger.warning("rollout step failed", metadata: ["rollout": "\(rollout.id)", "action": "\(action)", "error": "\(error)"])
                }
            }
            return actions.count
        case .config(let spec):
            return await stepConfig(rollout, spec: spec, items: items, desktops: desktops)
        case .guestCommand(let spec):
            return await runCommands(rollout, spec: spec, items: items, desktops: desktops)
        case .check(let spec):
            return await runChecks(rollout, spec: spec, items: items, desktops: desktops)
        }
    }

    func cachedPolicy(_ rollout: Rollout) throws(DeskpoolError) -> Policy {
        if let policy = policies.withLock({ $0[rollout.id] }) { return policy }
        let policy = try PolicyRollouts.parse(rollout.source, file: "rollout \(rollout.id)")
        policies.withLock { $0[rollout.id] = policy }
        return policy
    }

    // MARK: - Actions

    func perform(_ action: RolloutMachine.Action, rollout: Rollout, strategy: RolloutStrategy,
                 desktops: [String: Desktop]) async throws(DeskpoolError) {
        if try await performShared(action, rollout: rollout, strategy: strategy) { return }
        let actor = PolicyRollouts.actor(rollout.id)
        let id = rollout.id
        let rollingBack = rollout.state == .rollingBack
        switch action {
        case .refresh(let item, let version):
            // The item first: a cancel that comes meanwhile then finds it under way, not pending.
            let at = now()
            guard let claimed = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor, change: {
                $0.status = rollingBack ? .rollingBack : .inProgress
                $0.startedAt = at
                $0.detail = rollingBack ? "refreshing back to v\(version)" : "refreshing to v\(version)"
            }) else { return }
            guard try await store.transition(item.desktopID, .rolloutRefreshed(policy: rollout.policy, version: version, rollingBack: rollingBack),
                                             actor: actor) != nil else {
                // Taken by a user meanwhile: the item goes back; the next pass sees the desktop in use.
                _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [claimed.status], actor: actor) {
                    $0.status = item.status
                    $0.startedAt = item.startedAt
                    $0.detail = item.detail
                }
                return
            }
            logger.info("rollout refreshes a desktop", metadata: ["rollout": "\(id)", "desktop": "\(item.desktop)", "version": "\(version)"])
            reconcile()
        case .markForLogoff(let item, let version, let warn):
            let at = now()
            guard let claimed = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor, change: {
                $0.status = rollingBack ? .rollingBack : .waiting
                if warn != nil { $0.warnedAt = at }
            }) else { return }
            guard let marked = try await store.transition(item.desktopID, .targeted(version: version), actor: actor) else {
                _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [claimed.status], actor: actor) {
                    $0.status = item.status
                    $0.warnedAt = item.warnedAt
                }
                return
            }
            let note = warn == nil ? "waiting for \(marked.user ?? "its user") to log off" : "\(marked.user ?? "its user") warned; logged off after the grace period"
            let current = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [claimed.status], actor: actor) {
                $0.user = marked.user
                $0.detail = note
            }
            if current == nil {
                // Cancelled or rolled back meanwhile: the mark goes again.
                _ = try await store.transition(item.desktopID, .untargeted(version: version), actor: actor)
                return
            }
            if let warn { await self.warn(marked, warn, at: at, actor: actor) }
        case .forceLogoff(let item):
            _ = try await sessions.logoff(desktop: item.desktopID, by: actor, reason: "logged off for rollout \(rollout.policy)")
            let at = now()
            _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [.waiting], actor: actor) {
                $0.status = .inProgress
                $0.startedAt = at
                $0.detail = "logged off after the grace period; refreshing"
            }
            logger.notice("rollout logged a user off", metadata: ["rollout": "\(id)", "desktop": "\(item.desktop)", "user": "\(item.user ?? "")"])
        case .begin(let item):
            let at = now()
            _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [.waiting], actor: actor) {
                $0.status = .inProgress
                $0.startedAt = at
                $0.detail = "its user logged off; refreshing"
            }
        case .checkHealth(let item):
            guard let desktop = desktops[item.desktopID] else { return }
            let verdict = await health(of: desktop, gate: strategy.healthGate)
            let at = now()
            if verdict == nil {
                _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor) {
                    $0.status = .done
                    $0.finishedAt = at
                    $0.detail = "healthy on v\(desktop.version)"
                }
            } else if item.status != .inProgress {
                _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor) {
                    $0.status = .inProgress
                    $0.startedAt = $0.startedAt ?? at
                    $0.detail = verdict
                }
            }
        case .switchPools:
            for change in rollout.pools {
                guard var pool = try await store.pool(named: change.pool), let to = change.toVersion, pool.version != .pinned(to) else { continue }
                pool.version = .pinned(to)
                try await store.putPool(pool, actor: actor)
            }
            _ = try await store.updateRollout(id, from: [.running], actor: actor) { $0.canaryPassed = true }
            logger.info("rollout's first wave passed its gate; pools use the new version", metadata: ["rollout": "\(id)"])
            reconcile()
        case .settle, .nextWave, .halt, .finish:
            break  // performShared
        case .reconfigure, .restart, .interrupt, .run, .check, .remediate:
            break  // never decided for an update
        }
    }

    // MARK: - Steps every kind shares

    /// Runs the actions every kind shares; false for an action of one kind.
    func performShared(_ action: RolloutMachine.Action, rollout: Rollout, strategy: RolloutStrategy) async throws(DeskpoolError) -> Bool {
        let actor = PolicyRollouts.actor(rollout.id)
        let id = rollout.id
        switch action {
        case .settle(let item, let status, let detail, let clearTarget):
            if clearTarget {
                _ = try await store.transition(item.desktopID, .untargeted(version: nil), actor: actor)
            }
            let at = now()
            _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor) {
                $0.status = status
                $0.detail = detail
                $0.finishedAt = at
            }
            if status == .failed {
                logger.warning("a desktop failed in a rollout", metadata: ["rollout": "\(id)", "desktop": "\(item.desktop)", "reason": "\(detail)"])
            }
            return true
        case .nextWave(let wave):
            try await openWave(wave, of: rollout)
            return true
        case .halt(let reason):
            try await halt(rollout, reason: reason, strategy: strategy)
            return true
        case .finish(let state):
            try await finish(rollout, state)
            return true
        default:
            return false
        }
    }

    /// Shows a forced logoff's warning on the desktop and audits it; a failure is logged (the
    /// logoff still comes after the grace period).
    func warn(_ desktop: Desktop, _ message: String, at: Date, actor: String) async {
        do {
            guard let hypervisor = hypervisors[desktop.host] else { throw DeskpoolError(.notFound, "host \(desktop.host) is not connected") }
            try await hypervisor.showMessage(message, onDesktop: desktop.name)
            try await store.audit(AuditEntry(at: at, actor: actor, action: "rollout.warn", subject: "desktop/\(desktop.name)", detail: message))
        } catch {
            logger.warning("cannot warn a user of a forced logoff", metadata: ["desktop": "\(desktop.name)", "error": "\(error)"])
        }
    }

    func openWave(_ wave: Int, of rollout: Rollout) async throws(DeskpoolError) {
        let actor = PolicyRollouts.actor(rollout.id)
        _ = try await store.updateRollout(rollout.id, from: [.running], actor: actor) { $0.wave = wave }
        try await store.audit(AuditEntry(at: now(), actor: actor, action: "rollout.wave", subject: "rollout/\(rollout.id)",
                                         detail: "wave \(wave + 1) of \(rollout.waves)"))
    }

    /// Too many failures: roll back (with `autoRollback`) or stay halted for an admin.
    func halt(_ rollout: Rollout, reason: String, strategy: RolloutStrategy) async throws(DeskpoolError) {
        let next: Rollout.State = strategy.autoRollback ? .rollingBack : .halted
        guard let halted = try await store.updateRollout(rollout.id, from: [.running], actor: PolicyRollouts.actor(rollout.id), change: {
            $0.state = next
            $0.reason = reason + (next == .rollingBack ? "; rolling back" : "")
        }) else { return }
        logger.error("rollout halted", metadata: ["rollout": "\(rollout.id)", "reason": "\(reason)", "state": "\(next.rawValue)"])
        if next == .rollingBack { try await PolicyRollouts.restorePools(halted, store: store) }
        poke()
    }

    func finish(_ rollout: Rollout, _ state: Rollout.State) async throws(DeskpoolError) {
        _ = try await store.updateRollout(rollout.id, from: [rollout.state], actor: PolicyRollouts.actor(rollout.id)) { $0.state = state }
        logger.info("rollout finished", metadata: ["rollout": "\(rollout.id)", "state": "\(state.rawValue)"])
    }

    /// Nil when the desktop passes the health gate, else what it lacks.
    func health(of desktop: Desktop, gate: HealthGate) async -> String? {
        guard let hypervisor = hypervisors[desktop.host] else { return "its host \(desktop.host) is not connected" }
        do {
            switch try await hypervisor.probe(named: desktop.name) {
            case .broken(let reason): return "broken: \(reason)"
            case .booting: return gate.agent ? "its guest agent does not answer yet" : nil
            case .ready: break
            }
            if gate.display {
                let endpoint = try await hypervisor.consoleEndpoint(ofDesktop: desktop.name)
                guard !endpoint.ports.isEmpty else { return "its SPICE display is not up" }
            }
            return nil
        } catch {
            return "cannot check it: \(error.message)"
        }
    }
}
