public import Foundation

/// Decides the next steps of every rollout, whatever its kind, from its record, its items and
/// the desktops as the store has them now. Pure: no I/O; `RolloutService` runs the actions and
/// calls it again, so all progress is in the store and a broker restart (even a kill -9) finds
/// every step where it was.
///
/// One pass has the same shape for every kind:
///
/// 1. **Follow-up**: items under way are settled from what their desktops show (whatever the
///    rollout's state: a paused or halted rollout still records what finishes).
/// 2. **Waves** (update, config): too many failures halt the rollout; a wave that is through
///    opens the next, or the rollout ends; outside the maintenance window nothing new starts.
///    The arithmetic (threshold, budget, window, forced logoff) is `RolloutWaves`.
/// 3. **Advance**: the rule of the kind decides what each item of the open waves does next,
///    within the budget of desktops out of service at once.
/// 4. **Rollback** (update, config): the rule takes every changed desktop back.
///
/// The rule of each kind says what its items do (`RolloutMachine+Update`, `+Config`,
/// `+Guest`); every rule has table tests (`UpdateRuleTests`,
/// `ConfigRuleTests`, `GuestRuleTests`, `RolloutWavesTests`).
public enum RolloutMachine {
    /// The kind's rule, with what it needs beyond the rollout's record.
    public enum Rule: Sendable, Hashable {
        /// UpdatePolicy: desktops move to a new image version by refresh.
        case update
        /// ConfigPolicy: desktops are brought to their pool's generation now (`generations`).
        case config(generations: [String: Int])
        /// GuestCommandPolicy: the command runs on `concurrency` desktops at a time, one wave.
        case commands(concurrency: Int)
        /// CheckPolicy: every desktop is checked, then the remediation, one wave.
        case checks
    }

    public struct Input: Sendable {
        public var rollout: Rollout
        public var rule: Rule
        public var strategy: RolloutStrategy
        public var logoff: LogoffMode
        public var items: [RolloutItem]
        /// The desktops by id; a missing one is gone.
        public var desktops: [String: Desktop]
        public var now: Date

        public init(rollout: Rollout, rule: Rule, strategy: RolloutStrategy = RolloutStrategy(), logoff: LogoffMode = .waitForLogoff,
                    items: [RolloutItem], desktops: [String: Desktop], now: Date) {
            self.rollout = rollout
            self.rule = rule
            self.strategy = strategy
            self.logoff = logoff
            self.items = items
            self.desktops = desktops
            self.now = now
        }
    }

    public enum Action: Sendable, Hashable {
        // Every kind.

        /// Settle an item (`done`, `failed`, `skipped`, `rolledBack`) with a detail; a
        /// `clearTarget` removes the desktop's mark for a version (update).
        case settle(RolloutItem, RolloutItem.Status, detail: String, clearTarget: Bool = false)
        /// Run the health gate on a changed desktop (update, config).
        case checkHealth(RolloutItem)
        /// End the session of a warned user whose grace period is over (update, config).
        case forceLogoff(RolloutItem)
        case nextWave(Int)
        /// Too many failures: halt (and roll back if the strategy says so).
        case halt(String)
        case finish(Rollout.State)

        // Update.

        /// Mark the idle desktop for `version` and refresh it now (item: inProgress).
        case refresh(RolloutItem, version: Int)
        /// Mark the desktop in use for `version` at its logoff (item: waiting, or rollingBack);
        /// with `warn`, show the message on its console now.
        case markForLogoff(RolloutItem, version: Int, warn: String?)
        /// The desktop left its session: its refresh is under way (item: inProgress).
        case begin(RolloutItem)
        /// The first wave passed its gate: pin the pools to their new version.
        case switchPools

        // Config.

        /// Change the desktop's definition (and live memory); then `restart` it now, or (in
        /// use) wait for its logoff, warning its user with `warn`; else it is done.
        case reconfigure(RolloutItem, restart: Bool, waitForLogoff: Bool, warn: String?)
        /// Restart a desktop whose definition changed while it was in use, now that it is not.
        case restart(RolloutItem)

        // Commands and checks.

        /// A command that was running when the broker stopped: recorded `interrupted`, never
        /// run again (it may have had effects).
        case interrupt(RolloutItem)
        /// Run the command on the desktop's guest.
        case run(RolloutItem)
        /// Check the desktop.
        case check(RolloutItem)
        /// Every desktop was checked: apply the policy's remediation to those that failed
        /// (once); the rollout is over only when it is recorded.
        case remediate
    }

    public static func decide(_ input: Input) -> [Action] {
        let rule = input.rule.body
        var pass = Pass(input, total: rule.total(input.items))
        switch input.rollout.state {
        case .rolledBack, .completed:
            return []
        case .paused, .halted, .cancelled:
            rule.followUp(&pass)
        case .running:
            rule.followUp(&pass)
            if rule.waved {
                guard pass.goesOn(rule), pass.waves.inWindow else { return pass.actions }
            }
            rule.advance(&pass)
        case .rollingBack:
            rule.followUp(&pass)
            rule.rollBack(&pass)
        }
        return pass.actions
    }

