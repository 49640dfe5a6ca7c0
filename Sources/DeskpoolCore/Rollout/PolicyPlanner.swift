public import Foundation

/// Turns a policy and the broker's state into a `PolicyPlan`: which pools it selects, which
/// desktops change, how, in which wave, and what their users notice. Pure: the same inputs
/// give the same plan (`PolicyPlannerTests`). An impossible policy (a pool or version that
/// does not exist, no pool selected) throws with the field named.
public enum PolicyPlanner {
    public struct Input: Sendable {
        public var policy: Policy
        public var pools: [PoolSpec]
        /// Versions of every template, oldest first.
        public var versions: [String: [TemplateVersion]]
        public var templates: [String: TemplateDefinition]
        public var desktops: [Desktop]
        /// What libvirt says of each desktop (by name), where it was read (ConfigPolicy).
        public var facts: [String: DesktopFacts]
        public var now: Date

        public init(policy: Policy, pools: [PoolSpec], versions: [String: [TemplateVersion]], templates: [String: TemplateDefinition] = [:],
                    desktops: [Desktop], facts: [String: DesktopFacts] = [:], now: Date) {
            self.policy = policy
            self.pools = pools
            self.versions = versions
            self.templates = templates
            self.desktops = desktops
            self.facts = facts
            self.now = now
        }
    }

    /// The pools a selector picks, by name; a pool named but missing is an error.
    public static func selectedPools(_ selector: PoolSelector, among pools: [PoolSpec]) throws(DeskpoolError) -> [PoolSpec] {
        let names = Set(pools.map(\.name))
        if let missing = selector.pools.first(where: { !names.contains($0) }) {
            throw DeskpoolError(.notFound, "pool \(missing) does not exist", field: "spec.selector.pools")
        }
        let selected = pools.filter { selector.selects($0) && !$0.draining }.sorted { $0.name < $1.name }
        guard !selected.isEmpty else { throw DeskpoolError(.notFound, "the selector matches no pool", field: "spec.selector") }
        return selected
    }

    public static func plan(_ input: Input) throws(DeskpoolError) -> PolicyPlan {
        switch input.policy.spec {
        case .update(let spec): try planUpdate(spec, input)
        case .config(let spec): try planConfig(spec, input)
        case .guestCommand(let spec): try planGuest(spec.selector, kind: .guestCommand, includeInUse: spec.includeInUse, input)
        case .check(let spec): try planGuest(spec.selector, kind: .check, includeInUse: true, input)
        }
    }

    // MARK: - UpdatePolicy

    /// The version an UpdatePolicy moves a pool to.
    public static func targetVersion(_ choice: PoolSpec.VersionChoice, for pool: PoolSpec, among versions: [TemplateVersion]) throws(DeskpoolError) -> TemplateVersion {
        var wanted = pool
        wanted.version = choice
        switch wanted.currentVersion(among: versions) {
        case .success(let version): return version
        case .failure(let error): throw DeskpoolError(error.code, "pool \(pool.name): \(error.message)", field: "spec.version")
        }
    }

    /// The version a pool moves from: its pinned version; for a pool on `latest` (which
    /// already names the new version once it is published), the newest version its desktops
    /// run below the target, else the newest published one below it.
    public static func startingVersion(of pool: PoolSpec, target: Int, versions: [TemplateVersion], desktops: [Desktop]) -> Int? {
        if case .pinned(let number) = pool.version { return number }
        let running = desktops.filter { $0.pool == pool.name && $0.version != target }.map(\.version)
        if let newest = running.max() { return newest }
        let below = versions.filter { $0.template == pool.template && $0.published && $0.number < target }.map(\.number)
        return below.max() ?? (try? pool.currentVersion(among: versions).get())?.number
    }

    static func planUpdate(_ spec: UpdatePolicySpec, _ input: Input) throws(DeskpoolError) -> PolicyPlan {
        let pools = try selectedPools(spec.selector, among: input.pools)
        var poolChanges: [PolicyPlan.PoolChange] = []
        var included: [PolicyPlan.DesktopChange] = []
        var skipped: [PolicyPlan.DesktopChange] = []
        for pool in pools {
            let versions = input.versions[pool.template] ?? []
            let target = try targetVersion(spec.version, for: pool, among: versions)
            let current = startingVersion(of: pool, target: target.number, versions: versions, desktops: input.desktops)
            poolChanges.append(PolicyPlan.PoolChange(pool: pool.name, changes: [
                "version \(current.map { "v\($0)" } ?? "none") -> v\(target.number) (the pool is pinned to v\(target.number) once the first wave passes its gate)",
            ]))
            for desktop in input.desktops.filter({ $0.pool == pool.name }) {
                let userData = holdsUserData(desktop, in: pool)
                var change = PolicyPlan.DesktopChange(
                    desktopID: desktop.id, desktop: desktop.name, pool: pool.name, state: desktop.state, user: desktop.user, wave: nil,
                    from: "v\(desktop.version)", to: "v\(target.number)", changes: ["version v\(desktop.version) -> v\(target.number)"],
                    method: .refresh, impact: impact(of: desktop, logoff: spec.logoff, destroysUserData: userData))
                if desktop.version == target.number && desktop.targetVersion == nil {
                    change.skipped = .alreadyOn(version: target.number)
                } else if desktop.state == .failed || desktop.state == .deleting {
                    change.skipped = .replacedByPool(desktop.state)
                } else if userData && spec.dedicated == .keep {
                    change.skipped = .keptDedicated
                }
                if change.skipped != nil {
                    change.method = .none
                    change.changes = []
                    change.impact = "none"
                    skipped.append(change)
                } else {
                    included.append(change)
                }
            }
        }
        return waved(input.policy.name, .update, pools: poolChanges, included: included, skipped: skipped, strategy: spec.strategy)
    }

