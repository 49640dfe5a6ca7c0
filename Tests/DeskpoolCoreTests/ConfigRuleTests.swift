import DeskpoolCore
import Foundation
import Testing

/// `RolloutMachine.decide` with the config rule: the next steps of a ConfigPolicy rollout for its items, the
/// desktops' records and the pools' generations. Pure, so each decision is a row.
@Suite("RolloutMachine, the config rule: the steps of a configuration rollout")
struct ConfigRuleTests {
    /// 2027-01-15T08:00:00Z, a Friday.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Desktop `eng-00n` (id `dn`); a desktop in session has a session id unless `session` is false.
    static func desktop(_ n: Int, _ state: DesktopState, user: String? = nil, session: Bool = true, incarnation: Int = 1,
                        generation: Int = 2, reason: String? = nil) -> Desktop {
        Desktop(id: "d\(n)", name: "eng-00\(n)", pool: "eng", host: "a", template: "tiny", version: 1, state: state, reason: reason,
                user: user, incarnation: incarnation, generation: generation,
                sessionID: state.isInSession && user != nil && session ? "s\(n)" : nil, createdAt: now)
    }

    /// The item of desktop `eng-00n`, moving from generation 1 to `to`.
    static func item(_ n: Int, _ status: RolloutItem.Status, wave: Int = 0, method: PolicyPlan.Method? = .restart, to: Int = 2,
                     startedAt: Date? = nil, warnedAt: Date? = nil, incarnation: Int? = nil) -> RolloutItem {
        var item = RolloutItem(rollout: "r", desktopID: "d\(n)", desktop: "eng-00\(n)", pool: "eng", position: n - 1, wave: wave,
                               status: status, from: "generation 1", to: RolloutItem.Target.generation(to).description, method: method)
        item.startedAt = startedAt
        item.warnedAt = warnedAt
        item.incarnation = incarnation
        return item
    }

    static func limits(maxUnavailable: DesktopCount = .count(1), failureThreshold: DesktopCount = .count(1), gate: Int = 600,
                         window: MaintenanceWindow? = nil) -> RolloutStrategy {
        RolloutStrategy(maxUnavailable: maxUnavailable, window: window, healthGate: HealthGate(timeoutSeconds: gate), failureThreshold: failureThreshold)
    }

    /// The pool's generation is 2 (forward: items go to 2); a rollback restored the old spec as generation 3.
    static func input(_ items: [RolloutItem], _ desktops: [Desktop], state: Rollout.State = .running, wave: Int = 0, waves: Int = 1,
                      strategy: RolloutStrategy = limits(), logoff: LogoffMode = .waitForLogoff, generation: Int? = nil,
                      at: Date = now) -> RolloutMachine.Input {
        let rollout = Rollout(id: "r", policy: "eng-memory", kind: .config, source: "", state: state,
                              pools: [Rollout.PoolChange(pool: "eng", fromGeneration: 1, toGeneration: 2)], wave: wave, waves: waves,
                              createdAt: now, createdBy: "admin")
        return RolloutMachine.Input(
            rollout: rollout, rule: .config(generations: ["eng": generation ?? (state == .rollingBack ? 3 : 2)]), strategy: strategy,
            logoff: logoff, items: items, desktops: Dictionary(uniqueKeysWithValues: desktops.map { ($0.id, $0) }), now: at)
    }

    static func summary(_ action: RolloutMachine.Action) -> String { RolloutMachineSummary.line(action) }

    static func decide(_ input: RolloutMachine.Input) -> [String] {
        RolloutMachine.decide(input).map(summary)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let input: RolloutMachine.Input
        let expected: [String]
        var testDescription: String { name }
        init(_ name: String, _ input: RolloutMachine.Input, _ expected: [String]) {
            self.name = name
            self.input = input
            self.expected = expected
        }
    }

    static let force = LogoffMode.forceAfter(seconds: 300, message: "Logging off in {minutes} min")
    static let started = now.addingTimeInterval(-60)

    // MARK: - The rollout's state

