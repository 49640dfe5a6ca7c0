public import Foundation

/// Decides the next steps of a configuration rollout (ConfigPolicy). Pure, like
/// `UpdateRolloutMachine`; `RolloutService` runs the actions.
///
/// Each desktop's persistent definition is replaced in one libvirt define (old or new, never a
/// mix) with its pool's hardware and the pool's new generation in its metadata, and memory
/// changes within the running guest's maximum are made live. What needs a restart is done
/// now for idle desktops (at most `maxUnavailable` at once), and for desktops in use when
/// their user logs off (the floating pool's refresh, or a restart), or after a warning and
/// the grace period with `forceAfter`. A rollback puts the pools' previous specs back and
/// takes the changed desktops through the same steps to them.
public enum ConfigRolloutMachine {
    public struct Input: Sendable {
        public var rollout: Rollout
        public var strategy: RolloutStrategy
        public var logoff: LogoffMode
        public var items: [RolloutItem]
        public var desktops: [String: Desktop]
        /// Each pool's generation now (what desktops are brought to).
        public var generations: [String: Int]
        public var now: Date

        public init(rollout: Rollout, strategy: RolloutStrategy, logoff: LogoffMode, items: [RolloutItem], desktops: [String: Desktop],
                    generations: [String: Int], now: Date) {
            self.rollout = rollout
            self.strategy = strategy
            self.logoff = logoff
            self.items = items
            self.desktops = desktops
            self.generations = generations
            self.now = now
        }
    }

    public enum Action: Sendable, Hashable {
        /// Change the desktop's definition (and live memory); then `restart` it now, or (in
        /// use) wait for its logoff, warning its user with `warn`; else it is done.
        case reconfigure(RolloutItem, restart: Bool, waitForLogoff: Bool, warn: String?)
        /// Restart a desktop whose definition changed while it was in use, now that it is not.
        case restart(RolloutItem)
        case forceLogoff(RolloutItem)
        case checkHealth(RolloutItem)
        case settle(RolloutItem, RolloutItem.Status, detail: String)
        case nextWave(Int)
        case halt(String)
        case finish(Rollout.State)
    }

    static let serving: Set<DesktopState> = [.ready, .assigned, .connected, .disconnected]

    /// In use: a user's session is open on it (a dedicated desktop kept after logoff is not).
    static func inUse(_ d: Desktop) -> Bool {
        d.state == .connected || d.state == .disconnected || (d.state == .assigned && d.sessionID != nil)
    }

    /// The generation a desktop is brought to, as an item's `to`.
    public static func target(_ generation: Int) -> String { RolloutItem.Target.generation(generation).description }

    /// In a rollback: the item has not been taken to the pool's restored generation yet.
    static func rollbackDue(_ item: RolloutItem, _ input: Input) -> Bool {
        item.toTarget != .generation(input.generations[item.pool] ?? 0)
    }

    public static func decide(_ input: Input) -> [Action] {
        switch input.rollout.state {
        case .running: step(input, rollingBack: false)
        case .rollingBack: step(input, rollingBack: true)
        case .paused, .halted, .cancelled: followUp(input, rollingBack: false).actions
        case .rolledBack, .completed: []
        }
    }

    static func followUp(_ input: Input, rollingBack: Bool) -> (actions: [Action], settled: [String: RolloutItem.Status]) {
        var actions: [Action] = []
        var settled: [String: RolloutItem.Status] = [:]
        func settle(_ item: RolloutItem, _ status: RolloutItem.Status, _ detail: String) {
            actions.append(.settle(item, status, detail: detail))
            settled[item.desktopID] = status
        }
        let gate = TimeInterval(input.strategy.healthGate.timeoutSeconds)
        // A desktop its pool removed before the rollout reached it, or before the rollback took
        // it back (a lower `spare` retires ready desktops at once): nothing is left to change.
        if input.rollout.state == .running || input.rollout.state == .rollingBack {
            for item in input.items where input.desktops[item.desktopID] == nil {
                let notReached = item.status == .pending && (rollingBack || item.wave <= input.rollout.wave)
                let notTakenBack = rollingBack && (item.status == .done || item.status == .failed) && rollbackDue(item, input)
                if notReached || notTakenBack { settle(item, .skipped, "the desktop was removed by its pool") }
            }
        }
        for item in input.items where item.status == .inProgress || item.status == .waiting || item.status == .rollingBack {
            guard let desktop = input.desktops[item.desktopID] else {
                settle(item, rollingBack ? .rolledBack : .skipped, "the desktop was removed by its pool")
                continue
            }
            let generation = input.generations[item.pool] ?? desktop.generation
            if desktop.state == .failed {
                settle(item, .failed, desktop.reason ?? "the desktop failed")
                continue
            }
            let refreshed = item.incarnation.map { desktop.incarnation != $0 } ?? false
            switch item.status {
            case .waiting:
                if refreshed && serving.contains(desktop.state) && desktop.generation >= generation {
                    actions.append(.checkHealth(item))  // cloned again at logoff, with the new settings
                }
            case .inProgress, .rollingBack:
                if serving.contains(desktop.state) && (item.startedAt != nil || refreshed) {
                    actions.append(.checkHealth(item))
                } else if let started = item.startedAt, input.now.timeIntervalSince(started) > gate, !serving.contains(desktop.state) {
                    settle(item, .failed, "not healthy within \(Int(gate)) s after its restart (still \(desktop.state.rawValue))")
                }
            default:
                break
            }
        }
        return (actions, settled)
    }

