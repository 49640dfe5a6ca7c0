extension PolicyPlanner {
    /// How one hardware difference reaches a running or stopped desktop.
    static func method(of setting: String, from: DesktopHardware, to: DesktopHardware, facts: DesktopFacts?) -> PolicyPlan.Method {
        guard setting == "memoryMiB" else { return .restart }
        // Memory moves live within the running guest's maximum (its balloon); else at restart.
        guard let live = facts?.live else { return .restart }
        return to.memoryMiB <= live.maxMemoryMiB ? .live : .restart
    }

    /// The hardware settings that differ, by name, with old and new values.
    static func differences(_ from: DesktopHardware, _ to: DesktopHardware) -> [(String, String, String)] {
        var result: [(String, String, String)] = []
        func note<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { result.append((name, "\(a)", "\(b)")) } }
        note("vcpus", from.vcpus, to.vcpus)
        note("memoryMiB", from.memoryMiB, to.memoryMiB)
        note("monitors", from.monitors, to.monitors)
        note("audio", from.audio, to.audio)
        note("clipboard", from.clipboard, to.clipboard)
        note("streaming", from.streaming.rawValue, to.streaming.rawValue)
        note("compression", from.compression.rawValue, to.compression.rawValue)
        note("usbRedirection", from.usbRedirection, to.usbRedirection)
        note("smartcard", from.smartcard, to.smartcard)
        return result
    }

    /// Pool-level changes a ConfigPolicy makes (console, session, sizes, desktop settings).
    static func poolLevelChanges(_ old: PoolSpec, _ new: PoolSpec) -> [String] {
        var changes: [String] = []
        func spares(_ pool: PoolSpec) -> String {
            "spare \(pool.forecast == nil ? String(pool.spare) : "auto")" + (pool.savedSpare > 0 ? " saved \(pool.savedSpare)" : "")
        }
        if old.min != new.min || old.max != new.max || old.spare != new.spare || old.savedSpare != new.savedSpare || (old.forecast == nil) != (new.forecast == nil) {
            changes.append("sizes min \(old.min) max \(old.max) \(spares(old)) -> min \(new.min) max \(new.max) \(spares(new)) (at once)")
        }
        if old.schedule != new.schedule {
            let describe = { (schedule: [ScheduleEntry]) in
                schedule.isEmpty ? "none" : schedule.map { entry in
                    "\(entry.days.map(\.rawValue).joined(separator: ",")) \(ScheduleEntry.clock(entry.from))-\(ScheduleEntry.clock(entry.to)) \(entry.timezone)"
                }.joined(separator: "; ")
            }
            changes.append("schedule \(describe(old.schedule)) -> \(describe(new.schedule)) (at the next reconcile pass; desktops in use stay)")
        }
        if old.console != new.console { changes.append("console policy (live: the next console request and the gateway)") }
        if old.session != new.session { changes.append("session policy (live: the next session review)") }
        if old.desktop != new.desktop { changes.append("desktop settings (new and refreshed desktops get them; existing ones below)") }
        return changes
    }

    static func planConfig(_ spec: ConfigPolicySpec, _ input: Input) throws(DeskpoolError) -> PolicyPlan {
        let pools = try selectedPools(spec.selector, among: input.pools)
        var poolChanges: [PolicyPlan.PoolChange] = []
        var included: [PolicyPlan.DesktopChange] = []
        var skipped: [PolicyPlan.DesktopChange] = []
        for pool in pools {
            let new = try spec.applied(to: pool)
            guard let template = input.templates[pool.template] else {
                throw DeskpoolError(.notFound, "pool \(pool.name): template \(pool.template) does not exist", field: "spec.selector")
            }
            let changes = poolLevelChanges(pool, new)
            poolChanges.append(PolicyPlan.PoolChange(pool: pool.name, changes: changes.isEmpty ? ["nothing (already as the policy says)"] : changes))
            let wanted = DesktopHardware(template: template, pool: new)
            let generation = pool == new ? pool.generation : pool.generation + 1
            for desktop in input.desktops.filter({ $0.pool == pool.name }) {
                let facts = input.facts[desktop.name]
                // What the desktop has: libvirt's persistent definition when it could be read,
                // else what its generation of the pool gave it.
                let has = facts?.persistent.hardware ?? DesktopHardware(template: template, pool: pool)
                var liveDiffers: [(String, String, String)] = []
                if let live = facts?.live?.hardware { liveDiffers = differences(live, wanted) }
                let differs = differences(has, wanted)
                var change = PolicyPlan.DesktopChange(
                    desktopID: desktop.id, desktop: desktop.name, pool: pool.name, state: desktop.state, user: desktop.user, wave: nil,
                    from: "generation \(desktop.generation)", to: "generation \(generation)", changes: [], method: .none, impact: "none")
                if desktop.state == .failed || desktop.state == .deleting || desktop.state.isTransitional {
                    change.skipped = .madeLater(desktop.state)
                    skipped.append(change)
                    continue
                }
                // Settings the persistent definition has but the running guest does not yet
                // (a change waiting for a restart) count too.
                let names = Set(differs.map(\.0)).union(liveDiffers.map(\.0))
                guard !names.isEmpty else {
                    change.skipped = .definitionMatches(movesTo: desktop.generation != generation ? generation : nil)
                    change.changes = []
                    skipped.append(change)
                    continue
                }
                var worst = PolicyPlan.Method.live
                for name in names.sorted() {
                    let pair = (differs + liveDiffers).first { $0.0 == name }!
                    let how = method(of: name, from: has, to: wanted, facts: facts)
                    if how == .restart { worst = .restart }
                    change.changes.append("\(name) \(pair.1) -> \(pair.2) (\(how == .live ? "live" : "at next restart"))")
                }
                change.method = worst
                change.impact = configImpact(desktop, method: worst, logoff: spec.logoff)
                included.append(change)
            }
        }
        return waved(input.policy.name, .config, pools: poolChanges, included: included, skipped: skipped, strategy: spec.strategy)
    }

    static func configImpact(_ desktop: Desktop, method: PolicyPlan.Method, logoff: LogoffMode) -> String {
        if method == .live { return "none: changed while it runs" }
        guard desktop.state.isInSession, let user = desktop.user else {
            if desktop.state == .off { return "none: it is off; it starts with the new definition" }
            return "none: idle; restarted now (out of service while it boots)"
        }
        switch logoff {
        case .waitForLogoff:
            return "\(user): nothing now; the definition changes now and the rest takes effect at the next restart (after they log off)"
        case .forceAfter(let seconds, _):
            return "\(user): warned on the desktop when its wave starts, logged off \(durationText(seconds)) later, then restarted"
        }
    }
}
