import Foundation

extension ReconcilerService {
    enum Work: Sendable {
        case pool(PoolReconciler.Action)
        case host(String, HostRecovery.Action)

        var desktopID: String? {
            switch self {
            case .pool(.provision(let d)), .pool(.drive(let d)), .pool(.retire(let d)), .pool(.discardFailed(let d)),
                 .pool(.save(let d)), .pool(.resume(let d)): d.id
            case .host(_, .adopt(let identity)): identity.id
            case .host(_, .markFailed(let d, _)): d.id
            default: nil
            }
        }
    }

    struct HostObservation: Sendable {
        var observed: [ObservedDomain]
        var volumes: [String]
        var capacity: HostCapacity
        /// The link's status when the observation began.
        var status: HostStatus
    }

    /// One reconcile pass: observe, decide, and claim the work (mark it busy). Returns the
    /// work to run; a store or host failure skips what depends on it and is logged.
    func pass() async -> [Work] {
        // Snapshot the busy set before reading the store: a desktop whose work ends while we
        // read stays "busy" for this pass instead of being acted on from a stale record.
        var busy = memory.withLock { $0.busy }
        // This broker's share: the hosts it repairs and drives, and whether it sizes the pools
        // (which needs every host's capacity). Taken before the store is read: a lease gained
        // since was taken after the last holder's fenced writes, so this pass reads them.
        let owned = Set(hypervisors.keys.filter { ownership.holding(.host($0)) != nil })
        let sizing = ownership.holding(.pools) != nil
        do {
            // The usage history's retention, once an hour (by whichever replica sizes the pools).
            if sizing, usageSweep.due(at: now()) {
                let before = now().addingTimeInterval(-Double(options.broker.usageRetentionDays) * 86_400)
                _ = try? await store.deleteUsage(endedBefore: before)
                _ = try? await store.deleteCapacitySamples(before: before)
            }
            let pools = try await store.pools()
            let desktops = try await store.desktops(pool: nil)
            if sizing { await sampleCapacity(pools, desktops) }
            var templates: [String: TemplateDefinition] = [:]
            var versions: [String: [TemplateVersion]] = [:]
            for template in try await store.templates() {
                templates[template.name] = template
                versions[template.name] = try await store.versions(template: template.name)
            }
            // Hosts it drives are observed whole; the others, when it sizes the pools, only
            // for their free memory (placement).
            let hosts = await observeHosts(owned, capacityOf: sizing ? Set(hypervisors.keys).subtracting(owned) : [])
            let recorded = Set(desktops.map(\.id))
            memory.withLock { $0.countedFailures.formIntersection(recorded) }
            let now = now()
            // Desktops on hosts we cannot reach, or do not watch, are left alone until the
            // host answers again (or to the replica that holds it). Those on hosts another
            // replica drives stay in the pools' decisions; only their driving is left to it.
            busy.formUnion(desktops.filter { hosts[$0.host] == nil }.map(\.id))

            var work: [Work] = []
            let knownPools = Set(pools.map(\.name))
            for (host, observation) in hosts where owned.contains(host) {
                var input = HostRecovery.Input(
                    host: host, records: desktops.filter { $0.host == host }, observed: observation.observed,
                    volumes: observation.volumes, knownPools: knownPools, busy: busy,
                    orphansSince: memory.withLock { $0.orphans[host] ?? [:] },
                    grace: TimeInterval(options.broker.orphanGraceSeconds), now: now)
                input.instance = options.broker.instance
                let plan = HostRecovery.plan(input)
                memory.withLock { $0.orphans[host] = plan.orphansSince }
                if case .recovering = observation.status.state {
                    // Back after a drop: what happened while it was away (domains that died,
                    // guests that broke) is recorded before the host takes anything new.
                    let (rest, marked) = await recover(host, generation: observation.status.generation, plan.actions, busy: busy)
                    work += rest
                    busy.formUnion(marked)  // their records changed under this pass's copy
                } else {
                    work += plan.actions.map { .host(host, $0) }
                }
            }
            busy.formUnion(work.compactMap(\.desktopID))

            // New desktops go to hosts in service only (not to one whose recovery pass is this one).
            var free = hosts.filter { $0.value.status.inService }.mapValues(\.capacity.freeMemoryMiB)
            var taken = Set(desktops.map(\.name))
            for pool in pools {
                if pool.draining, !desktops.contains(where: { $0.pool == pool.name }) {
                    if sizing { _ = try await under(.pools) { try await store.deleteDrainedPool(named: pool.name, actor: Self.actor) } }
                    continue
                }
                let memoryMiB = templates[pool.template]?.memoryMiB ?? 0
                var chosen: TemplateVersion?
                var problem: String?
                if templates[pool.template] == nil {
                    problem = "template \(pool.template) does not exist"
                } else {
                    switch pool.currentVersion(among: versions[pool.template] ?? []) {
                    case .success(let version): chosen = version
                    case .failure(let error): problem = error.message
                    }
                }
                let poolDesktops = desktops.filter { $0.pool == pool.name }
                if sizing { noteOutcomes(pool: pool.name, poolDesktops.filter { !owned.contains($0.host) }) }
                let health = health(pool: pool.name)
                let allowed = Placement.allowed(for: pool, among: free.keys)
                // Sized by the schedule entry that holds now, if any, and by the forecast.
                let actions = PoolReconciler.plan(PoolReconciler.Input(
                    pool: sizing ? await sized(pool, at: now) : pool.scheduled(at: now), version: chosen, versionProblem: problem, memoryMiB: memoryMiB,
                    desktops: poolDesktops, busy: busy,
                    hosts: allowed.map { Placement.Candidate(name: $0, freeMemoryMiB: free[$0] ?? 0) },
                    takenNames: taken, failures: health.failures, retryAt: health.retryAt, now: now))
                var blocked: String?
                for action in actions {
                    switch action {
                    case .blocked(let reason): blocked = reason
                    case .provision(let desktop):
                        guard sizing else { continue }
                        taken.insert(desktop.name)
                        free[desktop.host, default: 0] -= memoryMiB
                        work.append(.pool(action))
                    case .drive(let desktop):
                        if owned.contains(desktop.host) { work.append(.pool(action)) }
                    case .retire, .discardFailed, .save, .resume:
                        if sizing { work.append(.pool(action)) }
                    }
                }
                if sizing { noteBlocked(pool: pool.name, reason: blocked) }
            }
            return memory.withLock { memory in
                memory.passes += 1
                let claimed = work.filter { $0.desktopID.map { !memory.busy.contains($0) } ?? true }
                memory.busy.formUnion(claimed.compactMap(\.desktopID))
                return claimed
            }
        } catch {
            if !Task.isCancelled { logger.error("reconcile pass failed", metadata: ["error": "\(error)"]) }
            memory.withLock { $0.passes += 1 }
            return []
        }
    }

