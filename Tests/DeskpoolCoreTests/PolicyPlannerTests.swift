@testable import DeskpoolCore
import Foundation
import Testing

/// `PolicyPlanner`: which pools and desktops a policy takes, how each change reaches a
/// desktop, its wave and what its user notices. Every planner function is pure (its input
/// carries the store's records and libvirt's facts as values), so all of it is tested here.
@Suite("PolicyPlanner: what applying a policy would do")
struct PolicyPlannerTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let template = TemplateDefinition(name: "tiny", vcpus: 2, memoryMiB: 2048, domainXML: "<domain/>")

    static func version(_ number: Int, published: Bool = true) -> TemplateVersion {
        TemplateVersion(template: "tiny", number: number, volume: "dp-base-tiny-v\(number).qcow2", note: "", createdAt: now, createdBy: "admin",
                        published: published)
    }

    static func pool(_ name: String = "eng", version: PoolSpec.VersionChoice = .latest, assignment: PoolSpec.Assignment = .floating,
                     labels: [String: String] = [:]) -> PoolSpec {
        PoolSpec(name: name, template: "tiny", version: version, assignment: assignment, labels: labels)
    }

    static func desktop(_ name: String, _ state: DesktopState, user: String? = nil, version: Int = 1, targetVersion: Int? = nil,
                        pool: String = "eng", generation: Int = 1) -> Desktop {
        Desktop(id: "id-\(name)", name: name, pool: pool, host: "a", template: "tiny", version: version, state: state, user: user,
                generation: generation, targetVersion: targetVersion, createdAt: now)
    }

    static func plan(_ spec: Policy.Spec, pools: [PoolSpec] = [pool()], versions: [TemplateVersion] = [version(1), version(2)],
                     desktops: [Desktop], facts: [String: DesktopFacts] = [:]) throws -> PolicyPlan {
        try PolicyPlanner.plan(PolicyPlanner.Input(policy: Policy(name: "p", spec: spec), pools: pools, versions: ["tiny": versions],
                                                   templates: ["tiny": template], desktops: desktops, facts: facts, now: now))
    }

    /// One line per desktop: name, wave (or "skip"), method, changes, impact and why skipped.
    static func summary(_ change: PolicyPlan.DesktopChange) -> String {
        let wave = change.wave.map { "w\($0)" } ?? "skip"
        let changes = change.changes.isEmpty ? "" : " [\(change.changes.joined(separator: "; "))]"
        return "\(change.desktop) \(wave) \(change.method.rawValue)\(changes) | \(change.skipped?.description ?? change.impact)"
    }

    // MARK: - Pools

    @Test("a selector picks pools by name and by labels, sorted, never a draining one")
    func selectedPools() throws {
        var draining = Self.pool("old", labels: ["team": "eng"])
        draining.draining = true
        let pools = [Self.pool("ops"), Self.pool("eng-b", labels: ["team": "eng", "os": "fedora"]), Self.pool("eng-a", labels: ["team": "eng"]), draining]
        func names(_ selector: PoolSelector) throws -> [String] { try PolicyPlanner.selectedPools(selector, among: pools).map(\.name) }
        #expect(try names(PoolSelector(pools: ["ops"])) == ["ops"])
        #expect(try names(PoolSelector(labels: ["team": "eng"])) == ["eng-a", "eng-b"])
        #expect(try names(PoolSelector(labels: ["team": "eng", "os": "fedora"])) == ["eng-b"])
        #expect(try names(PoolSelector(pools: ["ops"], labels: ["os": "fedora"])) == ["eng-b", "ops"])
        let missing = #expect(throws: DeskpoolError.self) { try names(PoolSelector(pools: ["ops", "nope"])) }
        #expect(missing?.field == "spec.selector.pools" && missing?.message == "pool nope does not exist")
        let none = #expect(throws: DeskpoolError.self) { try names(PoolSelector(labels: ["team": "sales"])) }
        #expect(none?.field == "spec.selector" && none?.message == "the selector matches no pool")
        let onlyDraining = #expect(throws: DeskpoolError.self) { try names(PoolSelector(pools: ["old"])) }
        #expect(onlyDraining?.message == "the selector matches no pool")
    }

    // MARK: - Waves

    @Test("waves: the canary first, then waves of waveSize", arguments: [
        (0, .count(1), .percent(25), []),
        (1, .count(1), .percent(25), [0]),
        (5, .count(1), .percent(25), [0, 1, 1, 2, 2]),
        (4, .count(0), .count(2), [0, 0, 1, 1]),
        (5, .count(0), .count(2), [0, 0, 1, 1, 2]),
        (3, .count(5), .count(1), [0, 0, 0]),
        (3, .count(1), .count(0), [0, 1, 2]),
        (10, .percent(10), .percent(50), [0, 1, 1, 1, 1, 1, 2, 2, 2, 2]),
        (4, .count(2), .percent(100), [0, 0, 1, 1]),
    ] as [(Int, DesktopCount, DesktopCount, [Int])])
    func waves(count: Int, canary: DesktopCount, waveSize: DesktopCount, expected: [Int]) {
        #expect(PolicyPlanner.assignWaves(count: count, strategy: RolloutStrategy(canary: canary, waveSize: waveSize)) == expected)
    }

    // MARK: - UpdatePolicy

    @Test("the version a pool moves to, or why none", arguments: [
        (PoolSpec.VersionChoice.latest, [1, 2, 3], 3),
        (.latest, [1, 2], 2),
        (.pinned(2), [1, 2, 3], 2),
    ])
    func targetVersion(choice: PoolSpec.VersionChoice, published: [Int], expected: Int) throws {
        let versions = published.map { Self.version($0) } + [Self.version(9, published: false)]
        #expect(try PolicyPlanner.targetVersion(choice, for: Self.pool(version: .pinned(1)), among: versions).number == expected)
    }

    @Test("a version that is not published is refused, naming the pool and the field")
    func targetVersionMissing() {
        let error = #expect(throws: DeskpoolError.self) {
            try PolicyPlanner.targetVersion(.pinned(9), for: Self.pool(), among: [Self.version(1), Self.version(9, published: false)])
        }
        #expect(error?.field == "spec.version")
        #expect(error?.message == "pool eng: template tiny has no published version 9")
    }

    @Test("the version a pool moves from", arguments: [
        // Pinned: its pin.
        ("pinned", .pinned(2), [1, 2, 3], [3, 3], 3, 2),
        // Latest: the newest its desktops run below the target ...
        ("latest, desktops behind", .latest, [1, 2, 3], [1, 2, 3], 3, 2),
        ("latest, one desktop behind", .latest, [1, 2, 3], [1, 3], 3, 1),
        // ... else the newest published version below the target ...
        ("latest, every desktop on the target", .latest, [1, 2, 3], [3], 3, 2),
        ("latest, no desktops", .latest, [1, 2, 3], [], 3, 2),
        // ... else the pool's current version, or none.
        ("latest, the target is the only version", .latest, [3], [], 3, 3),
        ("latest, no versions", .latest, [], [], 3, nil),
    ] as [(String, PoolSpec.VersionChoice, [Int], [Int], Int, Int?)])
    func startingVersion(name: String, choice: PoolSpec.VersionChoice, published: [Int], running: [Int], target: Int, expected: Int?) {
        let desktops = running.enumerated().map { Self.desktop("eng-00\($0.offset + 1)", .ready, version: $0.element) }
            + [Self.desktop("ops-001", .ready, version: 1, pool: "ops")]  // another pool's desktops do not count
        let from = PolicyPlanner.startingVersion(of: Self.pool(version: choice), target: target, versions: published.map { Self.version($0) },
                                                 desktops: desktops)
        #expect(from == expected, "\(name)")
    }

    @Test("who holds user data: a dedicated desktop with a user", arguments: [
        (PoolSpec.Assignment.dedicated, "bob" as String?, true),
        (.dedicated, nil, false),
        (.floating, "alice", false),
        (.floating, nil, false),
    ])
    func holdsUserData(assignment: PoolSpec.Assignment, user: String?, expected: Bool) {
        #expect(PolicyPlanner.holdsUserData(Self.desktop("eng-001", .assigned, user: user), in: Self.pool(assignment: assignment)) == expected)
    }

    static let force = LogoffMode.forceAfter(seconds: 300, message: "bye")

    @Test("an update per desktop: included or skipped and why, and the impact", arguments: [
        ("idle", PoolSpec.Assignment.floating, desktop("eng-001", .ready), LogoffMode.waitForLogoff, DedicatedUpdate.keep,
         "eng-001 w0 refresh [version v1 -> v2] | none: idle; out of service while it is cloned again"),
        ("off, no user data", .floating, desktop("eng-001", .off), .waitForLogoff, .keep,
         "eng-001 w0 refresh [version v1 -> v2] | none: it is off; it is refreshed now and stays off its user's until they open it"),
        ("in use, wait", .floating, desktop("eng-001", .connected, user: "alice"), .waitForLogoff, .keep,
         "eng-001 w0 refresh [version v1 -> v2] | alice: nothing now; the desktop is refreshed after they log off"),
        ("in use, forced", .floating, desktop("eng-001", .disconnected, user: "alice"), force, .keep,
         "eng-001 w0 refresh [version v1 -> v2] | alice: warned on the desktop when its wave starts, logged off 5 min later, then refreshed"),
        ("already on the target", .floating, desktop("eng-001", .ready, version: 2), .waitForLogoff, .keep,
         "eng-001 skip none | already on v2"),
        ("on the target but marked for another version (a rollback under way)", .floating, desktop("eng-001", .ready, version: 2, targetVersion: 1),
         .waitForLogoff, .keep, "eng-001 w0 refresh [version v2 -> v2] | none: idle; out of service while it is cloned again"),
        ("failed", .floating, desktop("eng-001", .failed), .waitForLogoff, .keep,
         "eng-001 skip none | failed: the pool replaces it with a desktop on its current version"),
        ("deleting", .floating, desktop("eng-001", .deleting), .waitForLogoff, .keep,
         "eng-001 skip none | deleting: the pool replaces it with a desktop on its current version"),
        ("dedicated with a user, keep", .dedicated, desktop("eng-001", .ready, user: "bob"), .waitForLogoff, .keep,
         "eng-001 skip none | \(DedicatedUpdate.keptReason)"),
        ("dedicated without a user: no data to keep", .dedicated, desktop("eng-001", .ready), .waitForLogoff, .keep,
         "eng-001 w0 refresh [version v1 -> v2] | none: idle; out of service while it is cloned again"),
        ("dedicated with a user, replace, idle", .dedicated, desktop("eng-001", .ready, user: "bob"), .waitForLogoff, .replace,
         "eng-001 w0 refresh [version v1 -> v2] | destroys user data: bob's disk is replaced by a clone of the new version now"),
        ("dedicated with a user, replace, in use, forced", .dedicated, desktop("eng-001", .connected, user: "bob"), LogoffMode.forceAfter(seconds: 7200, message: "bye"), .replace,
         "eng-001 w0 refresh [version v1 -> v2] | destroys user data: bob is warned when its wave starts and logged off 2 h later; then bob's disk is replaced by a clone of the new version"),
        ("dedicated and failed: the failure is the reason", .dedicated, desktop("eng-001", .failed, user: "bob"), .waitForLogoff, .keep,
         "eng-001 skip none | failed: the pool replaces it with a desktop on its current version"),
    ] as [(String, PoolSpec.Assignment, Desktop, LogoffMode, DedicatedUpdate, String)])
    func update(name: String, assignment: PoolSpec.Assignment, desktop: Desktop, logoff: LogoffMode, dedicated: DedicatedUpdate, expected: String) throws {
        let spec = UpdatePolicySpec(selector: PoolSelector(pools: ["eng"]), version: .latest, logoff: logoff, dedicated: dedicated)
        let plan = try Self.plan(.update(spec), pools: [Self.pool(assignment: assignment)], desktops: [desktop])
        #expect(plan.desktops.map(Self.summary) == [expected], "\(name)")
        #expect(plan.waves == (plan.included.isEmpty ? 0 : 1))
        #expect(plan.desktops.first?.from == "v\(desktop.version)" && plan.desktops.first?.to == "v2")
    }

    @Test("an update's order: idle desktops first, then those in use, by pool and name; skipped ones last; the canary leads")
    func updateOrder() throws {
        let spec = UpdatePolicySpec(selector: PoolSelector(labels: ["team": "eng"]), version: .pinned(2),
                                    strategy: RolloutStrategy(canary: .count(1), waveSize: .count(2)))
        let pools = [Self.pool("b-pool", labels: ["team": "eng"]), Self.pool("a-pool", version: .pinned(1), labels: ["team": "eng"]), Self.pool("ops")]
        let desktops = [
            Self.desktop("b-001", .connected, user: "alice", pool: "b-pool"),
            Self.desktop("b-002", .ready, pool: "b-pool"),
            Self.desktop("a-002", .ready, version: 2, pool: "a-pool"),
            Self.desktop("a-001", .assigned, user: "bob", pool: "a-pool"),
            Self.desktop("a-003", .off, pool: "a-pool"),
            Self.desktop("b-000", .failed, pool: "b-pool"),
            Self.desktop("ops-001", .ready, pool: "ops"),
        ]
        let plan = try Self.plan(.update(spec), pools: pools, desktops: desktops)
        #expect(plan.desktops.map { "\($0.desktop) \($0.wave.map(String.init) ?? "-")" } == [
            "a-003 0", "b-002 1", "a-001 1", "b-001 2", "a-002 -", "b-000 -",
        ])
        #expect(plan.waves == 3)
        #expect(plan.kind == .update && plan.policy == "p")
        #expect(plan.pools == [
            PolicyPlan.PoolChange(pool: "a-pool", changes: ["version v1 -> v2 (the pool is pinned to v2 once the first wave passes its gate)"]),
            PolicyPlan.PoolChange(pool: "b-pool", changes: ["version v1 -> v2 (the pool is pinned to v2 once the first wave passes its gate)"]),
        ])
    }

    @Test("durations in impacts", arguments: [
        (0, "0 s"), (59, "59 s"), (60, "1 min"), (90, "90 s"), (300, "5 min"), (3600, "1 h"), (5400, "90 min"), (7200, "2 h"), (3601, "3601 s"),
    ])
    func durations(seconds: Int, text: String) {
        #expect(PolicyPlanner.durationText(seconds) == text)
    }

    // MARK: - ConfigPolicy

    static let base = DesktopHardware(vcpus: 2, memoryMiB: 2048)

    static func hardware(_ change: (inout DesktopHardware) -> Void) -> DesktopHardware {
        var hardware = base
        change(&hardware)
        return hardware
    }

    static func definition(_ hardware: DesktopHardware, maxMemoryMiB: Int? = nil) -> DefinitionFacts {
        DefinitionFacts(memoryMiB: hardware.memoryMiB, maxMemoryMiB: maxMemoryMiB ?? hardware.memoryMiB, vcpus: hardware.vcpus, hardware: hardware,
                        channels: [], disks: [], console: nil)
    }

    /// libvirt's facts: the persistent definition, and the live one (nil: not running).
    static func facts(_ persistent: DesktopHardware, live: DesktopHardware?, liveMax: Int? = nil) -> DesktopFacts {
        DesktopFacts(identity: nil, persistent: definition(persistent), live: live.map { definition($0, maxMemoryMiB: liveMax) })
    }

    @Test("how a hardware change reaches a desktop", arguments: [
        // Anything but memory: at the next start.
        ("vcpus", 4096, facts(base, live: base, liveMax: 8192), PolicyPlan.Method.restart),
        ("usbRedirection", 2048, facts(base, live: base), .restart),
        // Memory within the running guest's maximum: live.
        ("memoryMiB", 4096, facts(base, live: base, liveMax: 8192), .live),
        ("memoryMiB", 8192, facts(base, live: base, liveMax: 8192), .live),
        ("memoryMiB", 1024, facts(base, live: base), .live),
        // Above it, or not running, or unknown: at the next start.
        ("memoryMiB", 8193, facts(base, live: base, liveMax: 8192), .restart),
        ("memoryMiB", 1024, facts(base, live: nil), .restart),
        ("memoryMiB", 1024, nil, .restart),
    ] as [(String, Int, DesktopFacts?, PolicyPlan.Method)])
    func method(setting: String, memoryMiB: Int, facts: DesktopFacts?, expected: PolicyPlan.Method) {
        let to = Self.hardware { $0.memoryMiB = memoryMiB }
        #expect(PolicyPlanner.method(of: setting, from: Self.base, to: to, facts: facts) == expected)
    }

    @Test("the hardware settings compared, with old and new values")
    func differences() {
        let other = DesktopHardware(vcpus: 4, memoryMiB: 4096, monitors: 2, audio: true, clipboard: false, streaming: .all, compression: .quic,
                                    usbRedirection: true, smartcard: true)
        let found = PolicyPlanner.differences(Self.base, other).map { "\($0.0) \($0.1) -> \($0.2)" }
        #expect(found == [
            "vcpus 2 -> 4", "memoryMiB 2048 -> 4096", "monitors 1 -> 2", "audio false -> true", "clipboard true -> false",
            "streaming filter -> all", "compression auto_glz -> quic", "usbRedirection false -> true", "smartcard false -> true",
        ])
        #expect(PolicyPlanner.differences(Self.base, Self.base).isEmpty)
        #expect(PolicyPlanner.differences(Self.base, Self.hardware { $0.monitors = 3 }).map(\.0) == ["monitors"])
    }

    @Test("pool-level changes of a ConfigPolicy")
    func poolLevelChanges() {
        let old = Self.pool()
        var new = old
        #expect(PolicyPlanner.poolLevelChanges(old, new).isEmpty)
        new.spare = 3
        new.max = 20
        new.console.usbRedirection = true
        new.session.disconnectTimeoutSeconds += 60
        new.desktop.memoryMiB = 4096
        #expect(PolicyPlanner.poolLevelChanges(old, new) == [
            "sizes min 0 max 10 spare 1 -> min 0 max 20 spare 3 (at once)",
            "console policy (live: the next console request and the gateway)",
            "session policy (live: the next session review)",
            "desktop settings (new and refreshed desktops get them; existing ones below)",
        ])
    }

    /// The pool gives 2 vCPUs and 2048 MiB (the template's); `set` is the policy's `set.desktop`.
    static func configPlan(_ set: DesktopSettings, desktop: Desktop, facts: DesktopFacts?, logoff: LogoffMode) throws -> [String] {
        let spec = ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), desktop: set, logoff: logoff)
        return try plan(.config(spec), desktops: [desktop], facts: facts.map { [desktop.name: $0] } ?? [:]).desktops.map(summary)
    }

    static let running = facts(base, live: base, liveMax: 4096)

    @Test("a configuration change per desktop: method, changes and impact", arguments: [
        ("more memory within the running maximum: live", DesktopSettings(memoryMiB: 3072), desktop("eng-001", .connected, user: "alice"), running,
         LogoffMode.waitForLogoff, "eng-001 w0 live [memoryMiB 2048 -> 3072 (live)] | none: changed while it runs"),
        ("more memory than the running maximum, in use: at the next restart", DesktopSettings(memoryMiB: 8192), desktop("eng-001", .connected, user: "alice"),
         running, .waitForLogoff,
         "eng-001 w0 restart [memoryMiB 2048 -> 8192 (at next restart)] | alice: nothing now; the definition changes now and the rest takes effect at the next restart (after they log off)"),
        ("vCPUs, idle: restarted now", DesktopSettings(vcpus: 4), desktop("eng-001", .ready), running, .waitForLogoff,
         "eng-001 w0 restart [vcpus 2 -> 4 (at next restart)] | none: idle; restarted now (out of service while it boots)"),
        ("vCPUs, off: starts with it", DesktopSettings(vcpus: 4), desktop("eng-001", .off, user: "carol"), facts(base, live: nil), .waitForLogoff,
         "eng-001 w0 restart [vcpus 2 -> 4 (at next restart)] | none: it is off; it starts with the new definition"),
        ("vCPUs, in use, forced", DesktopSettings(vcpus: 4), desktop("eng-001", .disconnected, user: "alice"), running,
         LogoffMode.forceAfter(seconds: 600, message: "bye"),
         "eng-001 w0 restart [vcpus 2 -> 4 (at next restart)] | alice: warned on the desktop when its wave starts, logged off 10 min later, then restarted"),
        ("assigned without a user name: treated as idle", DesktopSettings(vcpus: 4), desktop("eng-001", .assigned), running, .waitForLogoff,
         "eng-001 w0 restart [vcpus 2 -> 4 (at next restart)] | none: idle; restarted now (out of service while it boots)"),
        ("memory live and vCPUs at restart: the worst method, changes by name", DesktopSettings(vcpus: 4, memoryMiB: 3072), desktop("eng-001", .ready),
         running, .waitForLogoff,
         "eng-001 w0 restart [memoryMiB 2048 -> 3072 (live); vcpus 2 -> 4 (at next restart)] | none: idle; restarted now (out of service while it boots)"),
        ("no facts read: what its generation gave it, memory at restart", DesktopSettings(memoryMiB: 3072), desktop("eng-001", .ready), nil, .waitForLogoff,
         "eng-001 w0 restart [memoryMiB 2048 -> 3072 (at next restart)] | none: idle; restarted now (out of service while it boots)"),
        ("the definition drifted from its generation: libvirt's facts win", DesktopSettings(vcpus: 4), desktop("eng-001", .ready),
         facts(hardware { $0.vcpus = 4; $0.audio = true }, live: nil), .waitForLogoff,
         "eng-001 w0 restart [audio true -> false (at next restart)] | none: idle; restarted now (out of service while it boots)"),
        ("the definition matches but the running guest waits for a restart", DesktopSettings(vcpus: 4), desktop("eng-001", .ready),
         facts(hardware { $0.vcpus = 4 }, live: base), .waitForLogoff,
         "eng-001 w0 restart [vcpus 2 -> 4 (at next restart)] | none: idle; restarted now (out of service while it boots)"),
        ("a policy that changes nothing: already matches, same generation", DesktopSettings(), desktop("eng-001", .ready), running, .waitForLogoff,
         "eng-001 skip none | its definition already matches"),
        ("the pool's value set explicitly: already matches, the record moves on", DesktopSettings(vcpus: 2), desktop("eng-001", .ready), running,
         .waitForLogoff, "eng-001 skip none | its definition already matches; its record moves to generation 2"),
        ("failed: made with the pool's settings", DesktopSettings(vcpus: 4), desktop("eng-001", .failed), running, .waitForLogoff,
         "eng-001 skip none | failed: it gets the pool's settings when it is made"),
        ("deleting", DesktopSettings(vcpus: 4), desktop("eng-001", .deleting), running, .waitForLogoff,
         "eng-001 skip none | deleting: it gets the pool's settings when it is made"),
        ("being provisioned", DesktopSettings(vcpus: 4), desktop("eng-001", .provisioning), nil, .waitForLogoff,
         "eng-001 skip none | provisioning: it gets the pool's settings when it is made"),
        ("being restarted", DesktopSettings(vcpus: 4), desktop("eng-001", .restarting), running, .waitForLogoff,
         "eng-001 skip none | restarting: it gets the pool's settings when it is made"),
    ] as [(String, DesktopSettings, Desktop, DesktopFacts?, LogoffMode, String)])
    func config(name: String, set: DesktopSettings, desktop: Desktop, facts: DesktopFacts?, logoff: LogoffMode, expected: String) throws {
        #expect(try Self.configPlan(set, desktop: desktop, facts: facts, logoff: logoff) == [expected], "\(name)")
    }

    @Test("a ConfigPolicy's generations: the next one when the pool changes, and records behind it move")
    func configGenerations() throws {
        let spec = ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), sizes: PoolSizes(spare: 2))
        let plan = try Self.plan(.config(spec), desktops: [Self.desktop("eng-001", .ready)], facts: ["eng-001": Self.running])
        #expect(plan.desktops.map(Self.summary) == ["eng-001 skip none | its definition already matches; its record moves to generation 2"])
        #expect(plan.desktops.map(\.to) == ["generation 2"])
        #expect(plan.pools == [PolicyPlan.PoolChange(pool: "eng", changes: ["sizes min 0 max 10 spare 1 -> min 0 max 10 spare 2 (at once)"])])
        #expect(plan.waves == 0)

        let explicit = try Self.plan(.config(ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), desktop: DesktopSettings(vcpus: 2))),
                                     desktops: [Self.desktop("eng-001", .ready)], facts: ["eng-001": Self.running])
        #expect(explicit.pools == [PolicyPlan.PoolChange(pool: "eng", changes: ["desktop settings (new and refreshed desktops get them; existing ones below)"])])
        #expect(explicit.desktops.map(\.to) == ["generation 2"])

        let nothing = try Self.plan(.config(ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]))),
                                    desktops: [Self.desktop("eng-001", .ready)], facts: ["eng-001": Self.running])
        #expect(nothing.pools == [PolicyPlan.PoolChange(pool: "eng", changes: ["nothing (already as the policy says)"])])
        #expect(nothing.desktops.map(\.to) == ["generation 1"])
    }

    @Test("a ConfigPolicy plans schedules and saved spares: the plan names the change, the pool gets it, a schedule that breaks the pool is refused")
    func configSchedule() throws {
        let entry = ScheduleEntry(days: [.mon, .tue], from: 7 * 60 + 30, to: 18 * 60, timezone: "Europe/Berlin", spare: 4)
        let spec = ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), sizes: PoolSizes(saved: 2), schedule: [entry])
        let plan = try Self.plan(.config(spec), desktops: [Self.desktop("eng-001", .ready)], facts: ["eng-001": Self.running])
        #expect(plan.pools == [PolicyPlan.PoolChange(pool: "eng", changes: [
            "sizes min 0 max 10 spare 1 -> min 0 max 10 spare 1 saved 2 (at once)",
            "schedule none -> mon,tue 07:30-18:00 Europe/Berlin (at the next reconcile pass; desktops in use stay)",
        ])])
        let applied = try spec.applied(to: Self.pool())
        #expect(applied.schedule == [entry] && applied.savedSpare == 2)
        // An empty list removes the schedule.
        #expect(try ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), schedule: []).applied(to: applied).schedule.isEmpty)
        // An entry whose spare exceeds the pool's max is refused with the pool named.
        let tooMany = ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), schedule: [ScheduleEntry(days: [.mon], from: 0, to: 60, spare: 40)])
        let refused = #expect(throws: DeskpoolError.self) { try Self.plan(.config(tooMany), desktops: []) }
        #expect(refused?.field == "spec.set" && refused?.message.contains("schedule[0]") == true, "\(refused?.message ?? "")")
        // The policy file form.
        let policy = try PolicyFile.decode(yaml: """
            apiVersion: deskpool/v1
            kind: ConfigPolicy
            metadata: {name: office-hours}
            spec:
              selector: {pools: [eng]}
              set:
                sizes: {saved: 2}
                schedule:
                  - {days: [mon, tue], from: "07:30", to: "18:00", timezone: Europe/Berlin, spare: 4}
            """)
        guard case .config(let parsed) = policy.spec else {
            Issue.record("expected a ConfigPolicy")
            return
        }
        #expect(parsed.schedule == [entry] && parsed.sizes == PoolSizes(saved: 2))
    }

    @Test("a ConfigPolicy whose pool's template is gone, or that breaks the pool, is refused")
    func configRefused() {
        let missing = #expect(throws: DeskpoolError.self) {
            try PolicyPlanner.plan(PolicyPlanner.Input(
                policy: Policy(name: "p", spec: .config(ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), desktop: DesktopSettings(vcpus: 4)))),
                pools: [Self.pool()], versions: [:], templates: [:], desktops: [], now: Self.now))
        }
        #expect(missing?.message == "pool eng: template tiny does not exist" && missing?.field == "spec.selector")
        let broken = #expect(throws: DeskpoolError.self) {
            try Self.plan(.config(ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), sizes: PoolSizes(min: 50))), desktops: [])
        }
        #expect(broken?.field == "spec.set" && broken?.message.hasPrefix("pool eng: ") == true, "\(broken?.message ?? "")")
    }

    @Test("a ConfigPolicy's order: idle desktops lead, in use after, skipped last; restarts and live changes share the waves")
    func configOrder() throws {
        let spec = ConfigPolicySpec(selector: PoolSelector(pools: ["eng"]), desktop: DesktopSettings(vcpus: 4),
                                    strategy: RolloutStrategy(canary: .count(1), waveSize: .count(1)))
        let desktops = [Self.desktop("eng-003", .connected, user: "alice"), Self.desktop("eng-002", .ready), Self.desktop("eng-001", .failed),
                        Self.desktop("eng-004", .off, user: "bob")]
        let plan = try Self.plan(.config(spec), desktops: desktops)
        #expect(plan.desktops.map { "\($0.desktop) \($0.wave.map(String.init) ?? "-")" } == ["eng-002 0", "eng-004 1", "eng-003 2", "eng-001 -"])
        #expect(plan.waves == 3 && plan.kind == .config)
    }

    // MARK: - GuestCommandPolicy and CheckPolicy

    static let command = GuestCommandPolicySpec(selector: PoolSelector(pools: ["eng"]), command: GuestCommand(path: "/usr/bin/true"))

    @Test("guest commands and checks per desktop state", arguments: [
        (.ready, nil, "eng-001 w0 command [command run through the guest agent] | none",
         "eng-001 w0 check [checked] | none: read only"),
        (.connected, "alice", "eng-001 w0 command [command run through the guest agent] | alice: the command runs while they work",
         "eng-001 w0 check [checked] | none: read only"),
        (.assigned, nil, "eng-001 w0 command [command run through the guest agent] | its user: the command runs while they work",
         "eng-001 w0 check [checked] | none: read only"),
        (.off, "carol", "eng-001 skip none | off: its guest is not running", "eng-001 w0 check [checked] | none: read only"),
        (.failed, nil, "eng-001 skip none | failed: its guest is not running", "eng-001 w0 check [checked] | none: read only"),
        (.starting, nil, "eng-001 skip none | starting: its guest is not running", "eng-001 skip none | starting: its guest is not running"),
        (.restarting, nil, "eng-001 skip none | restarting: its guest is not running", "eng-001 skip none | restarting: its guest is not running"),
        (.deleting, nil, "eng-001 skip none | deleting: its guest is not running", "eng-001 skip none | deleting: its guest is not running"),
    ] as [(DesktopState, String?, String, String)])
    func guest(state: DesktopState, user: String?, command: String, check: String) throws {
        let desktop = Self.desktop("eng-001", state, user: user)
        let commands = try Self.plan(.guestCommand(Self.command), desktops: [desktop])
        #expect(commands.desktops.map(Self.summary) == [command])
        #expect(commands.waves == (commands.included.isEmpty ? 0 : 1) && commands.kind == .guestCommand)
        let checks = try Self.plan(.check(CheckPolicySpec(selector: PoolSelector(pools: ["eng"]), checks: [Check(name: "tls", rule: .tlsRequired)])),
                                   desktops: [desktop])
        #expect(checks.desktops.map(Self.summary) == [check])
        #expect(checks.desktops.first?.from == "v1" && checks.desktops.first?.to == "v1", "a check changes no version")
    }

    @Test("includeInUse: false leaves desktops in a session alone; checks always include them")
    func includeInUse() throws {
        var spec = Self.command
        spec.includeInUse = false
        let desktops = [Self.desktop("eng-003", .disconnected, user: "alice"), Self.desktop("eng-002", .ready), Self.desktop("eng-001", .assigned),
                        Self.desktop("ops-001", .ready, pool: "ops")]
        let plan = try Self.plan(.guestCommand(spec), pools: [Self.pool(), Self.pool("ops")], desktops: desktops)
        #expect(plan.desktops.map(Self.summary) == [
            "eng-002 w0 command [command run through the guest agent] | none",
            "eng-003 skip none | in use by alice (includeInUse: false)",
            "eng-001 skip none | in use by a user (includeInUse: false)",
        ])
        #expect(plan.pools == [PolicyPlan.PoolChange(pool: "eng", changes: [])])
        let none = try Self.plan(.guestCommand(spec), desktops: [Self.desktop("eng-001", .connected, user: "alice")])
        #expect(none.waves == 0 && none.included.isEmpty)
    }
}
