public import Foundation

/// What admins do with policies: validate, plan, apply (a persisted rollout), and pause,
/// resume, cancel or roll back a rollout. `RolloutService` carries rollouts out. Every action
/// is audited; a refused one changes nothing.
public struct PolicyRollouts: Sendable {
    let store: any Store
    /// The hosts, by name: plans of ConfigPolicy files read each desktop's definition.
    let hypervisors: [String: any Hypervisor]
    let now: @Sendable () -> Date
    /// Wakes the rollout service (and through it the reconciler) after a change.
    let poke: @Sendable () -> Void

    public init(store: any Store, hypervisors: [any Hypervisor] = [], now: @escaping @Sendable () -> Date = { Date() },
                poke: @escaping @Sendable () -> Void = {}) {
        self.init(store: store, hosts: Hosts(hypervisors), now: now, poke: poke)
    }

    public init(store: any Store, hosts: Hosts, now: @escaping @Sendable () -> Date = { Date() }, poke: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.hypervisors = hosts.byName
        self.now = now
        self.poke = poke
    }

    /// Parses a policy file's text; every problem is an `.invalidInput` error with the file,
    /// line, column and reason.
    public static func parse(_ source: String, file: String = "policy") throws(DeskpoolError) -> Policy {
        do {
            return try PolicyFile.decode(yaml: source, file: file)
        } catch {
            throw DeskpoolError(.invalidInput, error.description, field: "policy")
        }
    }

    /// The plan for a policy against the broker's state now.
    public func plan(_ policy: Policy) async throws(DeskpoolError) -> PolicyPlan {
        let pools = try await store.pools()
        var versions: [String: [TemplateVersion]] = [:]
        var templates: [String: TemplateDefinition] = [:]
        for template in try await store.templates() {
            templates[template.name] = template
            versions[template.name] = try await store.versions(template: template.name)
        }
        let desktops = try await store.desktops(pool: nil)
        var facts: [String: DesktopFacts] = [:]
        if case .config(let spec) = policy.spec {
            let selected = Set(try PolicyPlanner.selectedPools(spec.selector, among: pools).map(\.name))
            facts = await readFacts(desktops.filter { selected.contains($0.pool) && !$0.state.isTransitional })
        }
        return try PolicyPlanner.plan(PolicyPlanner.Input(
            policy: policy, pools: pools, versions: versions, templates: templates, desktops: desktops, facts: facts, now: now()))
    }

    /// What libvirt says of each desktop, read concurrently, host by host; a desktop that
    /// cannot be read is left out (the planner then goes by its record).
    func readFacts(_ desktops: [Desktop]) async -> [String: DesktopFacts] {
        let byHost = Dictionary(grouping: desktops, by: \.host)
        return await withTaskGroup(of: [String: DesktopFacts].self) { group in
            for (host, desktops) in byHost {
                guard let hypervisor = hypervisors[host] else { continue }
                group.addTask { await hypervisor.facts(ofDesktops: desktops.map(\.name)) }
            }
            var facts: [String: DesktopFacts] = [:]
            for await read in group { facts.merge(read) { a, _ in a } }
            return facts
        }
    }

    /// Plans the policy and records the rollout; `RolloutService` starts it at once. Refused
    /// when a selected pool is in another rollout that is not over.
    public func apply(source: String, file: String = "policy", actor: String) async throws(DeskpoolError) -> Rollout {
        let policy = try Self.parse(source, file: file)
        let plan = try await plan(policy)
        // Updates and configuration changes of one pool go one at a time; commands and checks
        // change no definition and may run alongside.
        let changing: Set<Policy.Kind> = [.update, .config]
        if changing.contains(policy.kind) {
            let busy = Set(try await store.rollouts(active: true, limit: 1000).filter { changing.contains($0.kind) }.flatMap { $0.pools.map(\.pool) })
            if let pool = plan.pools.map(\.pool).first(where: busy.contains) {
                throw DeskpoolError(.conflict, "pool \(pool) is in a rollout that is not over: finish, cancel or roll it back first", field: "spec.selector")
            }
        }
        let id = UUID().uuidString.lowercased()
        var changes: [Rollout.PoolChange] = []
        if case .update(let spec) = policy.spec {
            for name in plan.pools.map(\.pool) {
                guard let pool = try await store.pool(named: name) else { throw DeskpoolError(.conflict, "pool \(name) was deleted meanwhile") }
                let versions = try await store.versions(template: pool.template)
                let target = try PolicyPlanner.targetVersion(spec.version, for: pool, among: versions)
                let from = PolicyPlanner.startingVersion(of: pool, target: target.number, versions: versions,
                                                         desktops: try await store.desktops(pool: name))
                changes.append(Rollout.PoolChange(pool: name, fromVersion: from, toVersion: target.number, previousSpec: pool))
            }
        }
        // The pools' new specs (a ConfigPolicy's settings; an UpdatePolicy's pin) go in the
        // rollout's own transaction, at the generation the items are taken to.
        var newSpecs: [PoolSpec] = []
        var generations: [String: Int] = [:]
        if case .config(let spec) = policy.spec {
            for name in plan.pools.map(\.pool) {
                guard let pool = try await store.pool(named: name) else { throw DeskpoolError(.conflict, "pool \(name) was deleted meanwhile") }
                var changed = try spec.applied(to: pool)
                if changed != pool {
                    changed.generation = pool.generation + 1
                    newSpecs.append(changed)
                }
                generations[name] = changed.generation
                changes.append(Rollout.PoolChange(pool: name, fromGeneration: pool.generation, toGeneration: changed.generation, previousSpec: pool))
            }
        }
        // Until the first wave passes, the pools stay on the version they were on: a pool on
        // "latest" would otherwise clone the new version before it is proven.
        for change in changes {
            guard var pool = change.previousSpec, let from = change.fromVersion, pool.version != .pinned(from) else { continue }
            pool.version = .pinned(from)
            pool.generation += 1
            newSpecs.append(pool)
        }
        if policy.kind == .guestCommand || policy.kind == .check {
            changes = plan.pools.map { Rollout.PoolChange(pool: $0.pool) }
        }
        let rollout = Rollout(id: id, policy: policy.name, kind: policy.kind, source: source, pools: changes, waves: plan.waves,
                              createdAt: now(), createdBy: actor)
        var items = plan.included.enumerated().map { position, change in
            RolloutItem(rollout: id, desktopID: change.desktopID, desktop: change.desktop, pool: change.pool, position: position,
                        wave: change.wave ?? 0, from: change.from, to: generations[change.pool].map { RolloutItem.Target.generation($0).description } ?? change.to,
                        user: change.user, method: change.method)
        }
        // Dedicated desktops kept on their version are recorded, settled, so that the rollout
        // says why they were not updated; the machine never acts on a settled item.
        for change in plan.desktops where change.skipped == .keptDedicated {
            items.append(RolloutItem(rollout: id, desktopID: change.desktopID, desktop: change.desktop, pool: change.pool, position: items.count,
                                     wave: max(0, plan.waves - 1), status: .skipped, from: change.from, to: change.from, user: change.user,
                                     detail: change.skipped?.description, method: PolicyPlan.Method.none))
        }
        try await store.createRollout(rollout, items: items, pools: newSpecs, actor: actor)
        // Desktops whose definition already matches only move their record's generation.
        for change in plan.desktops {
            guard case .definitionMatches = change.skipped, let generation = generations[change.pool] else { continue }
            _ = try await store.transition(change.desktopID, .regenerated(generation), actor: Self.actor(id))
        }
        poke()
        return try await store.rollout(id: id) ?? rollout
    }

