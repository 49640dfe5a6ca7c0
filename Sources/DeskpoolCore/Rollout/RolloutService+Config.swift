import Foundation

extension RolloutService {
    func stepConfig(_ rollout: Rollout, spec: ConfigPolicySpec, items: [RolloutItem], desktops: [String: Desktop]) async -> Int {
        // The pools and templates once per pass, not once per desktop.
        var context = PassContext()
        for change in rollout.pools {
            guard let pool = try? await store.pool(named: change.pool) else { continue }
            context.pools[pool.name] = pool
            if context.templates[pool.template] == nil { context.templates[pool.template] = try? await store.template(named: pool.template) }
        }
        let generations = context.pools.mapValues(\.generation)
        let shared = context
        let actions = ConfigRolloutMachine.decide(ConfigRolloutMachine.Input(
            rollout: rollout, strategy: spec.strategy, logoff: spec.logoff, items: items, desktops: desktops, generations: generations, now: now()))
        // Definition changes go in parallel (each desktop's is independent; libvirt calls run
        // on its own threads), bounded per host like the reconciler's work; the rest in order.
        let reconfigures = actions.filter { if case .reconfigure = $0 { true } else { false } }
        let others = actions.filter { if case .reconfigure = $0 { false } else { true } }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for action in reconfigures {
                if running == Self.parallelDefinitions {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask { await self.performLogging(action, rollout: rollout, strategy: spec.strategy, desktops: desktops, context: shared) }
            }
        }
        for action in others { await performLogging(action, rollout: rollout, strategy: spec.strategy, desktops: desktops, context: shared) }
        return actions.count
    }

    /// Definition changes made at once by a ConfigPolicy rollout.
    static let parallelDefinitions = 8

    private func performLogging(_ action: ConfigRolloutMachine.Action, rollout: Rollout, strategy: RolloutStrategy,
                                desktops: [String: Desktop], context: PassContext) async {
        do {
            try await perform(action, rollout: rollout, strategy: strategy, desktops: desktops, context: context)
        } catch {
                logger.warning("rollout step failed", metadata: ["rollout": "\(rollout.id)", "action": "\(action)", "error": "\(error)"])
                if case .reconfigure(let item, _, _, _) = action {
                    _ = try? await store.updateRolloutItem(rollout: rollout.id, desktop: item.desktopID, from: [item.status, .inProgress, .rollingBack],
                                                           actor: PolicyRollouts.actor(rollout.id)) {
                        $0.status = .failed
                        $0.detail = "its definition could not be changed: \(error.message)"
                        $0.finishedAt = Date()
                    }
                }
        }
    }

    func perform(_ action: ConfigRolloutMachine.Action, rollout: Rollout, strategy: RolloutStrategy,
                 desktops: [String: Desktop], context: PassContext) async throws(DeskpoolError) {
        let actor = PolicyRollouts.actor(rollout.id)
        let id = rollout.id
        let rollingBack = rollout.state == .rollingBack
        switch action {
        case .reconfigure(let item, let restart, let waitForLogoff, let warn):
            guard let desktop = desktops[item.desktopID], let hypervisor = hypervisors[desktop.host] else { return }
            // The item first: a cancel that comes meanwhile then finds it under way, not pending.
            let claimedAt = now()
            guard let claimed = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor, change: {
                $0.status = rollingBack ? .rollingBack : .inProgress
                $0.startedAt = nil
                $0.detail = "changing its definition (\(claimedAt.formatted(.iso8601)))"
            }) else { return }
            guard let pool = context.pools[desktop.pool], let template = context.templates[pool.template] else {
                throw DeskpoolError(.notFound, "pool \(desktop.pool) or its template is gone")
            }
            let hardware = DesktopHardware(template: template, pool: pool)
            var identity = desktop.identity
            identity.generation = pool.generation
            // One define: the persistent definition is the old one or the new one, never a mix.
            try await hypervisor.reconfigure(desktop.name, hardware: hardware, identity: identity)
            var memory = "no live change"
            if desktop.state != .off, let live = try await hypervisor.facts(ofDesktop: desktop.name).live,
               live.memoryMiB != hardware.memoryMiB, hardware.memoryMiB <= live.maxMemoryMiB {
                try await hypervisor.setLiveMemory(hardware.memoryMiB, onDesktop: desktop.name)
                memory = "memory \(live.memoryMiB) -> \(hardware.memoryMiB) MiB live"
            }
            _ = try await store.transition(desktop.id, from: Set(DesktopState.allCases), actor: actor) { $0.generation = pool.generation }
            var restarted = false
            if restart {
                restarted = try await store.transition(desktop.id, from: [.ready, .assigned], actor: actor) { d in
                    d.state = .restarting
                    d.reason = "rollout \(rollout.policy): restarting into generation \(pool.generation)"
                } != nil
            }
            let at = now()
            let (didRestart, change) = (restarted, memory)
            let status: RolloutItem.Status = restarted ? (rollingBack ? .rollingBack : .inProgress)
                : waitForLogoff ? (rollingBack ? .rollingBack : .waiting) : (rollingBack ? .rolledBack : .done)
            _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [claimed.status], actor: actor) {
                $0.status = status
                $0.to = ConfigRolloutMachine.target(pool.generation)
                $0.incarnation = desktop.incarnation
                $0.user = desktop.user
                if didRestart { $0.startedAt = at }
                if !didRestart && !waitForLogoff { $0.finishedAt = at }
                if warn != nil { $0.warnedAt = at }
                $0.detail = didRestart ? "definition changed (\(change)); restarting"
                    : waitForLogoff ? "definition changed (\(change)); the rest takes effect when \(desktop.user ?? "its user") logs off"
                    : "definition changed (\(change))"
            }
            if restarted { reconcile() }
            if let warn { await self.warn(desktop, warn, at: at, actor: actor) }
        case .restart(let item):
            guard try await store.transition(item.desktopID, from: [.ready, .assigned], actor: actor, change: { d in
                d.state = .restarting
                d.reason = "rollout \(rollout.policy): restarting into its changed definition"
            }) != nil else { return }
            let at = now()
            _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor) {
                $0.status = rollingBack ? .rollingBack : .inProgress
                $0.startedAt = at
                $0.detail = "its user logged off; restarting"
            }
            reconcile()
        case .forceLogoff(let item):
            _ = try await sessions.logoff(desktop: item.desktopID, by: actor, reason: "logged off for rollout \(rollout.policy)")
        case .checkHealth(let item):
            guard let desktop = desktops[item.desktopID] else { return }
            if let problem = await health(of: desktop, gate: strategy.healthGate) {
                if item.startedAt == nil {
                    let at = now()
                    _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor) {
                        $0.startedAt = at
                        $0.detail = problem
                    }
                }
                return
            }
            let at = now()
            _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor) {
                $0.status = rollingBack ? .rolledBack : .done
                $0.finishedAt = at
                $0.detail = "running its generation \(desktop.generation) definition, healthy"
            }
        case .settle(let item, let status, let detail):
            let at = now()
            _ = try await store.updateRolloutItem(rollout: id, desktop: item.desktopID, from: [item.status], actor: actor) {
                $0.status = status
                $0.detail = detail
                $0.finishedAt = at
            }
        case .nextWave(let wave):
            try await openWave(wave, of: rollout)
        case .halt(let reason):
            try await halt(rollout, reason: reason, strategy: strategy)
        case .finish(let state):
            try await finish(rollout, state)
        }
    }
}
