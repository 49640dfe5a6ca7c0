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
