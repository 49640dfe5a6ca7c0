import DeskpoolCore
import Foundation

// What the rollout and policy pages render. Waves are shown from 1 (the API counts from 0).
// Row fields have names of their own (`itemUser`, `itemDetail`, ...): a nil field would
// otherwise be looked up in the enclosing objects by Mustache.

/// `/admin/policies`: the policy form, and the plan once asked for.
struct PoliciesContent {
    struct PoolRow {
        var poolName: String
        var changesText: String
    }

    struct DesktopRow {
        var desktopID: String
        var desktopName: String
        var poolName: String
        var waveText: String
        var desktopState: String
        var changeText: String
        var how: String
        var impact: String
        var skippedReason: String
        var included: Bool
    }

    struct Plan {
        var policyName: String
        var kind: String
        var policyDescription: String?
        var waves: Int
        var included: Int
        var planPools: [PoolRow]
        var hasPlanPools: Bool
        var planDesktops: [DesktopRow]
        var hasPlanDesktops: Bool
    }

    /// The policy file's text, kept in the form.
    var source: String
    var plan: Plan?

    init(source: String = "", plan: PolicyPlan? = nil, description: String? = nil) {
        self.source = source
        self.plan = plan.map { plan in
            let pools = plan.pools.map { PoolRow(poolName: $0.pool, changesText: $0.changes.isEmpty ? "—" : $0.changes.joined(separator: "; ")) }
            let desktops = plan.desktops.map { d in
                let change = d.changes.isEmpty ? (d.from == d.to ? d.from : "\(d.from) -> \(d.to)") : d.changes.joined(separator: "; ")
                return DesktopRow(desktopID: d.desktopID, desktopName: d.desktop, poolName: d.pool, waveText: d.wave.map { String($0 + 1) } ?? "—",
                                  desktopState: d.state.rawValue, changeText: change, how: d.method.rawValue, impact: d.impact,
                                  skippedReason: d.skipped?.description ?? "", included: d.wave != nil)
            }
            return Plan(policyName: plan.policy, kind: plan.kind.rawValue, policyDescription: description, waves: plan.waves, included: plan.included.count,
                        planPools: pools, hasPlanPools: !pools.isEmpty, planDesktops: desktops, hasPlanDesktops: !desktops.isEmpty)
        }
    }
}
