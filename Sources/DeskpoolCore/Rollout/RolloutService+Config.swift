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
        let actions = RolloutMachine.decide(RolloutMachine.Input(
            rollout: rollout, rule: .config(generations: generations), strategy: spec.strategy, logoff: spec.logoff, items: items,
            desktops: desktops, now: now()))
        // Definition changes go together (a batch of store writes, libvirt calls in
        // parallel); the rest in order.
        let reconfigures = actions.compactMap { action -> Reconfigure? in
            guard case .reconfigure(let item, let restart, let waitForLogoff, let warn) = action else { return nil }
            return Reconfigure(item: item, restart: restart, waitForLogoff: waitForLogoff, warn: warn)
        }
        await reconfigure(reconfigures, rollout: rollout, desktops: desktops, context: shared)
        for action in actions {
            if case .reconfigure = action { continue }
            do {
                try await perform(action, rollout: rollout, strategy: spec.strategy, desktops: desktops, context: shared)
            } catch {
                logger.warning("rollout step failed", metadata: ["rollout": "\(rollout.id)", "action": "\(action)", "error": "\(error)"])
            }
        }
        return actions.count
    }

    /// Definition changes made at once by a ConfigPolicy rollout.
    static let parallelDefinitions = 8
    /// Desktops whose results are written in one store transaction.
    static let resultBatch = 64

    /// A `.reconfigure` action.
    struct Reconfigure: Sendable {
        var item: RolloutItem
        var restart: Bool
        var waitForLogoff: Bool
        var warn: String?
    }

    /// What changing one desktop's definition came to: the live change made, or the error.
    struct Reconfigured: Sendable {
        var step: Reconfigure
        var claimed: RolloutItem
        var desktop: Desktop
        var generation: Int
        var result: Result<String, DeskpoolError>
    }

    /// Changes the desktops' definitions: the items are claimed in one transaction (a cancel
    /// that comes meanwhile then finds them under way, not pending), each desktop's persistent
    /// definition is replaced in one define (old or new, never a mix) and its memory changed
    /// live where it can be, `parallelDefinitions` at a time, and the results are written in
    /// batches, each desktop's record and item in the same transaction. An item claimed but
    /// not written (the broker stopped) is done again by the next pass: defining the same
    /// definition twice changes nothing.
    func reconfigure(_ steps: [Reconfigure], rollout: Rollout, desktops: [String: Desktop], context: PassContext) async {
        guard !steps.isEmpty else { return }
        let actor = PolicyRollouts.actor(rollout.id)
        let rollingBack = rollout.state == .rollingBack
        let claimedAt = now()
        let claims: [RolloutItem?]
        do {
            claims = try await store.updateRolloutItems(rollout: rollout.id, steps.map { step in
                RolloutItemUpdate(desktopID: step.item.desktopID, from: [step.item.status]) { item, _ in
                    item.status = rollingBack ? .rollingBack : .inProgress
                    item.startedAt = nil
                    item.detail = "changing its definition (\(claimedAt.formatted(.iso8601)))"
                }
            }, actor: actor)
        } catch {
            logger.warning("rollout cannot claim desktops", metadata: ["rollout": "\(rollout.id)", "error": "\(error)"])
            return
        }
        // Batches are written one after the other while the next desktops are changed.
        var recording: Task<Void, Never>?
        func recordAfterPrevious(_ batch: [Reconfigured]) {
            let previous = recording
            recording = Task {
                await previous?.value
                await self.record(batch, rollout: rollout)
            }
        }
        await withTaskGroup(of: Reconfigured?.self) { group in
            var running = 0
            var done: [Reconfigured] = []
            for (step, claimed) in zip(steps, claims) {
                guard let claimed, let desktop = desktops[step.item.desktopID] else { continue }
                if running == Self.parallelDefinitions, let next = await group.next() {
                    running -= 1
                    if let next { done.append(next) }
                    if done.count >= Self.resultBatch {
                        recordAfterPrevious(done)
                        done = []
                    }
                }
                running += 1
                group.addTask { await self.reconfigure(step, claimed: claimed, desktop: desktop, context: context) }
            }
            for await next in group { if let next { done.append(next) } }
            recordAfterPrevious(done)
        }
        await recording?.value
    }

    /// One desktop's definition change (and live memory); nil when its host is not connected
    /// (the item stays claimed, for a later pass).
    private func reconfigure(_ step: Reconfigure, claimed: RolloutItem, desktop: Desktop, context: PassContext) async -> Reconfigured? {
        guard let hypervisor = hypervisors[desktop.host] else { return nil }
        guard let pool = context.pools[desktop.pool], let template = context.templates[pool.template] else {
            return Reconfigured(step: step, claimed: claimed, desktop: desktop, generation: desktop.generation,
                                result: .failure(DeskpoolError(.notFound, "pool \(desktop.pool) or its template is gone")))
        }
        let hardware = DesktopHardware(template: template, pool: pool)
        var identity = desktop.identity
        identity.generation = pool.generation
        do throws(DeskpoolError) {
            let live = try await hypervisor.reconfigure(desktop.name, hardware: hardware, identity: identity)
            var memory = "no live change"
            if let live, live.memoryMiB != hardware.memoryMiB, hardware.memoryMiB <= live.maxMemoryMiB {
                try await hypervisor.setLiveMemory(hardware.memoryMiB, onDesktop: desktop.name)
                memory = "memory \(live.memoryMiB) -> \(hardware.memoryMiB) MiB live"
            }
            return Reconfigured(step: step, claimed: claimed, desktop: desktop, generation: pool.generation, result: .success(memory))
        } catch {
            return Reconfigured(step: step, claimed: claimed, desktop: desktop, generation: pool.generation, result: .failure(error))
        }
    }

    /// Writes the results of definition changes in one transaction: a changed desktop's
    /// record takes the new generation (and `restarting`, if it restarts now) with its item's
    /// status; a failed one's item is failed. Then restarts are started and users warned.
    private func record(_ results: [Reconfigured], rollout: Rollout) async {
        guard !results.isEmpty else { return }
        let actor = PolicyRollouts.actor(rollout.id)
        let rollingBack = rollout.state == .rollingBack
        let at = now()
        let updates = results.map { done -> RolloutItemUpdate in
            let (step, generation) = (done.step, done.generation)
            switch done.result {
            case .failure(let error):
                logger.warning("rollout could not change a desktop's definition",
                               metadata: ["rollout": "\(rollout.id)", "desktop": "\(done.desktop.name)", "error": "\(error)"])
                return RolloutItemUpdate(desktopID: step.item.desktopID, from: [done.claimed.status]) { item, _ in
                    item.status = .failed
                    item.detail = "its definition could not be changed: \(error.message)"
                    item.finishedAt = at
                }
            case .success(let change):
                let desktop = DesktopEvent.redefined(policy: rollout.policy, generation: generation, restart: step.restart)
                return RolloutItemUpdate(desktopID: step.item.desktopID, from: [done.claimed.status], desktop: desktop) { item, desktop in
                    let restarted = step.restart && desktop?.state == .restarting
                    item.status = restarted ? (rollingBack ? .rollingBack : .inProgress)
                        : step.waitForLogoff ? (rollingBack ? .rollingBack : .waiting) : (rollingBack ? .rolledBack : .done)
                    item.to = RolloutItem.Target.generation(generation).description
                    item.incarnation = desktop?.incarnation ?? done.desktop.incarnation
                    item.user = desktop?.user ?? done.desktop.user
                    if restarted { item.startedAt = at }
                    if !restarted && !step.waitForLogoff { item.finishedAt = at }
                    if step.warn != nil { item.warnedAt = at }
                    item.detail = restarted ? "definition changed (\(change)); restarting"
                        : step.waitForLogoff ? "definition changed (\(change)); the rest takes effect when \(done.desktop.user ?? "its user") logs off"
                        : "definition changed (\(change))"
                }
            }
        }
        let written: [RolloutItem?]
        do {
            written = try await store.updateRolloutItems(rollout: rollout.id, updates, actor: actor)
        } catch {
            logger.warning("rollout cannot record definition changes", metadata: ["rollout": "\(rollout.id)", "error": "\(error)"])
            return
        }
        if zip(results, written).contains(where: { $0.step.restart && $1?.startedAt == at }) { reconcile() }
        for (done, item) in zip(results, written) {
            guard let message = done.step.warn, item?.warnedAt == at, case .success = done.result else { continue }
            await warn(done.desktop, message, at: at, actor: actor)
        }
    }

    func perform(_ action: RolloutMachine.Action, rollout: Rollout, strategy: RolloutStrategy,
                 desktops: [String: Desktop], context: PassContext) async throws(DeskpoolError) {
        if try await performShared(action, rollout: rollout, strategy: strategy) { return }
        let actor = PolicyRollouts.actor(rollout.id)
        let id = rollout.id
        let rollingBack = rollout.state == .rollingBack
        switch action {
        case .reconfigure(let item, let restart, let waitForLogoff, let warn):
            await reconfigure([Reconfigure(item: item, restart: restart, waitForLogoff: waitForLogoff, warn: warn)],
                              rollout: rollout, desktops: desktops, context: context)
        case .restart(let item):
            guard try await store.transition(item.desktopID, .rolloutRestarted(policy: rollout.policy), actor: actor) != nil else { return }
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
        case .settle, .nextWave, .halt, .finish:
            break  // performShared
        case .refresh, .markForLogoff, .begin, .switchPools, .interrupt, .run, .check, .remediate:
            break  // never decided for a config rollout
        }
    }
}
