import DeskpoolCore
import Foundation
import Testing

@Suite("RolloutMachine, the update rule: the steps of an image update")
struct UpdateRuleTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Desktops `eng-001`... with (state, user, version, targetVersion).
    static func desktops(_ specs: [(DesktopState, String?, Int, Int?)]) -> [Desktop] {
        specs.enumerated().map { index, spec in
            Desktop(id: "d\(index + 1)", name: "eng-00\(index + 1)", pool: "eng", host: "a", template: "tiny", version: spec.2,
                    state: spec.0, user: spec.1, targetVersion: spec.3, createdAt: now)
        }
    }

    static func items(_ specs: [(RolloutItem.Status, Int)], startedAt: Date? = nil, warnedAt: Date? = nil) -> [RolloutItem] {
        specs.enumerated().map { index, spec in
            var item = RolloutItem(rollout: "r", desktopID: "d\(index + 1)", desktop: "eng-00\(index + 1)", pool: "eng", position: index,
                                   wave: spec.1, status: spec.0, from: "v1", to: "v2")
            item.startedAt = spec.0 == .inProgress ? (startedAt ?? now) : nil
            item.warnedAt = spec.0 == .waiting ? warnedAt : nil
            return item
        }
    }

    static func decide(_ items: [RolloutItem], _ desktops: [Desktop], state: Rollout.State = .running, wave: Int = 0, waves: Int = 2,
                       canaryPassed: Bool = false, strategy: RolloutStrategy = RolloutStrategy(), logoff: LogoffMode = .waitForLogoff,
                       at: Date = now) -> [String] {
        let rollout = Rollout(id: "r", policy: "eng-v2", kind: .update, source: "", state: state,
                              pools: [Rollout.PoolChange(pool: "eng", fromVersion: 1, toVersion: 2)], wave: wave, waves: waves,
                              canaryPassed: canaryPassed, createdAt: now, createdBy: "admin")
        return RolloutMachine.decide(RolloutMachine.Input(
            rollout: rollout, rule: .update, strategy: strategy, logoff: logoff, items: items,
            desktops: Dictionary(uniqueKeysWithValues: desktops.map { ($0.id, $0) }), now: at)).map(summary)
    }

    static func summary(_ action: RolloutMachine.Action) -> String { RolloutMachineSummary.line(action) }

    @Test("the canary goes first, alone, and only idle desktops are refreshed now")
    func canaryFirst() {
        let d = Self.desktops([(.ready, nil, 1, nil), (.ready, nil, 1, nil), (.connected, "alice", 1, nil)])
        #expect(Self.decide(Self.items([(.pending, 0), (.pending, 1), (.pending, 1)]), d) == ["refresh eng-001 v2"])
    }

    @Test("max unavailable bounds the desktops out of service at once")
    func maxUnavailable() {
        let d = Self.desktops([(.starting, nil, 2, nil), (.ready, nil, 1, nil), (.ready, nil, 1, nil), (.ready, nil, 1, nil)])
        let items = Self.items([(.inProgress, 1), (.pending, 1), (.pending, 1), (.pending, 1)])
        #expect(Self.decide(items, d, wave: 1, canaryPassed: true) == [])
        var two = RolloutStrategy()
        two.maxUnavailable = .percent(50)
        #expect(Self.decide(items, d, wave: 1, canaryPassed: true, strategy: two) == ["refresh eng-002 v2"])
    }

    @Test("a desktop in use waits for its user's logoff, or is warned with forceAfter")
    func inUse() {
        let d = Self.desktops([(.connected, "alice", 1, nil)])
        #expect(Self.decide(Self.items([(.pending, 0)]), d, waves: 1) == ["mark eng-001 v2"])
        let force = LogoffMode.forceAfter(seconds: 120, message: "Logging off in {minutes} min")
        #expect(Self.decide(Self.items([(.pending, 0)]), d, waves: 1, logoff: force) == ["mark eng-001 v2 warn: Logging off in 2 min"])
    }

    @Test("the forced logoff comes when the grace period is over, not before")
    func forcedLogoff() {
        let d = Self.desktops([(.connected, "alice", 1, 2)])
        let force = LogoffMode.forceAfter(seconds: 120, message: "bye")
        let items = Self.items([(.waiting, 0)], warnedAt: Self.now)
        #expect(Self.decide(items, d, waves: 1, logoff: force, at: Self.now.addingTimeInterval(119)) == [])
        #expect(Self.decide(items, d, waves: 1, logoff: force, at: Self.now.addingTimeInterval(120)) == ["logoff eng-001"])
        #expect(Self.decide(items, d, waves: 1, at: Self.now.addingTimeInterval(9999)) == [], "waitForLogoff never forces")
    }

    @Test("a waiting desktop whose user logged off begins; one back on the new version is checked")
    func waitingFollowUp() {
        let refreshing = Self.desktops([(.refreshing, nil, 1, 2)])
        #expect(Self.decide(Self.items([(.waiting, 0)]), refreshing, waves: 1) == ["begin eng-001"])
        let arrived = Self.desktops([(.ready, nil, 2, nil)])
        #expect(Self.decide(Self.items([(.inProgress, 0)]), arrived, waves: 1) == ["check eng-001"])
    }

    @Test("a failed canary halts the rollout; a slow one fails at the health gate's limit")
    func failures() {
        let failed = Self.desktops([(.failed, nil, 2, nil), (.ready, nil, 1, nil)])
        #expect(Self.decide(Self.items([(.inProgress, 0), (.pending, 1)]), failed) == [
            "failed eng-001 (unmark): the desktop failed",
            "halt: 1 desktop(s) failed the health gate (threshold 1)",
        ])
        let slow = Self.desktops([(.starting, nil, 2, nil), (.ready, nil, 1, nil)])
        let items = Self.items([(.inProgress, 0), (.pending, 1)], startedAt: Self.now)
        #expect(Self.decide(items, slow, at: Self.now.addingTimeInterval(600)) == [])
        #expect(Self.decide(items, slow, at: Self.now.addingTimeInterval(601)) == [
            "failed eng-001 (unmark): not healthy on v2 within 600 s (still starting)",
            "halt: 1 desktop(s) failed the health gate (threshold 1)",
        ])
    }

    @Test("a passed canary switches the pools and opens the next wave; the last wave finishes")
    func waves() {
        let d = Self.desktops([(.ready, nil, 2, nil), (.ready, nil, 1, nil)])
        #expect(Self.decide(Self.items([(.done, 0), (.pending, 1)]), d) == ["switch pools", "wave 1"])
        let done = Self.desktops([(.ready, nil, 2, nil), (.ready, nil, 2, nil)])
        #expect(Self.decide(Self.items([(.done, 0), (.done, 1)]), done, wave: 1, canaryPassed: true) == ["finish completed"])
    }

    @Test("the canary must settle, but later waves do not wait for users to log off")
    func waitingBlocksOnlyTheCanary() {
        let d = Self.desktops([(.connected, "alice", 1, 2), (.ready, nil, 1, nil)])
        #expect(Self.decide(Self.items([(.waiting, 0), (.pending, 1)]), d) == [])
        #expect(Self.decide(Self.items([(.waiting, 0), (.pending, 1)]), d, canaryPassed: true) == ["wave 1"])
        let last = Self.desktops([(.connected, "alice", 1, 2), (.ready, nil, 2, nil)])
        #expect(Self.decide(Self.items([(.waiting, 0), (.done, 1)]), last, wave: 1, canaryPassed: true) == [],
                "the rollout is not complete while a desktop waits")
    }

    @Test("outside the maintenance window nothing new starts; paused rollouts only follow up")
    func windowAndPause() {
        let d = Self.desktops([(.ready, nil, 1, nil)])
        var strategy = RolloutStrategy()
        // 1_800_000_000 is 2027-01-15 08:00 UTC, a Friday.
        strategy.window = MaintenanceWindow(startMinute: 22 * 60, endMinute: 6 * 60)
        #expect(Self.decide(Self.items([(.pending, 0)]), d, waves: 1, strategy: strategy) == [])
        strategy.window = MaintenanceWindow(startMinute: 7 * 60, endMinute: 9 * 60)
        #expect(Self.decide(Self.items([(.pending, 0)]), d, waves: 1, strategy: strategy) == ["refresh eng-001 v2"])
        #expect(Self.decide(Self.items([(.pending, 0)]), d, state: .paused, waves: 1) == [])
        let arrived = Self.desktops([(.ready, nil, 2, nil)])
        #expect(Self.decide(Self.items([(.inProgress, 0)]), arrived, state: .paused, waves: 1) == ["check eng-001"])
    }

    @Test("a desktop that is gone is skipped")
    func gone() {
        #expect(Self.decide(Self.items([(.pending, 0)]), [], waves: 1) == ["skipped eng-001: the desktop was removed by its pool", "switch pools", "finish completed"])
    }

    @Test("a rollback takes idle desktops back now, desktops in use at logoff, and skips the rest")
    func rollback() {
        let d = Self.desktops([(.ready, nil, 2, nil), (.connected, "alice", 2, nil), (.ready, nil, 1, nil), (.connected, "bob", 1, 2), (.starting, nil, 2, nil)])
        let items = Self.items([(.done, 0), (.done, 1), (.pending, 1), (.waiting, 1), (.failed, 0)])
        #expect(Self.decide(items, d, state: .rollingBack) == [
            "refresh eng-001 v1", "mark eng-002 v1",
            "skipped eng-003: not changed: the rollout was rolled back",
            "skipped eng-004 (unmark): not changed: the rollout was rolled back",
            "refresh eng-005 v1",
        ])
        let back = Self.desktops([(.ready, nil, 1, nil), (.connected, "alice", 2, 1)])
        let rolling = Self.items([(.rollingBack, 0), (.rollingBack, 1)])
        #expect(Self.decide(rolling, back, state: .rollingBack) == ["rolledBack eng-001: back on v1"])
        let over = Self.desktops([(.ready, nil, 1, nil), (.ready, nil, 1, nil)])
        #expect(Self.decide(Self.items([(.rolledBack, 0), (.skipped, 1)]), over, state: .rollingBack) == ["finish rolledBack"])
    }
}
