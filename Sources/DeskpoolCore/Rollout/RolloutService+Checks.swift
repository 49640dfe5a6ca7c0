import Foundation

extension RolloutService {
    /// CheckPolicy: checks the pending desktops (up to 32 at once), records each check's
    /// verdict and evidence, then applies the remediation to the desktops that failed.
    func runChecks(_ rollout: Rollout, spec: CheckPolicySpec, items: [RolloutItem], desktops: [String: Desktop]) async -> Int {
        var pending: [RolloutItem] = []
        for action in RolloutMachine.decide(.init(rollout: rollout, rule: .checks, items: items, desktops: desktops, now: now())) {
            switch action {
            case .check(let item):
                pending.append(item)
            case .remediate:
                // Not recorded (a store failure): the rollout is not over; the next pass goes on.
                guard await remediate(rollout, spec: spec, items: items, desktops: desktops) else { return 0 }
            case .finish:
                _ = try? await performShared(action, rollout: rollout, strategy: RolloutStrategy())
                return 0
            case .settle, .checkHealth, .forceLogoff, .nextWave, .halt, .refresh, .markForLogoff, .begin, .switchPools, .reconfigure,
                 .restart, .interrupt, .run:
                break  // never decided for checks
            }
        }
        guard !pending.isEmpty else { return 0 }
        var context = PassContext()
        do {
            for pool in try await store.pools() { context.pools[pool.name] = pool }
            for template in try await store.templates() {
                context.templates[template.name] = template
                context.versions[template.name] = try await store.versions(template: template.name)
            }
        } catch {
            logger.warning("cannot read pools for checks", metadata: ["error": "\(error)"])
            return 0
        }
        // Every pending desktop in this pass, 32 at a time (a pass re-reads all items: one per
        // batch would make a large rollout quadratic).
        let shared = context
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for item in pending {
                if running == Self.parallelChecks {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask { await self.check(item, rollout: rollout, checks: spec.checks, desktop: desktops[item.desktopID], context: shared) }
            }
        }
        poke()
        return pending.count
    }

    /// Desktops checked at once.
    static let parallelChecks = 32

    /// Pools, templates and versions read once per pass (checks and configuration changes).
    struct PassContext: Sendable {
        var pools: [String: PoolSpec] = [:]
        var templates: [String: TemplateDefinition] = [:]
        var versions: [String: [TemplateVersion]] = [:]
    }

    private func check(_ item: RolloutItem, rollout: Rollout, checks: [Check], desktop: Desktop?, context: PassContext) async {
        let actor = PolicyRollouts.actor(rollout.id)
        var outcomes: [CheckOutcome] = []
        if let desktop, let hypervisor = hypervisors[desktop.host], let pool = context.pools[desktop.pool] {
            do {
                let facts = try await hypervisor.facts(ofDesktop: desktop.name)
                let poolVersion = (try? pool.currentVersion(among: context.versions[pool.template] ?? []).get())?.number
                let subject = DesktopChecks.Subject(desktop: desktop, pool: pool, template: context.templates[pool.template],
                                                    poolVersion: poolVersion, facts: facts, now: now())
                for check in checks {
                    if let outcome = DesktopChecks.evaluate(check, subject) {
                        outcomes.append(outcome)
                    } else {
                        outcomes.append(await guestCheck(check, desktop: desktop, hypervisor: hypervisor, running: facts.live != nil))
                    }
                }
            } catch {
                outcomes = checks.map { CheckOutcome(check: $0.name, passed: false, evidence: "its definition cannot be read: \(error.message)") }
            }
        } else {
            outcomes = checks.map { CheckOutcome(check: $0.name, passed: false, evidence: "the desktop or its host is gone") }
        }
        let results = outcomes
        let failed = results.filter { !$0.passed }
        let at = now()
        _ = try? await store.updateRolloutItem(rollout: rollout.id, desktop: item.desktopID, from: [.pending, .inProgress], actor: actor) {
            $0.status = failed.isEmpty ? .done : .failed
            $0.checks = results
            $0.finishedAt = at
            $0.detail = failed.isEmpty ? "all \(results.count) check(s) passed"
                : "failed: " + failed.map { "\($0.check) (\($0.evidence))" }.joined(separator: "; ")
        }
    }