    public func pause(_ id: String, actor: String) async throws(DeskpoolError) -> Rollout {
        try await move(id, .pause, actor: actor, reason: "paused by \(actor)")
    }

    public func resume(_ id: String, actor: String) async throws(DeskpoolError) -> Rollout {
        try await move(id, .resume, actor: actor, reason: nil)
    }

    /// Stops the rollout for good: desktops already changed stay changed, the rest stay as
    /// they were, marks for a logoff are removed, and the pools keep the version they use now.
    public func cancel(_ id: String, actor: String) async throws(DeskpoolError) -> Rollout {
        let rollout = try await move(id, .cancel, actor: actor, reason: "cancelled by \(actor)")
        for item in try await store.rolloutItems(rollout: id) where item.status == .pending || item.status == .waiting {
            if item.status == .waiting {
                _ = try await store.transition(item.desktopID, .untargeted(version: nil), actor: Self.actor(id))
            }
            _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: Self.actor(id)) {
                $0.status = .skipped
                $0.detail = "not changed: the rollout was cancelled"
            }
        }
        return rollout
    }

    /// Takes every desktop the rollout changed back to where it was, and the pools to their
    /// previous version.
    public func rollback(_ id: String, actor: String) async throws(DeskpoolError) -> Rollout {
        let rollout = try await move(id, .rollback, actor: actor, reason: "rolled back by \(actor)")
        try await Self.restorePools(rollout, store: store)
        return rollout
    }

    /// Pauses, resumes, cancels or rolls back, as `action` says.
    public func perform(_ action: Rollout.Action, _ id: String, actor: String) async throws(DeskpoolError) -> Rollout {
        switch action {
        case .pause: return try await pause(id, actor: actor)
        case .resume: return try await resume(id, actor: actor)
        case .cancel: return try await cancel(id, actor: actor)
        case .rollback: return try await rollback(id, actor: actor)
        }
    }

    /// Puts the pools back on the version they were on before the rollout.
    static func restorePools(_ rollout: Rollout, store: any Store) async throws(DeskpoolError) {
        if rollout.kind == .config {
            // The pools' settings as they were; the rollback takes the desktops to them.
            for change in rollout.pools {
                guard var previous = change.previousSpec, var pool = try await store.pool(named: change.pool) else { continue }
                previous.version = pool.version
                previous.users = pool.users
                previous.groups = pool.groups
                pool = previous
                try await store.putPool(pool, actor: actor(rollout.id))
            }
            return
        }
        for change in rollout.pools {
            guard var pool = try await store.pool(named: change.pool), let from = change.fromVersion, pool.version != .pinned(from) else { continue }
            pool.version = .pinned(from)
            try await store.putPool(pool, actor: actor(rollout.id))
        }
    }

    private func move(_ id: String, _ action: Rollout.Action, actor: String, reason: String?) async throws(DeskpoolError) -> Rollout {
        let (from, state) = (action.allowedFrom, action.target)
        guard let current = try await store.rollout(id: id) else { throw DeskpoolError(.notFound, "no rollout \(id)", field: "rollout") }
        guard from.contains(current.state) else {
            throw DeskpoolError(.conflict, "the rollout is \(current.state.rawValue); it cannot become \(state.rawValue)", field: "rollout")
        }
        guard let moved = try await store.updateRollout(id, from: from, actor: actor, change: { rollout in
            rollout.state = state
            rollout.reason = reason
        }) else { throw DeskpoolError(.conflict, "the rollout changed meanwhile; try again", field: "rollout") }
        poke()
        return moved
    }

    /// The actor rollout steps are audited as.
    public static func actor(_ id: String) -> String { "rollout:\(id)" }
}
