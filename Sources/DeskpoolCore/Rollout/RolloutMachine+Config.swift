import Foundation

/// The rule of a configuration rollout (ConfigPolicy).
///
/// Each desktop's persistent definition is replaced in one libvirt define (old or new, never a
/// mix) with its pool's hardware and the pool's new generation in its metadata, and memory
/// changes within the running guest's maximum are made live. What needs a restart is done
/// now for idle desktops (at most `maxUnavailable` at once), and for desktops in use when
/// their user logs off (the floating pool's refresh, or a restart), or after a warning and
/// the grace period with `forceAfter`. A wave is through when each desktop is settled or waits
/// for its user's logoff. A rollback puts the pools' previous specs back and takes the changed
/// desktops through the same steps to them.
struct ConfigRule: RolloutRule {
    /// Each pool's generation now (what desktops are brought to).
    let generations: [String: Int]

    func through(_ status: RolloutItem.Status, _ rollout: Rollout) -> Bool {
        status.isSettled || status == .waiting
    }

    /// In use: a user's session is open on it (a dedicated desktop kept after logoff is not).
    static func inUse(_ d: Desktop) -> Bool {
        d.state == .connected || d.state == .disconnected || (d.state == .assigned && d.sessionID != nil)
    }

    /// In a rollback: the item has not been taken to the pool's restored generation yet.
    func rollbackDue(_ item: RolloutItem) -> Bool {
        item.toTarget != .generation(generations[item.pool] ?? 0)
    }

    func followUp(_ pass: inout RolloutMachine.Pass) {
        let rollingBack = pass.rollingBack
        let gate = TimeInterval(pass.input.strategy.healthGate.timeoutSeconds)
        // A desktop its pool removed before the rollout reached it, or before the rollback took
        // it back (a lower `spare` retires ready desktops at once): nothing is left to change.
        if pass.rollout.state == .running || rollingBack {
            for item in pass.items where pass.desktop(of: item) == nil {
                let notReached = item.status == .pending && (rollingBack || item.wave <= pass.rollout.wave)
                let notTakenBack = rollingBack && (item.status == .done || item.status == .failed) && rollbackDue(item)
                if notReached || notTakenBack { pass.settle(item, .skipped, "the desktop was removed by its pool") }
            }
        }
        for item in pass.items where item.status == .inProgress || item.status == .waiting || item.status == .rollingBack {
            guard let desktop = pass.desktop(of: item) else {
                pass.settle(item, rollingBack ? .rolledBack : .skipped, "the desktop was removed by its pool")
                continue
            }
            let generation = generations[item.pool] ?? desktop.generation
            if desktop.state == .failed {
                pass.settle(item, .failed, desktop.reason ?? "the desktop failed")
                continue
            }
            let refreshed = item.incarnation.map { desktop.incarnation != $0 } ?? false
            switch item.status {
            case .waiting:
                if refreshed && RolloutMachine.serving.contains(desktop.state) && desktop.generation >= generation {
                    pass.append(.checkHealth(item))  // cloned again at logoff, with the new settings
                }
            case .inProgress, .rollingBack:
                if RolloutMachine.serving.contains(desktop.state) && (item.startedAt != nil || refreshed) {
                    pass.append(.checkHealth(item))
                } else if let started = item.startedAt, pass.input.now.timeIntervalSince(started) > gate,
                          !RolloutMachine.serving.contains(desktop.state) {
                    pass.settle(item, .failed, "not healthy within \(Int(gate)) s after its restart (still \(desktop.state.rawValue))")
                }
            default:
                break
            }
        }
    }

    func advance(_ pass: inout RolloutMachine.Pass) {
        step(&pass, rollingBack: false)
    }

    func rollBack(_ pass: inout RolloutMachine.Pass) {
        let current = pass
        if pass.items.allSatisfy({
            let status = current.status($0)
            return [.rolledBack, .skipped].contains(status) || (status == .failed && !rollbackDue($0))
        }) {
            pass.append(.finish(.rolledBack))
            return
        }
        guard pass.waves.inWindow else { return }
        step(&pass, rollingBack: true)
    }

    /// Forward: the pending desktops of the open waves. Back: every desktop the rollout changed.
    private func step(_ pass: inout RolloutMachine.Pass, rollingBack: Bool) {
        pass.countUnavailable()
        let warn = pass.waves.warning
        for item in pass.items where rollingBack || item.wave <= pass.rollout.wave {
            guard let desktop = pass.desktop(of: item) else { continue }
            let current = pass.status(item)
            // An item claimed but not finished (the broker stopped in between) is done again:
            // defining the same definition twice changes nothing.
            let interrupted = (current == .inProgress || current == .rollingBack) && item.startedAt == nil
            let due = rollingBack ? rollbackDue(item) && ([.done, .failed, .inProgress, .waiting].contains(current) || interrupted)
                : current == .pending || interrupted
            // Waiting for its user's logoff: `waiting` forward; in a rollback, changed back while
            // in use (`rollingBack`, not restarted, already at the restored generation).
            let awaitingLogoff = current == .waiting
                || (rollingBack && current == .rollingBack && item.startedAt == nil && !rollbackDue(item))
            if rollingBack && current == .pending {
                pass.append(.settle(item, .skipped, detail: "not changed: the rollout was rolled back"))
                continue
            }
            if due {
                if desktop.state == .failed || desktop.state == .deleting {
                    pass.append(.settle(item, .skipped, detail: "\(desktop.state.rawValue): the pool replaces it"))
                    continue
                }
                guard !desktop.state.isTransitional else { continue }
                let needsRestart = item.method == .restart
                if !needsRestart || desktop.state == .off {
                    pass.append(.reconfigure(item, restart: false, waitForLogoff: false, warn: nil))
                } else if Self.inUse(desktop) {
                    pass.append(.reconfigure(item, restart: false, waitForLogoff: true, warn: rollingBack ? nil : warn))
                } else {
                    guard pass.takeSlot() else { continue }
                    pass.append(.reconfigure(item, restart: true, waitForLogoff: false, warn: nil))
                }
            } else if awaitingLogoff, desktop.state == .off {
                // Shut down at its user's logoff (`logoffAction: shutdown`): its definition is
                // already changed, and it starts with it at the user's next request.
                pass.append(.settle(item, rollingBack ? .rolledBack : .done,
                                    detail: "off since its user's logoff: it starts with its changed definition"))
            } else if awaitingLogoff, !Self.inUse(desktop), !desktop.state.isTransitional, desktop.state != .failed,
                      item.incarnation.map({ desktop.incarnation == $0 }) ?? true {
                // Its user logged off and it was not cloned again (a dedicated desktop): restart it.
                guard pass.takeSlot() else { continue }
                pass.append(.restart(item))
            } else if awaitingLogoff, pass.waves.forceLogoffDue(warnedAt: item.warnedAt), Self.inUse(desktop) {
                pass.append(.forceLogoff(item))
            }
        }
    }
}
