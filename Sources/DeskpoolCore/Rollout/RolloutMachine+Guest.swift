/// The rule of a GuestCommandPolicy (a command on each desktop, one wave): commands cut short
/// by a stop are interrupted (never run again: they may have had effects); the next
/// `concurrency` pending desktops run the command (one whose guest cannot run it is skipped);
/// the rollout completes when every item is settled.
struct CommandRule: RolloutRule {
    let concurrency: Int

    var waved: Bool { false }

    func followUp(_ pass: inout RolloutMachine.Pass) {
        guard pass.rollout.state == .running || pass.rollout.state == .cancelled else { return }
        for item in pass.items where item.status == .inProgress { pass.append(.interrupt(item)) }
    }

    func advance(_ pass: inout RolloutMachine.Pass) {
        for item in pass.items.filter({ $0.status == .pending }).prefix(max(1, concurrency)) {
            guard let desktop = pass.desktop(of: item) else {
                pass.append(.settle(item, .skipped, detail: "the desktop was removed by its pool"))
                continue
            }
            guard PolicyPlanner.reachable.contains(desktop.state) else {
                pass.append(.settle(item, .skipped, detail: "\(desktop.state.rawValue): its guest is not running"))
                continue
            }
            pass.append(.run(item))
        }
        if pass.items.allSatisfy(\.status.isSettled) { pass.append(.finish(.completed)) }
    }
}

/// The rule of a CheckPolicy (one wave): every desktop not yet checked is checked; once all
/// are, the remediation, then the end.
struct CheckRule: RolloutRule {
    var waved: Bool { false }

    func followUp(_ pass: inout RolloutMachine.Pass) {}

    func advance(_ pass: inout RolloutMachine.Pass) {
        let unchecked = pass.items.filter { $0.status == .pending || $0.status == .inProgress }
        guard unchecked.isEmpty else {
            for item in unchecked { pass.append(.check(item)) }
            return
        }
        pass.append(.remediate)
        pass.append(.finish(.completed))
    }
}
