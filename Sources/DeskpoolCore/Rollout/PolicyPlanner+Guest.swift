extension PolicyPlanner {
    /// Desktops whose guest can be reached: running, not being changed.
    static let reachable: Set<DesktopState> = [.ready, .assigned, .connected, .disconnected]

    /// GuestCommandPolicy and CheckPolicy: every running desktop of the selected pools, in one
    /// wave (their concurrency bounds how many at once).
    static func planGuest(_ selector: PoolSelector, kind: Policy.Kind, includeInUse: Bool, _ input: Input) throws(DeskpoolError) -> PolicyPlan {
        let pools = try selectedPools(selector, among: input.pools)
        var included: [PolicyPlan.DesktopChange] = []
        var skipped: [PolicyPlan.DesktopChange] = []
        let method: PolicyPlan.Method = kind == .check ? .check : .command
        for pool in pools {
            for desktop in input.desktops.filter({ $0.pool == pool.name }) {
                var change = PolicyPlan.DesktopChange(
                    desktopID: desktop.id, desktop: desktop.name, pool: pool.name, state: desktop.state, user: desktop.user, wave: 0,
                    from: "v\(desktop.version)", to: "v\(desktop.version)",
                    changes: [kind == .check ? "checked" : "command run through the guest agent"], method: method,
                    impact: kind == .check ? "none: read only" : desktop.state.isInSession ? "\(desktop.user ?? "its user"): the command runs while they work" : "none")
                // Checks read definitions, which stopped desktops have too; commands need a guest.
                let checkable = reachable.union([.off, .failed])
                if !(kind == .check ? checkable : reachable).contains(desktop.state) {
                    change.skipped = .notRunning(desktop.state)
                } else if desktop.state.isInSession && !includeInUse {
                    change.skipped = .inUse(user: desktop.user)
                }
                if change.skipped != nil {
                    change.wave = nil
                    change.method = .none
                    change.impact = "none"
                    change.changes = []
                    skipped.append(change)
                } else {
                    included.append(change)
                }
            }
        }
        return PolicyPlan(policy: input.policy.name, kind: kind, pools: pools.map { PolicyPlan.PoolChange(pool: $0.name, changes: []) },
                          desktops: included.sorted { ($0.pool, $0.desktop) < ($1.pool, $1.desktop) } + skipped, waves: included.isEmpty ? 0 : 1)
    }
}
