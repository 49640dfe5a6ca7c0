import Metrics
import Foundation

extension ReconcilerService {
    static let actor = "broker"

    /// Runs one piece of work and releases its desktop. Pool decisions are written under the
    /// pools lease, a host's work under the host's; work whose lease this broker no longer
    /// holds is not done.
    func perform(_ work: Work) async {
        defer { if let id = work.desktopID { _ = memory.withLock { $0.busy.remove(id) } } }
        do {
            switch work {
            case .pool(.provision(let desktop)):
                let inserted = try await under(.pools) {
                    let limit = try await store.pool(named: desktop.pool)?.max
                    return try await store.insertDesktop(desktop, actor: Self.actor, limit: limit)
                }
                if inserted == true { await drive(desktop) }
            case .pool(.drive(let desktop)):
                await drive(desktop)
            case .pool(.retire(let desktop)):
                if let d = try await under(.pools, { try await store.transition(desktop.id, .retired, actor: Self.actor) }) ?? nil {
                    await drive(d)
                }
            case .pool(.discardFailed(let desktop)):
                if let d = try await under(.pools, { try await store.transition(desktop.id, .discarded, actor: Self.actor) }) ?? nil {
                    await drive(d)
                }
            case .pool(.save(let desktop)):
                if let d = try await under(.pools, { try await store.transition(desktop.id, .parked, actor: Self.actor) }) ?? nil {
                    await drive(d)
                }
            case .pool(.resume(let desktop)):
                if let d = try await under(.pools, { try await store.transition(desktop.id, .resumed, actor: Self.actor) }) ?? nil {
                    await drive(d)
                }
            case .pool(.blocked):
                break
            case .host(let host, let action):
                try await under(.host(host)) { try await repair(host, action) }
            }
        } catch let error as DeskpoolError where error.code == .alreadyExists {
            // A pass (here, or a replica's that sized the pools before) that read the store
            // before this name was inserted chose it again: the name's record stands.
            logger.debug("desktop name taken meanwhile; the next pass plans again", metadata: ["error": "\(error)"])
        } catch let error as DeskpoolError where error.code == .leaseLost {
            logger.notice("work left to the replica that holds its lease now", metadata: ["error": "\(error)"])
        } catch {
            logger.error("reconcile action failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` under `work`'s lease; nil (nothing done) when this broker does not hold it.
    func under<T: Sendable>(_ work: Lease.Work, _ body: () async throws -> T) async rethrows -> T? {
        guard let holding = ownership.holding(work) else { return nil }
        return try await holding.run(body)
    }

    /// One of a host's repairs.
    private func repair(_ host: String, _ action: HostRecovery.Action) async throws {
        switch action {
        case .adopt(let identity):
            let desktop = Desktop(id: identity.id, name: identity.name, pool: identity.pool, host: host, template: identity.template,
                                  version: identity.version, state: .starting, incarnation: identity.incarnation,
                                  generation: identity.generation, createdAt: now())
            logger.notice("adopting a Deskpool domain without a record", metadata: ["desktop": "\(identity.name)", "host": "\(host)"])
            if try await store.insertDesktop(desktop, actor: Self.actor, limit: nil) { await drive(desktop) }
        case .markFailed(let desktop, let reason):
            logger.warning("desktop lost its domain", metadata: ["desktop": "\(desktop.name)", "reason": "\(reason)"])
            _ = try await store.transition(desktop.id, .lost(reason: reason), expecting: [desktop.state], actor: Self.actor)
        case .removeDomain(let name, let volume):
            logger.notice("removing an orphan Deskpool domain", metadata: ["domain": "\(name)", "host": "\(host)"])
            try await hypervisors[host]?.destroyDesktop(named: name, volume: volume)
            try await store.audit(AuditEntry(at: now(), actor: Self.actor, action: "orphan.domain.remove", subject: "host/\(host)/\(name)"))
        case .removeVolume(let volume):
            logger.notice("removing an orphan Deskpool volume", metadata: ["volume": "\(volume)", "host": "\(host)"])
            try await hypervisors[host]?.deleteVolume(named: volume)
            try await store.audit(AuditEntry(at: now(), actor: Self.actor, action: "orphan.volume.remove", subject: "host/\(host)/\(volume)"))
        }
    }

    /// Carries a desktop through its transitional states until it is stable, failed, or gone.
    /// Every step is persisted before the next side effect, so a crash resumes here.
    func drive(_ desktop: Desktop) async {
        guard let holding = ownership.holding(.host(desktop.host)) else { return }  // its host's replica drives it
        await holding.run { await driveHeld(desktop) }
    }

    private func driveHeld(_ desktop: Desktop) async {
        var current: Desktop? = desktop
        let began = now()
        while let d = current, !Task.isCancelled {
            do {
                switch d.state {
                case .provisioning: current = try await provision(d)
                case .starting: current = try await start(d, began: began)
                case .refreshing: current = try await refresh(d)
                case .restarting: current = try await restart(d)
                case .stopping: current = try await stop(d)
                case .saving: current = try await save(d)
                case .deleting:
                    try await destroy(d)
                    current = nil
                default: current = nil
                }
            } catch is CancellationError {
                return  // shutting down: the state on record lets the next start resume
            } catch let error as DeskpoolError where error.code == .alreadyExists {
            // A pass (here, or a replica's that sized the pools before) that read the store
            // before this name was inserted chose it again: the name's record stands.
            logger.debug("desktop name taken meanwhile; the next pass plans again", metadata: ["error": "\(error)"])
        } catch let error as DeskpoolError where error.code == .leaseLost {
                // Another replica took the host over: it carries on from the state on record.
                logger.notice("desktop left to the replica that holds its host now", metadata: ["desktop": "\(d.name)", "host": "\(d.host)"])
                return
            } catch let error as DeskpoolError where error.code == .hypervisorUnavailable {
                // The host went away mid-way: nothing failed. The state on record lets the
                // pass after the host's recovery resume here.
                logger.notice("desktop waits for its host", metadata: ["desktop": "\(d.name)", "host": "\(d.host)", "state": "\(d.state.rawValue)"])
                return
            } catch {
                // The same, when a store or libvirt call reports the cancellation its own way.
                if Task.isCancelled { return }
                current = await fail(d, reason: (error as? DeskpoolError)?.message ?? "\(error)")
            }
        }
    }

    private func destroy(_ d: Desktop) async throws {
        try await limited(d.host) { try await $0.destroyDesktop(named: d.name, volume: d.volumeName) }
        let stillThere = try await store.desktop(id: d.id) != nil
        if stillThere { try await store.deleteDesktop(id: d.id, actor: Self.actor) }
    }

    private func provision(_ d: Desktop) async throws -> Desktop? {
        guard let template = try await store.template(named: d.template),
              let version = try await store.versions(template: d.template).first(where: { $0.number == d.version && $0.published })
        else { throw DeskpoolError(.notFound, "template version \(d.template)/\(d.version) is gone") }
        // The pool's `desktop:` overrides and console policy; a pool gone meanwhile leaves the
        // template's hardware (the desktop is retired on the next pass anyway).
        let pool = try await store.pool(named: d.pool)
        let hardware = DesktopHardware(template: template, pool: pool)
        // A template whose image takes a NoCloud seed gets one per incarnation: a refreshed
        // desktop is a new instance (new machine-id, SSH host keys, first boot again).
        let secrets = options.secrets
        let seed = template.identity?.seed == .nocloud
            ? try IdentitySeed.render(desktop: d.identity, settings: pool?.identity ?? IdentitySettings()) { (name: String) throws(DeskpoolError) in
                try secrets.read(name)
            }
            : nil
        try await limited(d.host) { try await $0.createDesktop(d.identity, base: version.volume, template: template, hardware: hardware, seed: seed) }
        return try await store.transition(d.id, .provisioned, actor: Self.actor)
    }

    private func start(_ d: Desktop, began: Date) async throws -> Desktop? {
        try await limited(d.host) { try await $0.startDesktop(named: d.name) }
        let template = try await store.template(named: d.template)
        let timeout = template?.bootTimeoutSeconds ?? 300
        let deadline = now().addingTimeInterval(TimeInterval(timeout))
        // The identity gate: the guest must report the host name its seed gave it.
        var expectedHostName: String?
        if template?.identity?.requireApplied == true {
            let pattern = try await store.pool(named: d.pool)?.identity?.hostname ?? IdentitySettings().hostname
            expectedHostName = IdentitySettings.hostName(pattern: pattern, desktop: d.name, pool: d.pool)
        }
        var reported: String?
        while true {
            guard let hypervisor = hypervisors[d.host] else { throw DeskpoolError(.notFound, "host \(d.host) is not configured") }
            var probe = try await hypervisor.probe(named: d.name)
            if probe == .ready, let expectedHostName {
                reported = try await hypervisor.guestHostName(ofDesktop: d.name)
                if reported != expectedHostName { probe = .booting }
            }
            switch probe {
            case .ready:
                estimator.record(pool: d.pool, seconds: now().timeIntervalSince(began))
                memory.withLock { $0.health[d.pool, default: PoolHealth()].failures = 0; $0.health[d.pool]?.retryAt = nil }
                logger.info("desktop ready", metadata: ["desktop": "\(d.name)", "pool": "\(d.pool)", "host": "\(d.host)"])
                let readyAt = now()
                return try await store.transition(d.id, .booted(at: readyAt), actor: Self.actor)
            case .broken(let reason):
                throw DeskpoolError(.hypervisorFailed, "guest failed: \(reason)")
            case .booting:
                // Someone else (a rollout's rollback, an admin) may have moved the desktop on.
                guard let record = try await store.desktop(id: d.id), record.state == .starting else { return nil }
                guard now() < deadline else {
                    if let expectedHostName {
                        let seen = reported.map { "'\(SafeText.escaped($0, limit: 64))'" } ?? "none"
                        throw DeskpoolError(.hypervisorFailed,
                                            "guest did not apply its identity within \(timeout) s (host name \(seen), expected '\(expectedHostName)')")
                    }
                    throw DeskpoolError(.hypervisorFailed, "guest did not become ready within \(timeout) s")
                }
                try await clock.sleep(for: options.probeInterval)
            }
        }
    }

    /// Shuts the guest down (its agent, ACPI, then hard) and starts it again, so that it runs
    /// its changed definition.
    private func restart(_ d: Desktop) async throws -> Desktop? {
        try await limited(d.host) { try await $0.stopDesktop(named: d.name, timeout: .seconds(60)) }
        return try await store.transition(d.id, .restarted, actor: Self.actor)
    }

    /// Shuts a dedicated desktop down at logoff; it stays its user's, `off`.
    private func stop(_ d: Desktop) async throws -> Desktop? {
        try await limited(d.host) { try await $0.stopDesktop(named: d.name, timeout: .seconds(60)) }
        _ = try await store.transition(d.id, .stopped, actor: Self.actor)
        return nil
    }

    /// Saves a ready spare's memory to the host's disk; it waits `saved`, without memory or CPU.
    private func save(_ d: Desktop) async throws -> Desktop? {
        let began = now()
        try await limited(d.host) { try await $0.saveDesktop(named: d.name) }
        logger.info("spare saved", metadata: ["desktop": "\(d.name)", "pool": "\(d.pool)", "seconds": "\(now().timeIntervalSince(began))"])
        _ = try await store.transition(d.id, .saved, actor: Self.actor)
        return nil
    }

    private func refresh(_ d: Desktop) async throws -> Desktop? {
        try await limited(d.host) { try await $0.destroyDesktop(named: d.name, volume: d.volumeName) }
        let pool = try await store.pool(named: d.pool)
        let versions = try await store.versions(template: d.template)
        // A rollout's target wins over the pool's version (it moves desktops wave by wave).
        let current = (try? pool?.currentVersion(among: versions).get())?.number ?? d.version
        return try await store.transition(
            d.id, .recloned(version: current, generation: pool?.generation, keepUser: pool?.assignment == .dedicated), actor: Self.actor)
    }

    /// Records a failure on the desktop and backs the pool off; the desktop's domain is kept
    /// for inspection until the pool retries.
    private func fail(_ d: Desktop, reason: String) async -> Desktop? {
        let failedAt = now()
        let retryAt = memory.withLock { memory -> Date in
            memory.countedFailures.insert(d.id)
            return Self.countFailure(&memory.health[d.pool, default: PoolHealth()], reason: reason, at: failedAt, broker: options.broker)
        }
        // Exported at /metrics when `deskpool serve` bootstraps swift-metrics.
        Counter(label: "deskpool_provisioning_failures_total", dimensions: [("pool", d.pool)]).increment()
        logger.error("desktop failed; the pool backs off", metadata: [
            "desktop": "\(d.name)", "pool": "\(d.pool)", "reason": "\(reason)", "retryAt": "\(retryAt)"])
        guard d.state != .deleting else { return nil }  // a failed delete is retried by the next pass
        _ = try? await store.transition(d.id, .failed(reason: reason), expecting: [d.state], actor: Self.actor)
        return nil
    }

    /// One more failure in a row: the next attempt waits twice as long (up to the maximum).
    static func countFailure(_ health: inout PoolHealth, reason: String?, at: Date, broker: BrokerConfiguration) -> Date {
        health.failures += 1
        let delay = min(Double(broker.backoffMaxSeconds), Double(broker.backoffBaseSeconds) * pow(2, Double(health.failures - 1)))
        health.retryAt = at.addingTimeInterval(delay)
        health.lastError = reason
        health.lastFailureAt = at
        return health.retryAt!
    }

    private func limited(_ host: String, _ body: @Sendable (any Hypervisor) async throws -> Void) async throws {
        guard let hypervisor = hypervisors[host], let limiter = limiters[host] else {
            throw DeskpoolError(.notFound, "host \(host) is not configured")
        }
        try await limiter.run { try await body(hypervisor) }
    }
}
