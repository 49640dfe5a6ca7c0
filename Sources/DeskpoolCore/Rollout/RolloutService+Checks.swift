import Foundation

extension RolloutService {
    /// CheckPolicy: checks the pending desktops (up to 32 at once), records each check's
    /// verdict and evidence, then applies the remediation to the desktops that failed.
    func runChecks(_ rollout: Rollout, spec: CheckPolicySpec, items: [RolloutItem], desktops: [String: Desktop]) async -> Int {
        guard rollout.state == .running else { return 0 }
        let actor = PolicyRollouts.actor(rollout.id)
        let pending = items.filter { $0.status == .pending || $0.status == .inProgress }
        if pending.isEmpty {
            await remediate(rollout, spec: spec, items: items, desktops: desktops)
            _ = try? await store.updateRollout(rollout.id, from: [.running], actor: actor) { $0.state = .completed }
            return 0
        }
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

    /// Applies the policy's remediation to the desktops that failed, once.
    private func remediate(_ rollout: Rollout, spec: CheckPolicySpec, items: [RolloutItem], desktops: [String: Desktop]) async {
        guard let remediation = spec.remediation, rollout.reason == nil else { return }
        let failed = items.filter { $0.status == .failed }
        guard !failed.isEmpty else { return }
        let actor = PolicyRollouts.actor(rollout.id)
        let note: String
        switch remediation {
        case .refresh:
            var refreshed: [String] = []
            var kept: [String] = []
            for item in failed {
                // A dedicated desktop's disk holds its user's data: a check never destroys it
                // (an UpdatePolicy with `dedicated: replace` or an admin's refresh can).
                if let d = desktops[item.desktopID], let pool = try? await store.pool(named: d.pool), PolicyPlanner.holdsUserData(d, in: pool) {
                    kept.append(d.name)
                    continue
                }
                // Idle desktops are cloned again now; desktops in use when their user logs off.
                if let d = try? await store.transition(item.desktopID, from: [.ready], actor: actor, change: {
                    $0.state = .refreshing
                    $0.reason = "remediation of check \(rollout.policy)"
                }) {
                    refreshed.append(d.name)
                } else if let d = try? await store.transition(item.desktopID, from: [.assigned, .connected, .disconnected], actor: actor, change: {
                    $0.targetVersion = $0.version
                }) {
                    refreshed.append("\(d.name) (at logoff)")
                }
            }
            reconcile()
            note = "remediation: refreshing \(refreshed.isEmpty ? "none" : refreshed.joined(separator: ", "))"
                + (kept.isEmpty ? "" : "; kept \(kept.joined(separator: ", ")) (dedicated: the disk holds its user's data)")
        case .configPolicy(let name):
            do throws(DeskpoolError) {
                let applied = try await store.rollouts(active: false, limit: 1000)
                    .first { $0.policy == name && $0.kind == .config }
                guard let applied else {
                    throw DeskpoolError(.notFound, "no ConfigPolicy named \(name) was ever applied")
                }
                let again = try await PolicyRollouts(store: store, hypervisors: Array(hypervisors.values), poke: { [weak self] in self?.poke() })
                    .apply(source: applied.source, file: "\(name) (remediation)", actor: actor)
                note = "remediation: ConfigPolicy \(name) applied again as rollout \(again.id)"
            } catch {
                note = "remediation failed: \(error.message)"
            }
        }
        let summary = note
        logger.notice("check remediation", metadata: ["rollout": "\(rollout.id)", "note": "\(summary)"])
        _ = try? await store.updateRollout(rollout.id, from: [.running], actor: actor) { $0.reason = summary }
        try? await store.audit(AuditEntry(at: now(), actor: actor, action: "rollout.remediate", subject: "rollout/\(rollout.id)", detail: note))
    }
}