    static let states: [Row] = [
        Row("completed: nothing", input([item(1, .pending)], [desktop(1, .ready)], state: .completed), []),
        Row("rolled back: nothing", input([item(1, .pending)], [desktop(1, .ready)], state: .rolledBack), []),
        Row("paused: no new desktop, but desktops under way are followed up",
            input([item(1, .pending), item(2, .inProgress, startedAt: started)], [desktop(1, .ready), desktop(2, .ready)], state: .paused),
            ["check eng-002"]),
        Row("halted: no new desktop, failures below the threshold do not halt again",
            input([item(1, .pending), item(2, .failed)], [desktop(1, .ready), desktop(2, .ready)], state: .halted), []),
        Row("cancelled: a desktop removed while under way is skipped, not rolled back",
            input([item(1, .inProgress, startedAt: started)], [], state: .cancelled), ["skipped eng-001: the desktop was removed by its pool"]),
        Row("cancelled: a pending desktop stays as it was",
            input([item(1, .pending)], [desktop(1, .ready)], state: .cancelled), []),
    ]

    // MARK: - Pending desktops (forward)

    static let pending: [Row] = [
        Row("idle, needs a restart: changed and restarted now", input([item(1, .pending)], [desktop(1, .ready)]), ["reconfigure eng-001 restart"]),
        Row("idle, a live change: changed, no restart", input([item(1, .pending, method: .live)], [desktop(1, .ready)]), ["reconfigure eng-001"]),
        Row("no method recorded: changed, no restart", input([item(1, .pending, method: nil)], [desktop(1, .ready)]), ["reconfigure eng-001"]),
        Row("off: changed, it starts with it", input([item(1, .pending)], [desktop(1, .off, user: "carol")]), ["reconfigure eng-001"]),
        Row("connected: changed now, restarted at logoff", input([item(1, .pending)], [desktop(1, .connected, user: "alice")]),
            ["reconfigure eng-001 at logoff"]),
        Row("disconnected: still in use", input([item(1, .pending)], [desktop(1, .disconnected, user: "alice")]),
            ["reconfigure eng-001 at logoff"]),
        Row("assigned with a session: in use", input([item(1, .pending)], [desktop(1, .assigned, user: "bob")]), ["reconfigure eng-001 at logoff"]),
        Row("assigned without a session (a dedicated desktop kept after logoff): restarted now",
            input([item(1, .pending)], [desktop(1, .assigned, user: "bob", session: false)]), ["reconfigure eng-001 restart"]),
        Row("in use with forceAfter: its user is warned, minutes rounded up",
            input([item(1, .pending)], [desktop(1, .connected, user: "alice")], logoff: .forceAfter(seconds: 90, message: "Logging off in {minutes} min")),
            ["reconfigure eng-001 at logoff warn: Logging off in 2 min"]),
        Row("in use, a live change: no waiting, no warning",
            input([item(1, .pending, method: .live)], [desktop(1, .connected, user: "alice")], logoff: force), ["reconfigure eng-001"]),
        Row("being started: left for a later pass", input([item(1, .pending)], [desktop(1, .starting)]), []),
        Row("being refreshed: left for a later pass", input([item(1, .pending)], [desktop(1, .refreshing)]), []),
        Row("failed before its turn: skipped", input([item(1, .pending)], [desktop(1, .failed, reason: "disk full")]),
            ["skipped eng-001: failed: the pool replaces it"]),
        Row("being deleted: skipped", input([item(1, .pending)], [desktop(1, .deleting)]), ["skipped eng-001: deleting: the pool replaces it"]),
        Row("later waves wait for theirs",
            input([item(1, .pending), item(2, .pending, wave: 1)], [desktop(1, .ready), desktop(2, .ready)], waves: 2),
            ["reconfigure eng-001 restart"]),
        Row("an earlier wave's desktop is still done once the next wave opens",
            input([item(1, .pending), item(2, .pending, wave: 1)], [desktop(1, .ready), desktop(2, .ready)], wave: 1, waves: 2,
                  strategy: limits(maxUnavailable: .count(2))),
            ["reconfigure eng-001 restart", "reconfigure eng-002 restart"]),
    ]

    // MARK: - Max unavailable