    /// The plan with the included desktops in rollout order and waves, the skipped ones after.
    static func waved(_ policy: String, _ kind: Policy.Kind, pools: [PolicyPlan.PoolChange], included: [PolicyPlan.DesktopChange],
                      skipped: [PolicyPlan.DesktopChange], strategy: RolloutStrategy) -> PolicyPlan {
        let ordered = order(included)
        let waves = assignWaves(count: ordered.count, strategy: strategy)
        let planned = zip(ordered, waves).map { change, wave in
            var change = change
            change.wave = wave
            return change
        }
        return PolicyPlan(policy: policy, kind: kind, pools: pools,
                          desktops: planned + skipped.sorted { ($0.pool, $0.desktop) < ($1.pool, $1.desktop) },
                          waves: (waves.last ?? -1) + 1)
    }

    /// Idle desktops first (the canary should not wait for a logoff), then those in use; by
    /// pool and name within each.
    static func order(_ changes: [PolicyPlan.DesktopChange]) -> [PolicyPlan.DesktopChange] {
        changes.sorted { a, b in
            let inUseA = a.state.isInSession, inUseB = b.state.isInSession
            if inUseA != inUseB { return !inUseA }
            return (a.pool, a.desktop) < (b.pool, b.desktop)
        }
    }

    /// The wave of each of `count` desktops in rollout order: the canary (if any) first, then
    /// waves of `waveSize`.
    public static func assignWaves(count: Int, strategy: RolloutStrategy) -> [Int] {
        guard count > 0 else { return [] }
        var waves: [Int] = []
        let canary = strategy.canary.resolve(of: count)
        if canary > 0 { waves += Array(repeating: 0, count: canary) }
        let size = max(1, strategy.waveSize.resolve(of: count))
        var wave = canary > 0 ? 1 : 0
        while waves.count < count {
            waves += Array(repeating: wave, count: min(size, count - waves.count))
            wave += 1
        }
        return waves
    }

    /// Whether re-cloning `desktop` destroys a user's data: a dedicated pool's desktop keeps
    /// its disk across sessions once it has a user. (One without a user was never handed
    /// out: an admin's unassign re-clones it.)
    public static func holdsUserData(_ desktop: Desktop, in pool: PoolSpec) -> Bool {
        pool.assignment == .dedicated && desktop.user != nil
    }

    /// What the desktop's user notices when it is re-cloned; starts with `destroys user data`
    /// when `destroysUserData`.
    static func impact(of desktop: Desktop, logoff: LogoffMode, destroysUserData: Bool = false) -> String {
        if destroysUserData, let user = desktop.user {
            let disk = "\(user)'s disk is replaced by a clone of the new version"
            guard desktop.state.isInSession else {
                return "destroys user data: \(disk) now" + (desktop.state == .off ? " (it stays off until they open it)" : "")
            }
            switch logoff {
            case .waitForLogoff:
                return "destroys user data: \(disk) after they log off"
            case .forceAfter(let seconds, _):
                return "destroys user data: \(user) is warned when its wave starts and logged off \(durationText(seconds)) later; then \(disk)"
            }
        }
        guard desktop.state.isInSession, let user = desktop.user else {
            if desktop.state == .off { return "none: it is off; it is refreshed now and stays off its user's until they open it" }
            return "none: idle; out of service while it is cloned again"
        }
        switch logoff {
        case .waitForLogoff:
            return "\(user): nothing now; the desktop is refreshed after they log off"
        case .forceAfter(let seconds, _):
            return "\(user): warned on the desktop when its wave starts, logged off \(durationText(seconds)) later, then refreshed"
        }
    }

    static func durationText(_ seconds: Int) -> String {
        if seconds % 3600 == 0, seconds >= 3600 { return "\(seconds / 3600) h" }
        if seconds % 60 == 0, seconds >= 60 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }
}
