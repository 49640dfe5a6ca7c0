import DeskpoolCore
import Foundation
import Testing

@Suite("RolloutMachine, the command and check rules")
struct GuestRuleTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Items with (status, the desktop's state or nil when it is gone).
    static func input(_ specs: [(RolloutItem.Status, DesktopState?)], state: Rollout.State = .running,
                      rule: RolloutMachine.Rule) -> RolloutMachine.Input {
        let rollout = Rollout(id: "r", policy: "p", kind: .guestCommand, source: "", state: state, pools: [], wave: 0, waves: 1,
                              canaryPassed: true, createdAt: now, createdBy: "admin")
        var items: [RolloutItem] = []
        var desktops: [String: Desktop] = [:]
        for (index, spec) in specs.enumerated() {
            items.append(RolloutItem(rollout: "r", desktopID: "d\(index)", desktop: "eng-\(index)", pool: "eng", position: index, wave: 0,
                                     status: spec.0, from: "", to: ""))
            if let state = spec.1 {
                desktops["d\(index)"] = Desktop(id: "d\(index)", name: "eng-\(index)", pool: "eng", host: "a", template: "t", version: 1,
                                                state: state, createdAt: now)
            }
        }
        return RolloutMachine.Input(rollout: rollout, rule: rule, items: items, desktops: desktops, now: now)
    }

    static func summary(_ action: RolloutMachine.Action) -> String { RolloutMachineSummary.line(action) }

    @Test("commands, table-driven", arguments: [
        // Pending desktops run, `concurrency` at a time; a stop's leftovers are interrupted.
        ([(RolloutItem.Status.pending, DesktopState?.some(.ready)), (.pending, .connected), (.pending, .ready)], Rollout.State.running, 2,
         ["run eng-0", "run eng-1"]),
        ([(.inProgress, .ready), (.pending, .ready)], .running, 4, ["interrupt eng-0", "run eng-1"]),
        // A guest that cannot run it, or a desktop that is gone, is skipped (it takes a slot).
        ([(.pending, .off), (.pending, nil), (.pending, .ready)], .running, 2,
         ["skipped eng-0: off: its guest is not running", "skipped eng-1: the desktop was removed by its pool"]),
        ([(.pending, .refreshing), (.pending, .ready)], .running, 4, ["skipped eng-0: refreshing: its guest is not running", "run eng-1"]),
        // All settled: the end.
        ([(.done, .ready), (.failed, .ready), (.skipped, nil), (.interrupted, .ready)], .running, 4, ["finish completed"]),
        // Cancelled: nothing new runs; a command cut short is still recorded.
        ([(.inProgress, .ready), (.pending, .ready)], .cancelled, 4, ["interrupt eng-0"]),
        ([(.pending, .ready)], .paused, 4, []),
        ([(.pending, .ready)], .completed, 4, []),
    ] as [([(RolloutItem.Status, DesktopState?)], Rollout.State, Int, [String])])
    func commands(_ specs: [(RolloutItem.Status, DesktopState?)], state: Rollout.State, concurrency: Int, expected: [String]) {
        #expect(RolloutMachine.decide(Self.input(specs, state: state, rule: .commands(concurrency: concurrency))).map(Self.summary) == expected)
    }

    @Test("checks, table-driven", arguments: [
        ([(RolloutItem.Status.pending, DesktopState?.some(.ready)), (.inProgress, .off), (.done, .ready)], Rollout.State.running,
         ["check eng-0", "check eng-1"]),
        ([(.pending, nil)], .running, ["check eng-0"]),   // a gone desktop fails its checks, with why
        ([(.done, .ready), (.failed, .ready)], .running, ["remediate", "finish completed"]),
        ([(.pending, .ready)], .paused, []),
        ([(.pending, .ready)], .cancelled, []),
    ] as [([(RolloutItem.Status, DesktopState?)], Rollout.State, [String])])
    func checks(_ specs: [(RolloutItem.Status, DesktopState?)], state: Rollout.State, expected: [String]) {
        #expect(RolloutMachine.decide(Self.input(specs, state: state, rule: .checks)).map(Self.summary) == expected)
    }
}