    static let unavailable: [Row] = [
        Row("one at a time by default",
            input([item(1, .pending), item(2, .pending), item(3, .pending)], [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready)]),
            ["reconfigure eng-001 restart"]),
        Row("50% of 3 is 2",
            input([item(1, .pending), item(2, .pending), item(3, .pending)], [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready)],
                  strategy: limits(maxUnavailable: .percent(50))),
            ["reconfigure eng-001 restart", "reconfigure eng-002 restart"]),
        Row("0 still lets one through",
            input([item(1, .pending), item(2, .pending)], [desktop(1, .ready), desktop(2, .ready)], strategy: limits(maxUnavailable: .count(0))),
            ["reconfigure eng-001 restart"]),
        Row("a desktop restarting counts",
            input([item(1, .inProgress, startedAt: started), item(2, .pending)], [desktop(1, .restarting), desktop(2, .ready)]), []),
        Row("a desktop back in service does not count",
            input([item(1, .inProgress, startedAt: started), item(2, .pending)], [desktop(1, .ready), desktop(2, .ready)]),
            ["check eng-001", "reconfigure eng-002 restart"]),
        Row("live changes are not bounded",
            input([item(1, .pending, method: .live), item(2, .pending, method: .live), item(3, .pending, method: .live)],
                  [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready)]),
            ["reconfigure eng-001", "reconfigure eng-002", "reconfigure eng-003"]),
        Row("desktops in use and off are not bounded",
            input([item(1, .pending), item(2, .pending), item(3, .pending), item(4, .pending)],
                  [desktop(1, .connected, user: "alice"), desktop(2, .off, user: "bob"), desktop(3, .ready), desktop(4, .ready)]),
            ["reconfigure eng-001 at logoff", "reconfigure eng-002", "reconfigure eng-003 restart"]),
    ]

    // MARK: - Waves and the end

    static let waves: [Row] = [
        Row("a settled wave opens the next",
            input([item(1, .done), item(2, .skipped), item(3, .pending, wave: 1)], [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready)], waves: 2),
            ["wave 1"]),
        Row("a desktop waiting for its user's logoff does not hold the next wave",
            input([item(1, .done), item(2, .waiting), item(3, .pending, wave: 1)],
                  [desktop(1, .ready), desktop(2, .connected, user: "alice"), desktop(3, .ready)], waves: 2),
            ["wave 1"]),
        Row("a desktop under way holds the wave",
            input([item(1, .done), item(2, .inProgress, startedAt: started), item(3, .pending, wave: 1)],
                  [desktop(1, .ready), desktop(2, .starting), desktop(3, .ready)], waves: 2),
            []),
        Row("the last wave settled: completed",
            input([item(1, .done), item(2, .skipped, wave: 1), item(3, .interrupted, wave: 1)], [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready)],
                  wave: 1, waves: 2),
            ["finish completed"]),
        Row("the last wave with a desktop waiting: not completed",
            input([item(1, .done), item(2, .waiting)], [desktop(1, .ready), desktop(2, .connected, user: "alice")]), []),
        Row("what the follow-up settles counts for the wave in the same pass",
            input([item(1, .inProgress, startedAt: started), item(2, .pending, wave: 1)], [desktop(2, .ready)], waves: 2),
            ["skipped eng-001: the desktop was removed by its pool", "wave 1"]),
        Row("a settled last item completes in the same pass",
            input([item(1, .done), item(2, .inProgress, startedAt: started)], [desktop(1, .ready)]),
            ["skipped eng-002: the desktop was removed by its pool", "finish completed"]),
    ]

    // MARK: - Failures and the health gate

    static let failures: [Row] = [
        Row("one failed desktop halts by default",
            input([item(1, .failed), item(2, .pending)], [desktop(1, .ready), desktop(2, .ready)]), ["halt: 1 desktop(s) failed (threshold 1)"]),
        Row("a desktop failed while under way: failed with its reason, then the halt",
            input([item(1, .inProgress, startedAt: started), item(2, .pending)], [desktop(1, .failed, reason: "guest did not become ready"), desktop(2, .ready)]),
            ["failed eng-001: guest did not become ready", "halt: 1 desktop(s) failed (threshold 1)"]),
        Row("failed without a reason",
            input([item(1, .waiting), item(2, .pending)], [desktop(1, .failed), desktop(2, .ready)]),
            ["failed eng-001: the desktop failed", "halt: 1 desktop(s) failed (threshold 1)"]),
        Row("below the threshold the rollout goes on",
            input([item(1, .failed), item(2, .pending), item(3, .pending)], [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready)],
                  strategy: limits(failureThreshold: .count(2))),
            ["reconfigure eng-002 restart"]),
        Row("50% of 4 is 2",
            input([item(1, .failed), item(2, .failed), item(3, .pending), item(4, .pending)],
                  [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready), desktop(4, .ready)], strategy: limits(failureThreshold: .percent(50))),
            ["halt: 2 desktop(s) failed (threshold 2)"]),
        Row("a threshold of 0 is 1",
            input([item(1, .failed), item(2, .pending)], [desktop(1, .ready), desktop(2, .ready)], strategy: limits(failureThreshold: .count(0))),
            ["halt: 1 desktop(s) failed (threshold 1)"]),
        Row("restarting at the health gate's limit: still waited for",
            input([item(1, .inProgress, startedAt: now.addingTimeInterval(-600))], [desktop(1, .starting)]), []),
        Row("restarting past the health gate: failed",
            input([item(1, .inProgress, startedAt: now.addingTimeInterval(-601)), item(2, .pending, wave: 1)], [desktop(1, .starting), desktop(2, .ready)], waves: 2),
            ["failed eng-001: not healthy within 600 s after its restart (still starting)", "halt: 1 desktop(s) failed (threshold 1)"]),
        Row("the gate's own timeout; a threshold above the rollout's size is its size",
            input([item(1, .inProgress, startedAt: now.addingTimeInterval(-61))], [desktop(1, .restarting)], strategy: limits(failureThreshold: .count(5), gate: 60)),
            ["failed eng-001: not healthy within 60 s after its restart (still restarting)", "halt: 1 desktop(s) failed (threshold 1)"]),
        Row("back in service after its restart: checked", input([item(1, .inProgress, startedAt: started)], [desktop(1, .ready)]), ["check eng-001"]),
        Row("assigned after its restart (its user came back): checked",
            input([item(1, .inProgress, startedAt: started)], [desktop(1, .assigned, user: "bob")]), ["check eng-001"]),
    ]

    // MARK: - Interrupted items (claimed, never written: the broker stopped)

    static let interrupted: [Row] = [
        Row("claimed, idle: changed again and restarted", input([item(1, .inProgress)], [desktop(1, .ready)]), ["reconfigure eng-001 restart"]),
        Row("claimed, in use: changed again, restarted at logoff",
            input([item(1, .inProgress)], [desktop(1, .connected, user: "alice")], logoff: force),
            ["reconfigure eng-001 at logoff warn: Logging off in 5 min"]),
        Row("claimed, a live change: changed again", input([item(1, .inProgress, method: .live)], [desktop(1, .ready)]), ["reconfigure eng-001"]),
        Row("claimed, the desktop since failed: failed, not changed again",
            input([item(1, .inProgress)], [desktop(1, .failed, reason: "host lost")]), ["failed eng-001: host lost", "halt: 1 desktop(s) failed (threshold 1)"]),
        Row("claimed, the desktop already restarting: left alone", input([item(1, .inProgress)], [desktop(1, .restarting)]), []),
        Row("claimed, interrupted ones count as unavailable only once out of service",
            input([item(1, .inProgress), item(2, .inProgress)], [desktop(1, .ready), desktop(2, .ready)]), ["reconfigure eng-001 restart"]),
    ]

    // MARK: - Desktops waiting for their user's logoff

    static let waiting: [Row] = [
        Row("still in use: nothing", input([item(1, .waiting, incarnation: 1)], [desktop(1, .connected, user: "alice")]), []),
        Row("its user logged off (same incarnation): restarted",
            input([item(1, .waiting, incarnation: 1)], [desktop(1, .ready)]), ["restart eng-001"]),
        Row("a dedicated desktop kept after logoff: restarted",
            input([item(1, .waiting, incarnation: 1)], [desktop(1, .assigned, user: "bob", session: false)]), ["restart eng-001"]),
        Row("no incarnation recorded: restarted",
            input([item(1, .waiting)], [desktop(1, .ready)]), ["restart eng-001"]),
        Row("restarts are bounded by max unavailable",
            input([item(1, .waiting, incarnation: 1), item(2, .waiting, incarnation: 1)], [desktop(1, .ready), desktop(2, .ready)]), ["restart eng-001"]),
        Row("refreshed at logoff with the new settings: checked, not restarted",
            input([item(1, .waiting, incarnation: 1)], [desktop(1, .ready, incarnation: 2, generation: 2)]), ["check eng-001"]),
        Row("refreshed at logoff, in use again with the new settings: checked",
            input([item(1, .waiting, incarnation: 1)], [desktop(1, .connected, user: "dan", incarnation: 2, generation: 2)]), ["check eng-001"]),
        Row("refreshed, but on an older generation: neither checked nor restarted",
            input([item(1, .waiting, incarnation: 1)], [desktop(1, .ready, incarnation: 2, generation: 1)]), []),
        Row("being refreshed: nothing yet", input([item(1, .waiting, incarnation: 1)], [desktop(1, .refreshing)]), []),
        Row("forceAfter: not before the grace period",
            input([item(1, .waiting, warnedAt: now.addingTimeInterval(-299), incarnation: 1)], [desktop(1, .connected, user: "alice")], logoff: force), []),
        Row("forceAfter: logged off when the grace period is over",
            input([item(1, .waiting, warnedAt: now.addingTimeInterval(-300), incarnation: 1)], [desktop(1, .disconnected, user: "alice")], logoff: force),
            ["logoff eng-001"]),
        Row("forceAfter: never warned, never logged off",
            input([item(1, .waiting, incarnation: 1)], [desktop(1, .connected, user: "alice")], logoff: force), []),
        Row("waitForLogoff never forces",
            input([item(1, .waiting, warnedAt: now.addingTimeInterval(-9999), incarnation: 1)], [desktop(1, .connected, user: "alice")]), []),
    ]

    // MARK: - Maintenance window

    static let window: [Row] = [
        Row("outside the window: only follow-ups",
            input([item(1, .inProgress, startedAt: started), item(2, .pending), item(3, .waiting, incarnation: 1)],
                  [desktop(3, .ready), desktop(2, .ready)], strategy: limits(window: MaintenanceWindow(startMinute: 22 * 60, endMinute: 6 * 60))),
            ["skipped eng-001: the desktop was removed by its pool"]),
        Row("inside the window: new desktops start",
            input([item(1, .pending)], [desktop(1, .ready)], strategy: limits(window: MaintenanceWindow(startMinute: 7 * 60, endMinute: 9 * 60))),
            ["reconfigure eng-001 restart"]),
        Row("outside the window on the days it is open",
            input([item(1, .pending)], [desktop(1, .ready)],
                  strategy: limits(window: MaintenanceWindow(days: [.sat, .sun], startMinute: 7 * 60, endMinute: 9 * 60))),
            []),
    ]

    // MARK: - Rollback (the pools' old specs restored as generation 3)

    static let rollback: [Row] = [
        Row("a changed idle desktop: changed back and restarted",
            input([item(1, .done)], [desktop(1, .ready)], state: .rollingBack), ["reconfigure eng-001 restart"]),
        Row("a changed desktop in use: at logoff, without a warning",
            input([item(1, .done)], [desktop(1, .connected, user: "alice")], state: .rollingBack, logoff: force), ["reconfigure eng-001 at logoff"]),
        Row("a desktop waiting for its logoff: changed back, still at logoff",
            input([item(1, .waiting, incarnation: 1)], [desktop(1, .connected, user: "alice")], state: .rollingBack), ["reconfigure eng-001 at logoff"]),
        Row("a live change: changed back live",
            input([item(1, .done, method: .live)], [desktop(1, .ready)], state: .rollingBack), ["reconfigure eng-001"]),
        Row("a failed desktop is taken back too, and failures do not halt a rollback",
            input([item(1, .failed), item(2, .failed)], [desktop(1, .ready), desktop(2, .off, user: "bob")], state: .rollingBack),
            ["reconfigure eng-001 restart", "reconfigure eng-002"]),
        Row("a pending desktop was never changed: skipped",
            input([item(1, .pending, wave: 1)], [desktop(1, .ready)], state: .rollingBack), ["skipped eng-001: not changed: the rollout was rolled back"]),
        Row("every wave at once, restarts still bounded",
            input([item(1, .done), item(2, .done, wave: 1), item(3, .done, wave: 2)], [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready)],
                  state: .rollingBack, waves: 3),
            ["reconfigure eng-001 restart"]),
        Row("a changed desktop that failed since: skipped, the pool replaces it",
            input([item(1, .done)], [desktop(1, .failed)], state: .rollingBack), ["skipped eng-001: failed: the pool replaces it"]),
        Row("a desktop still restarting into the forward change: waited for",
            input([item(1, .inProgress, startedAt: started)], [desktop(1, .restarting)], state: .rollingBack), []),
        Row("back and healthy after its restart: checked",
            input([item(1, .rollingBack, to: 3, startedAt: started)], [desktop(1, .ready)], state: .rollingBack), ["check eng-001"]),
        Row("claimed for the rollback, never written: changed back again",
            input([item(1, .rollingBack)], [desktop(1, .ready)], state: .rollingBack), ["reconfigure eng-001 restart"]),
        Row("removed while being taken back: rolled back",
            input([item(1, .rollingBack, to: 3, startedAt: started)], [], state: .rollingBack),
            ["rolledBack eng-001: the desktop was removed by its pool", "finish rolledBack"]),
        Row("not healthy after its restart back: failed, and the rollback is over",
            input([item(1, .rollingBack, to: 3, startedAt: now.addingTimeInterval(-601))], [desktop(1, .starting)], state: .rollingBack),
            ["failed eng-001: not healthy within 600 s after its restart (still starting)", "finish rolledBack"]),
        Row("every item rolled back, skipped, or failed on the restored generation: rolled back",
            input([item(1, .rolledBack, to: 3), item(2, .skipped), item(3, .failed, to: 3)], [desktop(1, .ready), desktop(2, .ready), desktop(3, .ready)],
                  state: .rollingBack),
            ["finish rolledBack"]),
        Row("a failed item still on the rollout's generation holds the end",
            input([item(1, .rolledBack, to: 3), item(2, .failed)], [desktop(1, .ready), desktop(2, .starting)], state: .rollingBack), []),
    ]

    @Test("the rollout's state decides what may happen", arguments: states)
    func state(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("pending desktops: how each is changed", arguments: pending)
    func pendingDesktops(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("max unavailable bounds the restarts", arguments: unavailable)
    func maxUnavailable(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("waves open when settled; the last one completes the rollout", arguments: waves)
    func wavesAndEnd(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("failures, the threshold and the health gate", arguments: failures)
    func failuresAndGate(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("items claimed but never written are done again", arguments: interrupted)
    func interruptedItems(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("desktops waiting for their user's logoff", arguments: waiting)
    func waitingDesktops(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("the maintenance window", arguments: window)
    func maintenanceWindow(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("a rollback takes every changed desktop back", arguments: rollback)
    func rollingBack(_ row: Row) { #expect(Self.decide(row.input) == row.expected) }

    @Test("the generation an item moves to is named for the store")
    func target() {
        #expect(RolloutItem.Target.generation(7).description == "generation 7")
    }

    // MARK: - Items that once never settled (found by these tables; each failed before its fix)

    @Test("a pending desktop removed by its pool before its turn is settled (the rollout would never complete)")
    func pendingDesktopRemoved() {
        // A ConfigPolicy that lowers `spare` takes effect at once and the reconciler retires the
        // extra ready desktops, pending items among them: they are skipped, as the update rule
        // does (before, the wave never settled).
        let actions = Self.decide(Self.input([Self.item(1, .done), Self.item(2, .pending)], [Self.desktop(1, .ready)]))
        #expect(actions == ["skipped eng-002: the desktop was removed by its pool", "finish completed"])
    }

    @Test("a changed desktop removed before the rollback reaches it is settled (the rollback would never finish)")
    func rolledBackDesktopRemoved() {
        let actions = Self.decide(Self.input([Self.item(1, .done), Self.item(2, .rolledBack, to: 3)], [Self.desktop(2, .ready)], state: .rollingBack))
        #expect(actions.contains { $0.hasPrefix("rolledBack eng-001: ") || $0.hasPrefix("skipped eng-001: ") }, "\(actions)")
    }

    @Test("a waiting desktop shut down at its user's logoff is done (it starts with its changed definition), not restarted for ever")
    func waitingDesktopOff() {
        // A dedicated pool with `logoffAction: shutdown`: at logoff the desktop goes off; its
        // definition already changed, so it starts with it: the item is done. (Before, the
        // machine asked for `.restart` on every pass, which RolloutService makes only for ready
        // or assigned desktops: the item stayed waiting and the rollout never completed.)
        let actions = Self.decide(Self.input([Self.item(1, .waiting, incarnation: 1)], [Self.desktop(1, .off, user: "bob")]))
        #expect(actions == ["done eng-001: off since its user's logoff: it starts with its changed definition"], "\(actions)")
    }

    @Test("a dedicated desktop rolled back at logoff is restarted once its user logs off")
    func rollbackWaitingForLogoff() {
        // In a rollback, RolloutService records a desktop changed back while in use as
        // `rollingBack` with no startedAt (not `waiting`), and its item's `to` is the restored
        // generation: it waits for the logoff as a forward `waiting` item does, then restarts. (A
        // floating desktop is refreshed at logoff, a new incarnation, and checked; before, a
        // dedicated one kept its incarnation and was never restarted: the rollback never ended.)
        let actions = Self.decide(Self.input([Self.item(1, .rollingBack, to: 3, incarnation: 1)],
                                             [Self.desktop(1, .assigned, user: "bob", session: false, generation: 3)], state: .rollingBack))
        #expect(actions == ["restart eng-001"])
    }
}