    /// A desktop serves its user (or is ready to) on what it runs.
    static let serving: Set<DesktopState> = [.ready, .assigned, .connected, .disconnected]

    /// One pass: the input, the actions decided so far, and the items the follow-up settled.
    struct Pass {
        let input: Input
        let waves: RolloutWaves
        private(set) var actions: [Action] = []
        /// Items settled in this pass by the follow-up (later steps see them settled).
        private var settled: [String: RolloutItem.Status] = [:]
        /// Desktops out of service now (counted against `waves.maxUnavailable`).
        private var unavailable: Int

        init(_ input: Input, total: Int) {
            self.input = input
            waves = RolloutWaves(strategy: input.strategy, logoff: input.logoff, total: total, now: input.now)
            unavailable = 0
        }

        var rollout: Rollout { input.rollout }
        var items: [RolloutItem] { input.items }
        var rollingBack: Bool { input.rollout.state == .rollingBack }

        func desktop(of item: RolloutItem) -> Desktop? { input.desktops[item.desktopID] }

        func status(_ item: RolloutItem) -> RolloutItem.Status { settled[item.desktopID] ?? item.status }

        mutating func append(_ action: Action) { actions.append(action) }

        /// Settles an item in the follow-up: later steps of the pass see it settled.
        mutating func settle(_ item: RolloutItem, _ status: RolloutItem.Status, _ detail: String, clearTarget: Bool = false) {
            actions.append(.settle(item, status, detail: detail, clearTarget: clearTarget))
            settled[item.desktopID] = status
        }

        /// Counts the desktops under way and out of service (after the follow-up), before
        /// `takeSlot`.
        mutating func countUnavailable() {
            unavailable = items.filter { item in
                (status(item) == .inProgress || status(item) == .rollingBack) && desktop(of: item).map { !RolloutMachine.serving.contains($0.state) } == true
            }.count
        }

        /// Takes one more desktop out of service, if the budget allows.
        mutating func takeSlot() -> Bool {
            guard unavailable < waves.maxUnavailable else { return false }
            unavailable += 1
            return true
        }

        /// The shared wave step: false when the pass ends here (halted, next wave, finished).
        mutating func goesOn(_ rule: any RolloutRule) -> Bool {
            let failed = items.filter { status($0) == .failed }.count
            if let reason = waves.halt(failed: failed, what: rule.failed) {
                append(.halt(reason))
                return false
            }
            let current = self
            let rollout = rollout
            guard RolloutWaves.isThrough(wave: rollout.wave, items: items, status: current.status, counts: { rule.through($0, rollout) }) else {
                return true
            }
            rule.waveThrough(&self)
            switch RolloutWaves.next(after: rollout.wave, of: rollout.waves, items: items, status: current.status) {
            case .wave(let next):
                append(.nextWave(next))
                return false
            case .finish:
                append(.finish(.completed))
                return false
            case nil:
                return true  // every wave is through; desktops in use are still to log off
            }
        }
    }
}

/// What a kind of rollout does with its items; `RolloutMachine` runs the steps every kind
/// shares around it.
protocol RolloutRule {
    /// Whether the rollout goes in waves (with threshold, window and budget).
    var waved: Bool { get }
    /// What the failed desktops did, in the halt's reason.
    var failed: String { get }
    /// Desktops the rollout changes (percentages count these).
    func total(_ items: [RolloutItem]) -> Int
    /// Whether an item with this status lets its wave be through.
    func through(_ status: RolloutItem.Status, _ rollout: Rollout) -> Bool
    /// A wave is through (before the next opens).
    func waveThrough(_ pass: inout RolloutMachine.Pass)
    /// Items under way, whatever the rollout's state.
    func followUp(_ pass: inout RolloutMachine.Pass)
    /// The items of the open waves, when the rollout runs.
    func advance(_ pass: inout RolloutMachine.Pass)
    /// Every changed desktop back, when the rollout rolls back.
    func rollBack(_ pass: inout RolloutMachine.Pass)
}

extension RolloutRule {
    var waved: Bool { true }
    var failed: String { "failed" }
    func total(_ items: [RolloutItem]) -> Int { items.count }
    func through(_ status: RolloutItem.Status, _ rollout: Rollout) -> Bool { status.isSettled }
    func waveThrough(_ pass: inout RolloutMachine.Pass) {}
    func rollBack(_ pass: inout RolloutMachine.Pass) {}
}

extension RolloutMachine.Rule {
    var body: any RolloutRule {
        switch self {
        case .update: UpdateRule()
        case .config(let generations): ConfigRule(generations: generations)
        case .commands(let concurrency): CommandRule(concurrency: concurrency)
        case .checks: CheckRule()
        }
    }
}