    /// Records each pool's capacity once per `CapacitySample.interval`, stamped with the
    /// interval's start (a replica that takes the pools over writes the same stamp again).
    private func sampleCapacity(_ pools: [PoolSpec], _ desktops: [Desktop]) async {
        let now = now()
        let slot = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / CapacitySample.interval).rounded(.down) * CapacitySample.interval)
        guard memory.withLock({ $0.sampledSlot != slot }) else { return }
        let samples = pools.map { pool in CapacitySample(pool: pool.name, at: slot, desktops: desktops.filter { $0.pool == pool.name }) }
        do {
            try await store.recordCapacity(samples)
            memory.withLock { $0.sampledSlot = slot }
        } catch {
            logger.warning("capacity samples not recorded; the next pass tries again", metadata: ["error": "\(error)"])
        }
    }

    /// A forecast holds this long before the pool's history is read again.
    static let forecastEvery: TimeInterval = 300

    /// The pool sized at `now`: its schedule, and for `spare: auto` its forecast (read from the
    /// usage history at most every `forecastEvery`; without it, the buffer alone).
    func sized(_ pool: PoolSpec, at now: Date) async -> PoolSpec {
        guard let settings = pool.scheduled(at: now).forecast else { return pool.sized(at: now, forecast: nil) }
        var forecast = memory.withLock { $0.forecasts[pool.name] }
        if forecast.map({ now.timeIntervalSince($0.from) >= Self.forecastEvery || $0.from > now }) ?? true {
            do {
                // Every session of the weeks looked at (a limit would keep the oldest and drop
                // the last weeks of a busy pool).
                let records = try await store.usage(UsageQuery(pool: pool.name, from: SpareForecaster.historyStart(at: now, settings: settings),
                                                               to: now, limit: Int.max))
                let made = SpareForecaster.forecast(records, at: now, settings: settings)
                memory.withLock { $0.forecasts[pool.name] = made }
                if made.spares != forecast?.spares {
                    logger.info("pool forecast", metadata: ["pool": "\(pool.name)", "expected": "\(made.expected.map(String.init) ?? "no history")",
                                                            "perWeek": "\(made.perWeek)", "spares": "\(made.spares)"])
                }
                forecast = made
            } catch {
                logger.warning("pool forecast failed; its last one holds", metadata: ["pool": "\(pool.name)", "error": "\(error)"])
            }
        }
        return pool.sized(at: now, forecast: forecast)
    }

    /// The host's desktops whose domain died or broke while it was away are marked failed now,
    /// in this pass; then the host is in service again. Returns the rest of its repairs
    /// (adoptions, orphans), which run like any other work.
    private func recover(_ host: String, generation: Int, _ actions: [HostRecovery.Action], busy: Set<String>) async -> (rest: [Work], marked: Set<String>) {
        var rest: [Work] = []
        var marked: Set<String> = []
        for action in actions {
            if case .markFailed = action, let id = Work.host(host, action).desktopID, !busy.contains(id) {
                let claimed = memory.withLock { $0.busy.insert(id).inserted }
                if claimed {
                    await perform(.host(host, action))
                    marked.insert(id)
                }
            } else {
                rest.append(.host(host, action))
            }
        }
        hypervisors[host]?.recovered(generation: generation)
        logger.notice("host recovery pass done", metadata: ["host": "\(host)", "generation": "\(generation)", "markedFailed": "\(marked.count)"])
        return (rest, marked)
    }

    /// The domains, volumes and capacity of each connected host of `names`, and the capacity
    /// alone of those of `capacityOf` (no domains, no volumes), observed concurrently. A host
    /// that is away is left out without a call (its link logs, and retries).
    private func observeHosts(_ names: Set<String>, capacityOf others: Set<String>) async -> [String: HostObservation] {
        await withTaskGroup(of: (String, HostObservation?).self) { group in
            for (name, hypervisor) in hypervisors where names.contains(name) || others.contains(name) {
                let status = hypervisor.status
                guard status.isConnected else { continue }
                let whole = names.contains(name)
                group.addTask {
                    do {
                        guard whole else {
                            return (name, HostObservation(observed: [], volumes: [], capacity: try await hypervisor.capacity(), status: status))
                        }
                        return (name, HostObservation(
                            observed: try await hypervisor.observe(), volumes: try await hypervisor.deskpoolVolumes(),
                            capacity: try await hypervisor.capacity(), status: status))
                    } catch let error as DeskpoolError where error.code == .hypervisorUnavailable {
                        return (name, nil)
                    } catch {
                        self.logger.warning("host unreachable; its desktops are left as they are", metadata: ["host": "\(name)", "error": "\(error)"])
                        return (name, nil)
                    }
                }
            }
            var result: [String: HostObservation] = [:]
            for await (name, observation) in group { if let observation { result[name] = observation } }
            return result
        }
    }

    /// The pools' holder backs a pool off on failures it did not see happen: desktops another
    /// replica drove to `failed` count as its own failures would (once each, at the time on
    /// record), and one that became ready since the last failure ends the backoff, as its own
    /// would. Without this, a pool whose host another replica drives would be retried at every
    /// pass while its template fails.
    private func noteOutcomes(pool: String, _ desktops: [Desktop]) {
        let broker = options.broker
        memory.withLock { memory in
            var health = memory.health[pool] ?? PoolHealth()
            // A desktop failed again after a refresh counts again.
            memory.countedFailures.subtract(desktops.filter { $0.state != .failed }.map(\.id))
            for desktop in desktops.filter({ $0.state == .failed }).sorted(by: { $0.updatedAt < $1.updatedAt })
            where memory.countedFailures.insert(desktop.id).inserted {
                _ = Self.countFailure(&health, reason: desktop.reason, at: desktop.updatedAt, broker: broker)
            }
            if health.failures > 0, let last = health.lastFailureAt,
               desktops.contains(where: { !$0.state.isTransitional && $0.state != .failed && $0.state != .off && $0.updatedAt > last }) {
                health.failures = 0
                health.retryAt = nil
            }
            memory.health[pool] = health
        }
    }

    private func noteBlocked(pool: String, reason: String?) {
        let changed = memory.withLock { memory in
            defer { memory.health[pool, default: PoolHealth()].blocked = reason }
            return memory.health[pool]?.blocked != reason
        }
        if changed, let reason { logger.warning("pool cannot grow", metadata: ["pool": "\(pool)", "reason": "\(reason)"]) }
    }
}
