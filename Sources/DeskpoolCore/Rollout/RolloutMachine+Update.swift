import Foundation

/// The rule of an image-update rollout (UpdatePolicy).
///
/// A desktop moves by refresh: its record gets `targetVersion`, and the reconciler destroys
/// and clones it again on that version (idle desktops at once, desktops in use when their
/// user logs off). Its record says which version it is on at every moment, so a desktop is
/// never half-way. The first wave proves the version: each of its desktops must be settled
/// before the pools switch to it; later waves are through when each desktop is settled or
/// waits for its user's logoff. A rollback takes every changed desktop back to the version it
/// was on: idle ones now, desktops in use when their user logs off (a rollback never disturbs
/// a session).
struct UpdateRule: RolloutRule {
    static let idle: Set<DesktopState> = [.ready, .off]

    var failed: String { "failed the health gate" }

    /// Percentages count the desktops the rollout changes, not the dedicated ones it keeps.
    func total(_ items: [RolloutItem]) -> Int {
        items.filter { !($0.status == .skipped && $0.detail == DedicatedUpdate.keptReason) }.count
    }

    func through(_ status: RolloutItem.Status, _ rollout: Rollout) -> Bool {
        status.isSettled || (rollout.canaryPassed && status == .waiting)
    }

    func waveThrough(_ pass: inout RolloutMachine.Pass) {
        if !pass.rollout.canaryPassed { pass.append(.switchPools) }
    }

    /// Desktops that left their session begin, changed desktops are checked, gone or failed
    /// ones are settled.
    func followUp(_ pass: inout RolloutMachine.Pass) {
        let gate = TimeInterval(pass.input.strategy.healthGate.timeoutSeconds)
        for item in pass.items where !item.status.isSettled {
            let rollingBack = item.status == .rollingBack
            let wanted = rollingBack ? Self.fromVersion(of: item, in: pass.rollout) : Self.targetVersion(of: item, in: pass.rollout)
            guard let desktop = pass.desktop(of: item) else {
                pass.settle(item, rollingBack ? .rolledBack : .skipped, "the desktop was removed by its pool")
                continue
            }
            let arrived = desktop.version == wanted && desktop.targetVersion == nil && RolloutMachine.serving.contains(desktop.state)
            switch item.status {
            case .pending where desktop.state == .failed || desktop.state == .deleting:
                pass.settle(item, .skipped, "\(desktop.state.rawValue) before its turn: the pool replaces it")
            case .waiting where arrived:
                pass.append(.checkHealth(item))
            case .waiting where !desktop.state.isInSession && desktop.state != .failed:
                pass.append(.begin(item))
            case .inProgress, .rollingBack:
                if desktop.state == .failed {
                    pass.settle(item, .failed, desktop.reason ?? "the desktop failed", clearTarget: true)
                } else if arrived {
                    if rollingBack { pass.settle(item, .rolledBack, "back on v\(wanted)") } else { pass.append(.checkHealth(item)) }
                } else if !rollingBack, let started = item.startedAt, pass.input.now.timeIntervalSince(started) > gate {
                    pass.settle(item, .failed, "not healthy on v\(wanted) within \(Int(gate)) s (still \(desktop.state.rawValue))", clearTarget: true)
                }
            default:
                break
            }
        }
    }

    func advance(_ pass: inout RolloutMachine.Pass) {
        let rollout = pass.rollout
        pass.countUnavailable()
        for item in pass.items where item.wave <= rollout.wave {
            guard let desktop = pass.desktop(of: item) else { continue }
            let target = Self.targetVersion(of: item, in: rollout)
            switch pass.status(item) {
            case .pending:
                if desktop.version == target && desktop.targetVersion == nil && RolloutMachine.serving.contains(desktop.state) {
                    pass.append(.checkHealth(item))  // refreshed on the new version meanwhile
                } else if Self.idle.contains(desktop.state) && !desktop.state.isInSession && (desktop.user == nil || desktop.state == .off) {
                    guard pass.takeSlot() else { continue }
                    pass.append(.refresh(item, version: target))
                } else if desktop.state.isInSession {
                    pass.append(.markForLogoff(item, version: target, warn: pass.waves.warning))
                }
                // Provisioning, starting or refreshing: its turn comes once it is stable.
            case .waiting:
                if pass.waves.forceLogoffDue(warnedAt: item.warnedAt), desktop.state.isInSession {
                    pass.append(.forceLogoff(item))
                }
            default:
                break
            }
        }
    }

    func rollBack(_ pass: inout RolloutMachine.Pass) {
        let stoppable: Set<DesktopState> = [.ready, .off, .failed, .starting]
        var open = 0
        for item in pass.items {
            guard let desktop = pass.desktop(of: item) else { continue }
            let from = Self.fromVersion(of: item, in: pass.rollout)
            switch pass.status(item) {
            case .pending:
                pass.append(.settle(item, .skipped, detail: "not changed: the rollout was rolled back"))
            case .waiting:
                pass.append(.settle(item, .skipped, detail: "not changed: the rollout was rolled back", clearTarget: true))
            case .done, .failed, .inProgress:
                if desktop.version == from && desktop.targetVersion == nil && (RolloutMachine.serving.contains(desktop.state) || desktop.state == .off) {
                    pass.append(.settle(item, .rolledBack, detail: "on v\(from)"))
                } else if desktop.version == from && desktop.state == .failed {
                    pass.append(.settle(item, .rolledBack, detail: "on v\(from), failed: the pool replaces it"))
                } else if desktop.state.isInSession {
                    open += 1
                    pass.append(.markForLogoff(item, version: from, warn: nil))
                } else if stoppable.contains(desktop.state) {
                    open += 1
                    pass.append(.refresh(item, version: from))
                } else {
                    open += 1  // provisioning or refreshing: carried on first, then taken back
                }
            case .rollingBack:
                open += 1
            default:
                break
            }
        }
        let current = pass
        if open == 0 && !pass.items.contains(where: {
            let status = current.status($0)
            return !status.isSettled && current.desktop(of: $0) != nil && status != .pending && status != .waiting
        }) {
            pass.append(.finish(.rolledBack))
        }
    }

    static func targetVersion(of item: RolloutItem, in rollout: Rollout) -> Int {
        rollout.change(of: item.pool)?.toVersion ?? item.toTarget.version ?? 0
    }

    static func fromVersion(of item: RolloutItem, in rollout: Rollout) -> Int {
        item.fromTarget.version ?? rollout.change(of: item.pool)?.fromVersion ?? 0
    }
}
