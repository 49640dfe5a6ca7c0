import DeskpoolCore
import Foundation
import Testing

@Suite("HostRecovery: adopt, mark, and remove orphans after a grace period")
struct HostRecoveryTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func record(_ name: String, _ state: DesktopState, id: String? = nil) -> Desktop {
        Desktop(id: id ?? "id-\(name)", name: name, pool: "eng", host: "a", template: "tiny", version: 1, state: state, createdAt: now)
    }

    static func domain(_ name: String, pool: String = "eng", id: String? = nil, run: ObservedDomain.RunState = .running) -> ObservedDomain {
        ObservedDomain(name: name, identity: DesktopIdentity(id: id ?? "id-\(name)", name: name, pool: pool, template: "tiny", version: 1, incarnation: 1, generation: 1), run: run)
    }

    static func plan(records: [Desktop] = [], observed: [ObservedDomain] = [], volumes: [String] = [], busy: Set<String> = [],
                     since: [String: Date] = [:], grace: TimeInterval = 60) -> HostRecovery.Plan {
        HostRecovery.plan(HostRecovery.Input(host: "a", records: records, observed: observed, volumes: volumes, knownPools: ["eng"],
                                             busy: busy, orphansSince: since, grace: grace, now: now))
    }

    @Test("a Deskpool domain of a known pool without a record is adopted")
    func adopt() {
        let plan = Self.plan(observed: [Self.domain("eng-001")])
        #expect(plan.actions == [.adopt(Self.domain("eng-001").identity!)])
    }

    @Test("domains without Deskpool metadata are never touched")
    func foreign() {
        let plan = Self.plan(observed: [ObservedDomain(name: "mail-server", identity: nil, run: .running)], grace: 0)
        #expect(plan.actions.isEmpty)
        #expect(plan.orphansSince.isEmpty)
    }

    @Test("domains of another broker instance are never touched, and their volumes count as owned")
    func otherInstance() {
        var other = Self.domain("theirs-001", pool: "gone")
        other.instance = "lab-broker"
        let plan = Self.plan(observed: [other], volumes: ["dp-theirs-001-1.qcow2"], grace: 0)
        #expect(plan.actions.isEmpty)
        var mine = Self.domain("old-001", pool: "gone")
        mine.instance = BrokerConfiguration.defaultInstance
        #expect(Self.plan(observed: [mine], grace: 0).actions == [.removeDomain(name: "old-001", volume: "dp-old-001-1.qcow2")])
    }

    @Test("an orphan of an unknown pool waits out the grace period, then goes")
    func orphanDomain() {
        let orphan = Self.domain("old-001", pool: "gone")
        let first = Self.plan(observed: [orphan])
        #expect(first.actions.isEmpty)
        #expect(first.orphansSince == ["domain:old-001": Self.now])
        let later = Self.plan(observed: [orphan], since: ["domain:old-001": Self.now.addingTimeInterval(-61)])
        #expect(later.actions == [.removeDomain(name: "old-001", volume: "dp-old-001-1.qcow2")])
    }

    @Test("clone volumes nobody owns go after the grace period; owned ones and base volumes stay")
    func orphanVolumes() {
        let volumes = ["dp-eng-001-1.qcow2", "dp-eng-002-1.qcow2", "dp-eng-003-4.qcow2", "dp-base-tiny-v1.qcow2"]
        let plan = Self.plan(records: [Self.record("eng-001", .ready)], observed: [Self.domain("eng-001"), Self.domain("eng-002", id: "x")],
                             volumes: volumes, since: ["volume:dp-eng-003-4.qcow2": Self.now.addingTimeInterval(-100)])
        // eng-002's domain has a record by name? No: it is adopted, and its volume is owned.
        #expect(plan.actions.contains(.removeVolume("dp-eng-003-4.qcow2")))
        #expect(!plan.actions.contains(.removeVolume("dp-eng-001-1.qcow2")))
        #expect(!plan.actions.contains(.removeVolume("dp-eng-002-1.qcow2")))
        #expect(!plan.actions.contains(.removeVolume("dp-base-tiny-v1.qcow2")))
    }

    @Test("records whose domain vanished, stopped or broke are marked failed; busy and transitional ones are not")
    func marks() {
        let records = [Self.record("eng-001", .ready), Self.record("eng-002", .assigned), Self.record("eng-003", .ready),
                       Self.record("eng-004", .provisioning), Self.record("eng-005", .ready)]
        let observed = [Self.domain("eng-002", run: .broken("paused: internal error")), Self.domain("eng-003", run: .stopped)]
        let plan = Self.plan(records: records, observed: observed, busy: ["id-eng-005"])
        #expect(plan.actions == [
            .markFailed(records[0], reason: "domain vanished"),
            .markFailed(records[1], reason: "paused: internal error"),
            .markFailed(records[2], reason: "domain stopped unexpectedly"),
        ])
    }

    @Test("volumes of busy desktops (being created) are owned")
    func busyVolumes() {
        let plan = Self.plan(records: [Self.record("eng-001", .provisioning)], volumes: ["dp-eng-001-1.qcow2"], busy: ["id-eng-001"], grace: 0)
        #expect(plan.actions.isEmpty)
    }
}
