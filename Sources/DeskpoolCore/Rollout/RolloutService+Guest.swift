import Foundation

extension RolloutService {
    /// GuestCommandPolicy: runs the command on the pending desktops, `concurrency` at a time;
    /// each desktop's exit code and output are recorded. A command that was running when the
    /// broker stopped is not run again (it may have had effects): it is recorded `interrupted`.
    func runCommands(_ rollout: Rollout, spec: GuestCommandPolicySpec, items: [RolloutItem], desktops: [String: Desktop]) async -> Int {
        let actor = PolicyRollouts.actor(rollout.id)
        let actions = RolloutMachine.decide(.init(rollout: rollout, rule: .commands(concurrency: spec.concurrency), items: items,
                                                  desktops: desktops, now: now()))
        var runs: [RolloutItem] = []
        for action in actions {
            switch action {
            case .interrupt(let item):
                _ = try? await store.updateRolloutItem(rollout: rollout.id, desktop: item.desktopID, from: [.inProgress], actor: actor) {
                    $0.status = .interrupted
                    $0.detail = "interrupted by a broker restart: the command may have run; it is not run again"
                }
            case .run(let item):
                runs.append(item)
            case .settle, .finish:
                do {
                    _ = try await performShared(action, rollout: rollout, strategy: RolloutStrategy())
                } catch {
                    logger.warning("rollout step failed", metadata: ["rollout": "\(rollout.id)", "action": "\(action)", "error": "\(error)"])
                }
            case .checkHealth, .forceLogoff, .nextWave, .halt, .refresh, .markForLogoff, .begin, .switchPools, .reconfigure, .restart,
                 .check, .remediate:
                break  // never decided for commands
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for item in runs {
                group.addTask { await self.runCommand(item, rollout: rollout, spec: spec, desktop: desktops[item.desktopID]) }
            }
        }
        if actions.contains(where: { if case .finish = $0 { false } else { true } }) { poke() }
        return actions.count
    }

    private func runCommand(_ item: RolloutItem, rollout: Rollout, spec: GuestCommandPolicySpec, desktop: Desktop?) async {
        let actor = PolicyRollouts.actor(rollout.id)
        guard let desktop, let hypervisor = hypervisors[desktop.host] else {
            _ = try? await store.updateRolloutItem(rollout: rollout.id, desktop: item.desktopID, from: [.pending], actor: actor) {
                $0.status = .skipped
                $0.detail = desktop.map { "\($0.state.rawValue): its guest is not running" } ?? "the desktop was removed by its pool"
            }
            return
        }
        let started = now()
        guard (try? await store.updateRolloutItem(rollout: rollout.id, desktop: item.desktopID, from: [.pending], actor: actor, change: {
            $0.status = .inProgress
            $0.startedAt = started
        })) != nil else { return }
        let status: RolloutItem.Status
        let detail: String
        var result: GuestCommandResult?
        do {
            let ran = try await hypervisor.runGuestCommand(spec.command, timeout: .seconds(spec.timeoutSeconds), onDesktop: desktop.name)
            result = ran
            status = ran.exitCode == 0 ? .done : .failed
            detail = "exit \(ran.exitCode)" + (ran.truncated ? " (output cut)" : "")
        } catch {
            status = .failed
            detail = error.message
        }
        let at = now()
        let (text, output) = (detail, result)
        _ = try? await store.updateRolloutItem(rollout: rollout.id, desktop: item.desktopID, from: [.inProgress], actor: actor) {
            $0.status = status
            $0.detail = text
            $0.result = output
            $0.finishedAt = at
        }
    }
}
