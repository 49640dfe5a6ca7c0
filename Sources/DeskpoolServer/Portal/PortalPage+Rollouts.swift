import DeskpoolCore
import Foundation

// What the rollout and policy pages render. Waves are shown from 1 (the API counts from 0).
// Row fields have names of their own (`itemUser`, `itemDetail`, ...): a nil field would
// otherwise be looked up in the enclosing objects by Mustache.

/// `/admin/rollouts`: every rollout, newest first.
struct RolloutsContent {
    struct Row {
        var rolloutID: String
        var policyName: String
        var kind: String
        var state: String
        var waveText: String
        var countsText: String
        var created: Stamp
        var createdBy: String
    }

    var rollouts: [Row]
    var hasRollouts: Bool

    init(_ views: [RolloutView]) {
        rollouts = views.sorted { $0.rollout.createdAt > $1.rollout.createdAt }.map { view in
            let r = view.rollout
            return Row(rolloutID: r.id, policyName: r.policy, kind: r.kind.rawValue, state: r.state.rawValue,
                       waveText: RolloutContent.waveText(r), countsText: RolloutContent.countsText(view.counts),
                       created: Stamp(r.createdAt), createdBy: r.createdBy)
        }
        hasRollouts = !rollouts.isEmpty
    }
}

/// `/admin/rollouts/{id}`: one rollout, the actions its state allows, and its desktops.
struct RolloutContent {
    struct PoolRow {
        var poolName: String
        var fromText: String
        var toText: String
    }

    struct Action {
        var verb: String
        var label: String
    }

    struct Item {
        var desktopID: String
        var desktopName: String
        var poolName: String
        var waveNumber: Int
        var status: String
        var fromText: String
        var toText: String
        var itemUser: String
        var itemDetail: String
        var commandResult: CommandResult?
        var checkOutcomes: [Check]
        var hasChecks: Bool
    }

    struct CommandResult {
        var exitCode: Int
        var stdout: String
        var stderr: String
        var truncated: Bool
    }

    struct Check {
        var checkName: String
        var verdict: String
        var passed: Bool
        var evidence: String
    }

    var rolloutID: String
    var policyName: String
    var kind: String
    /// The policy's `metadata.description`, read again from the text as applied.
    var policyDescription: String?
    var state: String
    var reason: String?
    var waveText: String
    var countsText: String
    var canaryPassed: Bool
    var created: Stamp
    var createdBy: String
    var updated: Stamp
    /// Whether the rollout is not over yet (the page reloads itself meanwhile).
    var live: Bool
    var pools: [PoolRow]
    var hasPools: Bool
    var actions: [Action]
    var items: [Item]
    var hasItems: Bool
    var source: String

    init(_ view: RolloutView) {
        let r = view.rollout
        rolloutID = r.id
        policyName = r.policy
        kind = r.kind.rawValue
        policyDescription = (try? PolicyRollouts.parse(r.source))?.description
        state = r.state.rawValue
        reason = r.reason
        waveText = Self.waveText(r)
        countsText = Self.countsText(view.counts)
        canaryPassed = r.canaryPassed
        created = Stamp(r.createdAt)
        createdBy = r.createdBy
        updated = Stamp(r.updatedAt)
        live = !r.state.isFinal
        pools = r.pools.map { change in
            let from = change.fromVersion.map { "v\($0)" } ?? change.fromGeneration.map { "generation \($0)" } ?? "—"
            let to = change.toVersion.map { "v\($0)" } ?? change.toGeneration.map { "generation \($0)" } ?? "—"
            return PoolRow(poolName: change.pool, fromText: from, toText: to)
        }
        hasPools = !pools.isEmpty
        let labels: [Rollout.Action: String] = [.pause: "Pause", .resume: "Resume", .cancel: "Cancel", .rollback: "Roll back"]
        actions = Rollout.Action.allCases.filter(r.allows).map { Action(verb: $0.rawValue, label: labels[$0] ?? $0.rawValue) }
        items = view.items.map { item in
            Item(desktopID: item.desktopID, desktopName: item.desktop, poolName: item.pool, waveNumber: item.wave + 1,
                 status: item.status.rawValue, fromText: item.from, toText: item.to, itemUser: item.user ?? "—",
                 itemDetail: item.detail ?? "",
                 commandResult: item.result.map { CommandResult(exitCode: $0.exitCode, stdout: $0.stdout, stderr: $0.stderr, truncated: $0.truncated) },
                 checkOutcomes: (item.checks ?? []).map { Check(checkName: $0.check, verdict: $0.passed ? "passed" : "failed", passed: $0.passed,
                                                                 evidence: $0.evidence) },
                 hasChecks: !(item.checks ?? []).isEmpty)
        }
        hasItems = !items.isEmpty
        source = r.source
    }

    /// "2 of 3" (from 1), or "—" for a rollout without waves.
    static func waveText(_ rollout: Rollout) -> String {
        rollout.waves == 0 ? "—" : "\(min(rollout.wave + 1, rollout.waves)) of \(rollout.waves)"
    }

    /// The statuses some desktop has, in the order a rollout goes through them: "done 2, pending 3".
    static func countsText(_ counts: [String: Int]) -> String {
        let text = RolloutItem.Status.allCases.compactMap { status in
            counts[status.rawValue].flatMap { $0 > 0 ? "\(status.rawValue) \($0)" : nil }
        }.joined(separator: ", ")
        return text.isEmpty ? "no desktops" : text
    }
}

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