    /// A check that asks the guest, through its agent.
    private func guestCheck(_ check: Check, desktop: Desktop, hypervisor: any Hypervisor, running: Bool) async -> CheckOutcome {
        func outcome(_ passed: Bool, _ evidence: String) -> CheckOutcome { CheckOutcome(check: check.name, passed: passed, evidence: evidence) }
        guard running else { return outcome(false, "the guest is not running") }
        do {
            switch check.rule {
            case .guestAgent:
                switch try await hypervisor.probe(named: desktop.name) {
                case .ready: return outcome(true, "the guest agent answers")
                case .booting: return outcome(false, "the guest agent does not answer")
                case .broken(let reason): return outcome(false, "the guest is broken: \(reason)")
                }
            case .guestCommand(let command, let exitCode, let pattern, let timeout):
                let result = try await hypervisor.runGuestCommand(command, timeout: .seconds(timeout), onDesktop: desktop.name)
                let excerpt = String(result.stdout.prefix(200)).trimmingCharacters(in: .whitespacesAndNewlines)
                guard result.exitCode == exitCode else { return outcome(false, "exit \(result.exitCode), expected \(exitCode); output: \(excerpt)") }
                if let pattern {
                    let matches = (try? NSRegularExpression(pattern: pattern))
                        .map { $0.firstMatch(in: result.stdout, range: NSRange(result.stdout.startIndex..., in: result.stdout)) != nil } ?? false
                    return matches ? outcome(true, "exit \(exitCode), output matches /\(pattern)/")
                        : outcome(false, "output does not match /\(pattern)/: \(excerpt)")
                }
                return outcome(true, "exit \(exitCode)")
            case .fileHash(let path, let sha256):
                let command = GuestCommand(path: "/bin/sh", arguments: ["-c", "sha256sum -- \"$1\"", "sh", path])
                let result = try await hypervisor.runGuestCommand(command, timeout: .seconds(30), onDesktop: desktop.name)
                guard result.exitCode == 0 else { return outcome(false, "\(path) cannot be read (exit \(result.exitCode))") }
                let actual = result.stdout.split(separator: " ").first.map(String.init)?.lowercased() ?? ""
                return actual == sha256.lowercased() ? outcome(true, "\(path) has SHA-256 \(actual)")
                    : outcome(false, "\(path) has SHA-256 \(actual), expected \(sha256.lowercased())")
            default:
                return outcome(false, "not a guest check")
            }
        } catch {
            return outcome(false, error.message)
        }
    }

