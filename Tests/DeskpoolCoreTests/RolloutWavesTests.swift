import DeskpoolCore
import Foundation
import Testing

/// The wave arithmetic `RolloutMachine` uses for the update and config rules, rule by rule.
@Suite("RolloutWaves: threshold, waves, window, budget, forced logoff")
struct RolloutWavesTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // a Friday, 08:00 UTC

    static func waves(_ strategy: RolloutStrategy = RolloutStrategy(), logoff: LogoffMode = .waitForLogoff, total: Int, at: Date = now) -> RolloutWaves {
        RolloutWaves(strategy: strategy, logoff: logoff, total: total, now: at)
    }

    static func items(_ specs: [(RolloutItem.Status, Int)]) -> [RolloutItem] {
        specs.enumerated().map { index, spec in
            RolloutItem(rollout: "r", desktopID: "d\(index)", desktop: "eng-\(index)", pool: "eng", position: index, wave: spec.1, status: spec.0,
                        from: "v1", to: "v2")
        }
    }

    @Test("the failure threshold: a count or a percentage of the desktops changed, at least 1", arguments: [
        (DesktopCount.count(1), 10, 0, nil),
        (.count(1), 10, 1, "1 desktop(s) failed (threshold 1)"),
        (.count(3), 10, 2, nil),
        (.count(3), 10, 3, "3 desktop(s) failed (threshold 3)"),
        (.count(5), 2, 2, "2 desktop(s) failed (threshold 2)"),     // never above the total
        (.percent(20), 10, 1, nil),
        (.percent(20), 10, 2, "2 desktop(s) failed (threshold 2)"),
        (.percent(0), 10, 1, "1 desktop(s) failed (threshold 1)"),   // at least 1
        (.percent(50), 0, 0, nil),
    ] as [(DesktopCount, Int, Int, String?)])
    func threshold(_ threshold: DesktopCount, total: Int, failed: Int, halt: String?) {
        let waves = Self.waves(RolloutStrategy(failureThreshold: threshold), total: total)
        #expect(waves.halt(failed: failed, what: "failed") == halt)
    }

    @Test("max unavailable: at least 1, a count or a percentage", arguments: [
        (DesktopCount.count(1), 10, 1), (.count(4), 10, 4), (.count(4), 2, 2), (.percent(25), 10, 3), (.percent(0), 10, 1), (.count(0), 10, 1),
    ] as [(DesktopCount, Int, Int)])
    func budget(_ count: DesktopCount, total: Int, expected: Int) {
        #expect(Self.waves(RolloutStrategy(maxUnavailable: count), total: total).maxUnavailable == expected)
    }

    @Test("a wave is through when each of its items counts; then the next wave, or the end when all are settled", arguments: [
        // (items, wave, waves, waiting counts, through, next)
        ([(RolloutItem.Status.done, 0), (.pending, 1)], 0, 2, false, true, "wave 1"),
        ([(.done, 0), (.inProgress, 0), (.pending, 1)], 0, 2, false, false, "-"),
        ([(.waiting, 0), (.pending, 1)], 0, 2, false, false, "-"),
        ([(.waiting, 0), (.pending, 1)], 0, 2, true, true, "wave 1"),
        ([(.done, 0), (.failed, 1)], 1, 2, false, true, "finish"),
        ([(.done, 0), (.waiting, 1)], 1, 2, true, true, "nil"),          // the last wave waits for logoffs
        ([(.skipped, 0), (.rolledBack, 0), (.interrupted, 0)], 0, 1, false, true, "finish"),
        ([(.done, 0), (.pending, 2)], 1, 3, false, true, "wave 2"),      // an empty wave is through
    ] as [([(RolloutItem.Status, Int)], Int, Int, Bool, Bool, String)])
    func waveThrough(_ specs: [(RolloutItem.Status, Int)], wave: Int, waves: Int, waitingCounts: Bool, through: Bool, next: String) {
        let items = Self.items(specs)
        let status = { (item: RolloutItem) in item.status }
        let isThrough = RolloutWaves.isThrough(wave: wave, items: items, status: status,
                                               counts: { $0.isSettled || (waitingCounts && $0 == .waiting) })
        #expect(isThrough == through)
        guard through else { return }
        let after = RolloutWaves.next(after: wave, of: waves, items: items, status: status)
        let text = switch after {
        case .wave(let n): "wave \(n)"
        case .finish: "finish"
        case nil: "nil"
        }
        #expect(text == next)
    }

    @Test("the window: always without one; inside it only when it has one")
    func window() {
        #expect(Self.waves(total: 1).inWindow)
        let night = MaintenanceWindow(startMinute: 22 * 60, endMinute: 6 * 60)
        let strategy = RolloutStrategy(window: night)
        #expect(!Self.waves(strategy, total: 1).inWindow)                                     // 08:00
        #expect(Self.waves(strategy, total: 1, at: Self.now.addingTimeInterval(15 * 3600)).inWindow)  // 23:00
    }

    @Test("forced logoff: only with forceAfter, only for a warned user, once the grace period is over")
    func forcedLogoff() {
        let force = LogoffMode.forceAfter(seconds: 300, message: "Logging off in {minutes} minute(s).")
        #expect(!Self.waves(logoff: .waitForLogoff, total: 1).forceLogoffDue(warnedAt: Self.now.addingTimeInterval(-3600)))
        #expect(!Self.waves(logoff: force, total: 1).forceLogoffDue(warnedAt: nil))
        #expect(!Self.waves(logoff: force, total: 1).forceLogoffDue(warnedAt: Self.now.addingTimeInterval(-299)))
        #expect(Self.waves(logoff: force, total: 1).forceLogoffDue(warnedAt: Self.now.addingTimeInterval(-300)))
        #expect(Self.waves(logoff: force, total: 1).warning == "Logging off in 5 minute(s).")
        #expect(Self.waves(logoff: .forceAfter(seconds: 61, message: "{minutes}"), total: 1).warning == "2")
        #expect(Self.waves(logoff: .forceAfter(seconds: 10, message: "{minutes}"), total: 1).warning == "1")
        #expect(Self.waves(logoff: .waitForLogoff, total: 1).warning == nil)
    }
}

@Suite("RolloutItem.Target: versions and generations as values")
struct RolloutItemTargetTests {
    @Test("read back from their text and written the same", arguments: [
        ("v2", RolloutItem.Target.version(2)), ("v10", .version(10)), ("generation 3", .generation(3)),
        ("", .other("")), ("v", .other("v")), ("vx", .other("vx")), ("generation", .other("generation")), ("3", .other("3")),
    ])
    func parse(_ text: String, _ target: RolloutItem.Target) {
        #expect(RolloutItem.Target(text) == target)
        #expect(target.description == text)
        #expect(target.version == (text.hasPrefix("v") ? Int(text.dropFirst()) : nil))
    }
}
