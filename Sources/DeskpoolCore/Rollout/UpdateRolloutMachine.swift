public import Foundation

/// Decides the next steps of an image-update rollout (UpdatePolicy) from its record, its
/// items and the desktops as the store has them now. Pure: no I/O; `RolloutService` runs the
/// actions and calls it again. Every rule has a table test (`UpdateRolloutMachineTests`).
///
/// A desktop moves by refresh: its record gets `targetVersion`, and the reconciler destroys
/// and clones it again on that version (idle desktops at once, desktops in use when their
/// user logs off). Its record says which version it is on at every moment, so a desktop is
/// never half-way, and a broker restart finds every step where it was.
public enum UpdateRolloutMachine {
    public struct Input: Sendable {
        public var rollout: Rollout
        public var strategy: RolloutStrategy
        public var logoff: LogoffMode
        public var items: [RolloutItem]
        /// The desktops by id; a missing one is gone.
        public var desktops: [String: Desktop]
        public var now: Date

        public init(rollout: Rollout, strategy: RolloutStrategy, logoff: LogoffMode, items: [RolloutItem], desktops: [String: Desktop], now: Date) {
            self.rollout = rollout
            self.strategy = strategy
            self.logoff = logoff
            self.items = items
            self.desktops = desktops
            self.now = now
        }
    }

    public enum Action: Sendable, Hashable {
        /// Mark the idle desktop for `version` and refresh it now (item: inProgress).
        case refresh(RolloutItem, version: Int)
        /// Mark the desktop in use for `version` at its logoff (item: waiting, or rollingBack);
        /// with `warn`, show the message on its console now.
        case markForLogoff(RolloutItem, version: Int, warn: String?)
        /// End the session of a warned user whose grace period is over.
        case forceLogoff(RolloutItem)
        /// The desktop left its session: its refresh is under way (item: inProgress).
        case begin(RolloutItem)
        /// Run the health gate on a desktop that is on the new version.
        case checkHealth(RolloutItem)
        /// Settle an item (`done`, `failed`, `skipped`, `rolledBack`) with a detail; a
        /// `clearTarget` removes the desktop's mark.
        case settle(RolloutItem, RolloutItem.Status, detail: String?, clearTarget: Bool)
        /// The first wave passed its gate: pin the pools to their new version.
        case switchPools
        case nextWave(Int)
        /// Too many failures: halt (and roll back if the strategy says so).
        case halt(String)
        /// Restore the pools' previous versions (a rollback began).
        case restorePools
        case finish(Rollout.State)
    }

    static let serving: Set<DesktopState> = [.ready, .assigned, .connected, .disconnected]
    static let idle: Set<DesktopState> = [.ready, .off]

    public static func decide(_ input: Input) -> [Action] {
        switch input.rollout.state {
        case .running: running(input)
        case .rollingBack: rollingBack(input)
        case .paused, .halted, .cancelled: followUp(input).actions
        case .rolledBack, .completed: []
        }
    }

    /// What happens to items under way whatever the rollout's state: desktops that left their
    /// session begin, changed desktops are checked, gone or failed ones are settled.
    static func followUp(_ input: Input) -> (actions: [Action], settled: [String: RolloutItem.Status]) {
        var actions: [Action] = []
        var settled: [String: RolloutItem.Status] = [:]
        func settle(_ item: RolloutItem, _ status: RolloutItem.Status, _ detail: String, clearTarget: Bool) {
            actions.append(.settle(item, status, detail: detail, clearTarget: clearTarget))
            settled[item.desktopID] = status
        }
        let gate = TimeInterval(input.strategy.healthGate.timeoutSeconds)
        for item in input.items where !item.status.isSettled {
            let rollingBack = item.status == .rollingBack
            let wanted = rollingBack ? fromVersion(of: item, in: input.rollout) : targetVersion(of: item, in: input.rollout)
            guard let desktop = input.desktops[item.desktopID] else {
                settle(item, rollingBack ? .rolledBack : .skipped, "the desktop was removed by its pool", clearTarget: false)
                continue
            }
            let arrived = desktop.version == wanted && desktop.targetVersion == nil && serving.contains(desktop.state)
            switch item.status {
            case .pending where desktop.state == .failed || desktop.state == .deleting:
                settle(item, .skipped, "\(desktop.state.rawValue) before its turn: the pool replaces it", clearTarget: false)
            case .waiting where arrived:
                actions.append(.checkHealth(item))
            case .waiting where !desktop.state.isInSession && desktop.state != .failed:
                actions.append(.begin(item))
            case .inProgress, .rollingBack:
                if desktop.state == .failed {
                    settle(item, .failed, desktop.reason ?? "the desktop failed", clearTarget: true)
                } else if arrived {
                    if rollingBack { settle(item, .rolledBack, "back on v\(wanted)", clearTarget: false) } else { actions.append(.checkHealth(item)) }
                } else if !rollingBack, let started = item.startedAt, input.now.timeIntervalSince(started) > gate {
                    settle(item, .failed, "not healthy on v\(wanted) within \(Int(gate)) s (still \(desktop.state.rawValue))", clearTarget: true)
                }
            default:
                break
            }
        }
        return (actions, settled)
    }