    static func step(_ input: Input, rollingBack: Bool) -> [Action] {
        var (actions, settled) = followUp(input, rollingBack: rollingBack)
        let rollout = input.rollout
        func status(_ item: RolloutItem) -> RolloutItem.Status { settled[item.desktopID] ?? item.status }
        let total = input.items.count

        let waves = RolloutWaves(strategy: input.strategy, logoff: input.logoff, total: total, now: input.now)
        if !rollingBack {
            let failed = input.items.filter { status($0) == .failed }.count
            if let reason = waves.halt(failed: failed, what: "failed") { return actions + [.halt(reason)] }
            if RolloutWaves.isThrough(wave: rollout.wave, items: input.items, status: status, counts: { $0.isSettled || $0 == .waiting }) {
                switch RolloutWaves.next(after: rollout.wave, of: rollout.waves, items: input.items, status: status) {
                case .wave(let next): return actions + [.nextWave(next)]
                case .finish: return actions + [.finish(.completed)]
                case nil: break
                }
            }
        } else if input.items.allSatisfy({ [.rolledBack, .skipped].contains(status($0)) || (status($0) == .failed && !rollbackDue($0, input)) }) {
            return actions + [.finish(.rolledBack)]
        }

        guard waves.inWindow else { return actions }
        var unavailable = input.items.filter { item in
            (status(item) == .inProgress || status(item) == .rollingBack) && input.desktops[item.desktopID].map { !serving.contains($0.state) } == true
        }.count
        let maxUnavailable = waves.maxUnavailable
        let warn = waves.warning
        for item in input.items where rollingBack || item.wave <= rollout.wave {
            guard let desktop = input.desktops[item.desktopID] else { continue }
            let current = status(item)
            // Forward: pending desktops. Back: every desktop the rollout changed.
            // An item claimed but not finished (the broker stopped in between) is done again:
            // defining the same definition twice changes nothing.
            let interrupted = (current == .inProgress || current == .rollingBack) && item.startedAt == nil
            let due = rollingBack ? rollbackDue(item, input) && ([.done, .failed, .inProgress, .waiting].contains(current) || interrupted)
                : current == .pending || interrupted
            // Waiting for its user's logoff: `waiting` forward; in a rollback, changed back while
            // in use (`rollingBack`, not restarted, already at the restored generation).
            let awaitingLogoff = current == .waiting
                || (rollingBack && current == .rollingBack && item.startedAt == nil && !rollbackDue(item, input))
            if rollingBack && current == .pending {
                actions.append(.settle(item, .skipped, detail: "not changed: the rollout was rolled back"))
                continue
            }
            if due {
                if desktop.state == .failed || desktop.state == .deleting {
                    actions.append(.settle(item, .skipped, detail: "\(desktop.state.rawValue): the pool replaces it"))
                    continue
                }
                guard !desktop.state.isTransitional else { continue }
                let needsRestart = item.method == .restart
                if !needsRestart || desktop.state == .off {
                    actions.append(.reconfigure(item, restart: false, waitForLogoff: false, warn: nil))
                } else if inUse(desktop) {
                    actions.append(.reconfigure(item, restart: false, waitForLogoff: true, warn: rollingBack ? nil : warn))
                } else {
                    guard unavailable < maxUnavailable else { continue }
                    unavailable += 1
                    actions.append(.reconfigure(item, restart: true, waitForLogoff: false, warn: nil))
                }
            } else if awaitingLogoff, desktop.state == .off {
                // Shut down at its user's logoff (`logoffAction: shutdown`): its definition is
                // already changed, and it starts with it at the user's next request.
                actions.append(.settle(item, rollingBack ? .rolledBack : .done,
                                       detail: "off since its user's logoff: it starts with its changed definition"))
            } else if awaitingLogoff, !inUse(desktop), !desktop.state.isTransitional, desktop.state != .failed,
                      item.incarnation.map({ desktop.incarnation == $0 }) ?? true {
                // Its user logged off and it was not cloned again (a dedicated desktop): restart it.
                guard unavailable < maxUnavailable else { continue }
                unavailable += 1
                actions.append(.restart(item))
            } else if awaitingLogoff, waves.forceLogoffDue(warnedAt: item.warnedAt), inUse(desktop) {
                actions.append(.forceLogoff(item))
            }
        }
        return actions
    }
}