    /// Applies the policy's remediation to the desktops that failed, once: each desktop's change
    /// and its item's mark are one transaction, and a remediation rollout is found again by who
    /// applied it, so a pass that the broker's stop (or a store failure) cut short goes on where
    /// it was. False when it could not be recorded: the rollout is not over yet.
    private func remediate(_ rollout: Rollout, spec: CheckPolicySpec, items: [RolloutItem], desktops: [String: Desktop]) async -> Bool {
        guard let remediation = spec.remediation, rollout.reason == nil else { return true }
        let failed = items.filter { $0.status == .failed }
        guard !failed.isEmpty else { return true }
        let actor = PolicyRollouts.actor(rollout.id)
        let note: String
        switch remediation {
        case .refresh:
            do throws(DeskpoolError) {
                let marked = try await refresh(failed.filter { $0.remediation == nil }, rollout: rollout, desktops: desktops)
                note = Self.refreshNote(marked)
            } catch {
                logger.warning("check remediation not recorded; the next pass goes on", metadata: ["rollout": "\(rollout.id)", "error": "\(error.message)"])
                return false
            }
        case .configPolicy(let name):
            do throws(DeskpoolError) {
                let again: Rollout
                let rollouts = try await store.rollouts(in: nil, limit: 1000)
                if let earlier = rollouts.first(where: { $0.createdBy == actor && $0.policy == name }) {
                    again = earlier
                } else {
                    guard let applied = rollouts.first(where: { $0.policy == name && $0.kind == .config }) else {
                        throw DeskpoolError(.notFound, "no ConfigPolicy named \(name) was ever applied")
                    }
                    again = try await PolicyRollouts(store: store, hypervisors: Array(hypervisors.values), poke: { [weak self] in self?.poke() })
                        .apply(source: applied.source, file: "\(name) (remediation)", actor: actor)
                }
                note = "remediation: ConfigPolicy \(name) applied again as rollout \(again.id)"
            } catch where error.code == .storeFailed {
                logger.warning("check remediation not recorded; the next pass goes on", metadata: ["rollout": "\(rollout.id)", "error": "\(error.message)"])
                return false
            } catch {
                note = "remediation failed: \(error.message)"
            }
        }
        let summary = note
        logger.notice("check remediation", metadata: ["rollout": "\(rollout.id)", "note": "\(summary)"])
        guard (try? await store.updateRollout(rollout.id, from: [.running], actor: actor, change: { $0.reason = summary })) != nil else { return false }
        try? await store.audit(AuditEntry(at: now(), actor: actor, action: "rollout.remediate", subject: "rollout/\(rollout.id)", detail: note))
        return true
    }

    /// Marks each failed item with what `refresh` does to its desktop, in one transaction with
    /// the desktop's change: idle desktops are cloned again now, desktops in use when their user
    /// logs off, and a dedicated desktop's disk (its user's data) is kept. Returns every item.
    private func refresh(_ unmarked: [RolloutItem], rollout: Rollout, desktops: [String: Desktop]) async throws(DeskpoolError) -> [RolloutItem] {
        var updates: [RolloutItemUpdate] = []
        let pools = unmarked.isEmpty ? [:] : Dictionary(try await store.pools().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for item in unmarked {
            if let d = desktops[item.desktopID], let pool = pools[d.pool], PolicyPlanner.holdsUserData(d, in: pool) {
                updates.append(RolloutItemUpdate(desktopID: item.desktopID, from: [.failed]) { item, _ in item.remediation = .kept })
                continue
            }
            updates.append(RolloutItemUpdate(desktopID: item.desktopID, from: [.failed], desktop: .remediated(policy: rollout.policy)) { item, changed in
                if changed != nil { item.remediation = .refreshing }
            })
            // In use: cloned again on its own version when its user logs off.
            guard let version = desktops[item.desktopID]?.version else { continue }
            updates.append(RolloutItemUpdate(desktopID: item.desktopID, from: [.failed], desktop: .targeted(version: version)) { item, changed in
                if changed != nil { item.remediation = .refreshingAtLogoff }
            })
        }
        if !updates.isEmpty {
            _ = try await store.updateRolloutItems(rollout: rollout.id, updates, actor: PolicyRollouts.actor(rollout.id))
            reconcile()
        }
        return try await store.rolloutItems(rollout: rollout.id)
    }

    /// The rollout's note for a `refresh` remediation, from its items' marks.
    static func refreshNote(_ items: [RolloutItem]) -> String {
        let refreshed = items.compactMap { item -> String? in
            switch item.remediation {
            case .refreshing: item.desktop
            case .refreshingAtLogoff: "\(item.desktop) (at logoff)"
            case .kept, nil: nil
            }
        }
        let kept = items.filter { $0.remediation == .kept }.map(\.desktop)
        return "remediation: refreshing \(refreshed.isEmpty ? "none" : refreshed.joined(separator: ", "))"
            + (kept.isEmpty ? "" : "; kept \(kept.joined(separator: ", ")) (dedicated: the disk holds its user's data)")
    }
}
