/// Decides the next steps of the rollouts that change nothing but look into guests: a
/// GuestCommandPolicy (a command on each desktop) and a CheckPolicy (checks, then its
/// remediation). Both run in one wave. Pure, like `UpdateRolloutMachine`; `RolloutService`
/// runs the actions (commands `concurrency` at a time, checks 32 at a time) and decides again.
public enum GuestRolloutMachine {
    public struct Input: Sendable {
        public var rollout: Rollout
        public var items: [RolloutItem]
        /// The desktops by id; a missing one is gone.
        public var desktops: [String: Desktop]

        public init(rollout: Rollout, items: [RolloutItem], desktops: [String: Desktop]) {
            self.rollout = rollout
            self.items = items
            self.desktops = desktops
        }
    }

    public enum Action: Sendable, Hashable {
        /// A command that was running when the broker stopped: recorded `interrupted`, never
        /// run again (it may have had effects).
        case interrupt(RolloutItem)
        /// Run the command on the desktop's guest.
        case run(RolloutItem)
        /// Check the desktop.
        case check(RolloutItem)
        case settle(RolloutItem, RolloutItem.Status, detail: String)
        /// Every desktop was checked: apply the policy's remediation to those that failed
        /// (once); the rollout is over only when it is recorded.
        case remediate
        case finish(Rollout.State)
    }

    /// GuestCommandPolicy: commands cut short by a stop are interrupted; the next
    /// `concurrency` pending desktops run the command (one whose guest cannot run it is
    /// skipped); the rollout completes when every item is settled.
    public static func commands(_ input: Input, concurrency: Int) -> [Action] {
        let state = input.rollout.state
        guard state == .running || state == .cancelled else { return [] }
        var actions = input.items.filter { $0.status == .inProgress }.map(Action.interrupt)
        if state == .running {
            for item in input.items.filter({ $0.status == .pending }).prefix(max(1, concurrency)) {
                guard let desktop = input.desktops[item.desktopID] else {
                    actions.append(.settle(item, .skipped, detail: "the desktop was removed by its pool"))
                    continue
                }
                guard PolicyPlanner.reachable.contains(desktop.state) else {
                    actions.append(.settle(item, .skipped, detail: "\(desktop.state.rawValue): its guest is not running"))
                    continue
                }
                actions.append(.run(item))
            }
            if input.items.allSatisfy(\.status.isSettled) { actions.append(.finish(.completed)) }
        }
        return actions
    }

    /// CheckPolicy: every desktop not yet checked is checked; once all are, the remediation,
    /// then the end.
    public static func checks(_ input: Input) -> [Action] {
        guard input.rollout.state == .running else { return [] }
        let unchecked = input.items.filter { $0.status == .pending || $0.status == .inProgress }
        guard unchecked.isEmpty else { return unchecked.map(Action.check) }
        return [.remediate, .finish(.completed)]
    }
}