    static func running(_ input: Input) -> [Action] {
        var (actions, settled) = followUp(input)
        let rollout = input.rollout
        func status(_ item: RolloutItem) -> RolloutItem.Status { settled[item.desktopID] ?? item.status }

        // Percentages count the desktops the rollout changes, not the dedicated ones it keeps.
        let total = input.items.filter { !($0.status == .skipped && $0.detail == DedicatedUpdate.keptReason) }.count
        let waves = RolloutWaves(strategy: input.strategy, logoff: input.logoff, total: total, now: input.now)
        let failed = input.items.filter { status($0) == .failed }.count
        if let reason = waves.halt(failed: failed, what: "failed the health gate") { return actions + [.halt(reason)] }

        // The first wave proves the version: each of its desktops must be settled. Later waves
        // are through when each desktop is settled or waits for its user's logoff.
        if RolloutWaves.isThrough(wave: rollout.wave, items: input.items, status: status,
                                  counts: { $0.isSettled || (rollout.canaryPassed && $0 == .waiting) }) {
            if !rollout.canaryPassed { actions.append(.switchPools) }
            switch RolloutWaves.next(after: rollout.wave, of: rollout.waves, items: input.items, status: status) {
            case .wave(let next): return actions + [.nextWave(next)]
            case .finish: return actions + [.finish(.completed)]
            case nil: break  // every wave is through; desktops in use are still to log off
            }
        }

        guard waves.inWindow else { return actions }

        var unavailable = input.items.filter { item in
            guard status(item) == .inProgress, let d = input.desktops[item.desktopID] else { return false }
            return !serving.contains(d.state)
        }.count
        let maxUnavailable = waves.maxUnavailable
        for item in input.items where item.wave <= rollout.wave {
            guard let desktop = input.desktops[item.desktopID] else { continue }
            let target = targetVersion(of: item, in: rollout)
            switch status(item) {
            case .pending:
                if desktop.version == target && desktop.targetVersion == nil && serving.contains(desktop.state) {
                    actions.append(.checkHealth(item))  // refreshed on the new version meanwhile
                } else if idle.contains(desktop.state) && !desktop.state.isInSession && (desktop.user == nil || desktop.state == .off) {
                    guard unavailable < maxUnavailable else { continue }
                    unavailable += 1
                    actions.append(.refresh(item, version: target))
                } else if desktop.state.isInSession {
                    actions.append(.markForLogoff(item, version: target, warn: waves.warning))
                }
                // Provisioning, starting or refreshing: its turn comes once it is stable.
            case .waiting:
                if waves.forceLogoffDue(warnedAt: item.warnedAt), desktop.state.isInSession {
                    actions.append(.forceLogoff(item))
                }
            default:
                break
            }
        }
        return actions
    }

    /// Takes every changed desktop back to the version it was on: idle ones now, desktops in
    /// use when their user logs off (a rollback never disturbs a session).
    static func rollingBack(_ input: Input) -> [Action] {
        var (actions, settled) = followUp(input)
        func status(_ item: RolloutItem) -> RolloutItem.Status { settled[item.desktopID] ?? item.status }
        let stoppable: Set<DesktopState> = [.ready, .off, .failed, .starting]
        var open = 0
        for item in input.items {
            guard let desktop = input.desktops[item.desktopID] else { continue }
            let from = fromVersion(of: item, in: input.rollout)
            switch status(item) {
            case .pending:
                actions.append(.settle(item, .skipped, detail: "not changed: the rollout was rolled back", clearTarget: false))
            case .waiting:
                actions.append(.settle(item, .skipped, detail: "not changed: the rollout was rolled back", clearTarget: true))
            case .done, .failed, .inProgress:
                if desktop.version == from && desktop.targetVersion == nil && (serving.contains(desktop.state) || desktop.state == .off) {
                    actions.append(.settle(item, .rolledBack, detail: "on v\(from)", clearTarget: false))
                } else if desktop.version == from && desktop.state == .failed {
                    actions.append(.settle(item, .rolledBack, detail: "on v\(from), failed: the pool replaces it", clearTarget: false))
                } else if desktop.state.isInSession {
                    open += 1
                    actions.append(.markForLogoff(item, version: from, warn: nil))
                } else if stoppable.contains(desktop.state) {
                    open += 1
                    actions.append(.refresh(item, version: from))
                } else {
                    open += 1  // provisioning or refreshing: carried on first, then taken back
                }
            case .rollingBack:
                open += 1
            default:
                break
            }
        }
        if open == 0 && !input.items.contains(where: { !status($0).isSettled && input.desktops[$0.desktopID] != nil && status($0) != .pending && status($0) != .waiting }) {
            actions.append(.finish(.rolledBack))
        }
        return actions
    }

    static func targetVersion(of item: RolloutItem, in rollout: Rollout) -> Int {
        rollout.change(of: item.pool)?.toVersion ?? item.toTarget.version ?? 0
    }

    static func fromVersion(of item: RolloutItem, in rollout: Rollout) -> Int {
        item.fromTarget.version ?? rollout.change(of: item.pool)?.fromVersion ?? 0
    }
}
