import DeskpoolCore
import Foundation

// What the rollout and policy pages render. Waves are shown from 1 (the API counts from 0).
// Row fields have names of their own (`itemUser`, `itemDetail`, ...): a nil field would
// otherwise be looked up in the enclosing objects by Mustache.

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
